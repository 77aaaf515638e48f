// RegionCatalog: where the city's arrivals come from and where the city is.
//
// Real administrative division codes (GB/T 2260): the city's own districts
// (a Hangzhou-like city, prefix 3301), about seventy origin districts across
// China weighted by travel volume to it (the same province and the Yangtze
// delta first), the ports of entry where inbound travellers do centralised
// quarantine, and ISO 3166 alpha-2 countries of inbound travel. Static data.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace epistream {

struct WeightedRegion {
  std::string_view code;  // 6-digit district code, or ISO country for inbound
  double weight;          // relative travel volume
};

class RegionCatalog {
 public:
  // The city's districts; weight = share of its population.
  static std::span<const WeightedRegion> HomeDistricts();
  // Domestic origins of arrivals (never the city's own prefix).
  static std::span<const WeightedRegion> DomesticOrigins();
  // Ports of entry (districts) where inbound travellers are quarantined first.
  static std::span<const WeightedRegion> EntryPorts();
  // Countries of inbound travel.
  static std::span<const WeightedRegion> Countries();
};

}  // namespace epistream
