// RiskSchedule: the country's medium/high risk-area listings over the
// simulated period, planned up front.
//
// Listings appear at random (a Bernoulli draw per domestic origin district and
// day, uniform over the country: outbreaks happen anywhere), mostly at
// district level, some at street level (district + 3 digits, which matches
// only travel cards naming that street) and a few city-wide (4 digits, high).
// Each listing is de-listed after 5-20 days unless the period ends first;
// an area (or a code prefixing or prefixed by it) is listed again only when
// no entry can be covered by both episodes.
// Listings whose episode overlaps the period but started before it are
// written at their real effective time, before the first event of the city.
// Knowing the whole schedule in advance lets the generator decide at arrival
// time whether a later (retroactive) listing will cover an entry, and record
// that in the ground truth.
//
// Immutable after construction; thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench/city/city_config.h"
#include "engine/event_time.h"
#include "operators/event.h"

namespace epistream {

inline constexpr TimestampMs kNeverMs = INT64_MAX / 4;

struct RiskListing {
  std::string region;  // listed code; matches codes it prefixes
  RiskLevel level = RiskLevel::kMedium;  // medium or high
  TimestampMs listed_at = 0;
  TimestampMs delisted_at = kNeverMs;  // kNeverMs: still listed at the end
};

// One `risk_area` line of the stream.
struct RiskRecord {
  TimestampMs ts;
  uint32_t listing;
  bool delisting;
};

class RiskSchedule {
 public:
  // Plans listings effective in [start - 21 d, end) that are still listed at
  // `start` or later.
  RiskSchedule(const CityConfig& config, TimestampMs start, TimestampMs end);

  const std::vector<RiskListing>& listings() const { return listings_; }
  // Every listing and de-listing line, sorted by ts.
  const std::vector<RiskRecord>& records() const { return records_; }

  // Appends to *out the listings that cover an entry at `t` from `origin` or a
  // trip region: a listed code prefixing one of them, L - lookback <= t <= D.
  void Match(std::string_view origin, std::span<const std::string> trip_regions,
             TimestampMs t, std::vector<uint32_t>* out) const;
  // A listing matching the regions that was de-listed before t, or -1.
  int64_t MatchDelisted(std::string_view origin,
                        std::span<const std::string> trip_regions,
                        TimestampMs t) const;

  static std::string ListingEventId(uint32_t listing);
  static std::string DelistingEventId(uint32_t listing);

  static constexpr DurationMs kLookback = 14 * kDayMs;

 private:
  std::vector<RiskListing> listings_;
  std::vector<RiskRecord> records_;
};

// True if `prefix` is a prefix of `code` (the contract's listing match).
inline bool RegionPrefixOf(std::string_view prefix, std::string_view code) {
  return code.size() >= prefix.size() &&
         code.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace epistream
