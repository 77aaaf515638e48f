#include "bench/city/risk_schedule.h"

#include <algorithm>
#include <cstdio>

#include "bench/city/city_random.h"
#include "bench/city/region_catalog.h"

namespace epistream {
namespace {

constexpr int kLeadDays = 21;

bool Related(std::string_view a, std::string_view b) {
  return RegionPrefixOf(a, b) || RegionPrefixOf(b, a);
}

}  // namespace

RiskSchedule::RiskSchedule(const CityConfig& config, TimestampMs start,
                           TimestampMs end) {
  const auto origins = RegionCatalog::DomesticOrigins();
  const double per_region =
      config.risk_listings_per_day / static_cast<double>(origins.size());
  const int days = static_cast<int>((end - start + kDayMs - 1) / kDayMs);
  std::vector<RiskListing> all;
  for (int day = -kLeadDays; day < days; ++day) {
    const TimestampMs day_start = start + day * kDayMs;
    for (size_t r = 0; r < origins.size(); ++r) {
      CityRng rng(HashKey(config.seed, P(Purpose::kRiskSchedule),
                          static_cast<uint64_t>(day + 1000), r));
      if (!rng.Chance(per_region)) continue;
      RiskListing l;
      l.level = rng.Chance(config.risk_high_share) ? RiskLevel::kHigh
                                                   : RiskLevel::kMedium;
      const double scope = rng.Uniform();
      const std::string_view district = origins[r].code;
      if (scope < 0.15) {  // a street (jiedao) of the district
        char street[8];
        std::snprintf(street, sizeof(street), "%03d",
                      static_cast<int>(rng.Range(1, 16)));
        l.region = std::string(district) + street;
      } else if (scope < 0.22) {  // the whole city
        l.region = std::string(district.substr(0, 4));
        l.level = RiskLevel::kHigh;
      } else {
        l.region = std::string(district);
      }
      // Announced during the day, effective at once.
      l.listed_at = day_start + rng.Range(7 * kHourMs, 23 * kHourMs);
      const int span_days = l.level == RiskLevel::kHigh
                                ? static_cast<int>(rng.Range(7, 21))
                                : static_cast<int>(rng.Range(5, 15));
      l.delisted_at = l.listed_at + span_days * kDayMs +
                      rng.Range(-6 * kHourMs, 6 * kHourMs);
      // One listing per area at a time, and a re-listing only once no entry
      // can be covered by both (its 14-day lookback clears the previous
      // de-listing): the contract alerts once per person and area, so two
      // episodes covering one entry would make the truth ambiguous.
      bool overlaps = false;
      for (const RiskListing& o : all) {
        if (l.listed_at - kLookback <= o.delisted_at + kDayMs &&
            o.listed_at - kLookback <= l.delisted_at + kDayMs &&
            Related(o.region, l.region)) {
          overlaps = true;
          break;
        }
      }
      if (overlaps) continue;
      all.push_back(std::move(l));
    }
  }
  for (RiskListing& l : all) {
    if (l.delisted_at < start) continue;  // over before the period: never seen
    if (l.delisted_at >= end) l.delisted_at = kNeverMs;
    listings_.push_back(std::move(l));
  }
  for (uint32_t i = 0; i < listings_.size(); ++i) {
    records_.push_back({listings_[i].listed_at, i, false});
    if (listings_[i].delisted_at != kNeverMs)
      records_.push_back({listings_[i].delisted_at, i, true});
  }
  std::sort(records_.begin(), records_.end(),
            [](const RiskRecord& a, const RiskRecord& b) {
              if (a.ts != b.ts) return a.ts < b.ts;
              if (a.listing != b.listing) return a.listing < b.listing;
              return a.delisting < b.delisting;
            });
}

void RiskSchedule::Match(std::string_view origin,
                         std::span<const std::string> trip_regions,
                         TimestampMs t, std::vector<uint32_t>* out) const {
  for (uint32_t i = 0; i < listings_.size(); ++i) {
    const RiskListing& l = listings_[i];
    if (t < l.listed_at - kLookback || t > l.delisted_at) continue;
    bool hit = RegionPrefixOf(l.region, origin);
    for (size_t k = 0; !hit && k < trip_regions.size(); ++k) {
      hit = RegionPrefixOf(l.region, trip_regions[k]);
    }
    if (hit) out->push_back(i);
  }
}

int64_t RiskSchedule::MatchDelisted(std::string_view origin,
                                    std::span<const std::string> trip_regions,
                                    TimestampMs t) const {
  for (uint32_t i = 0; i < listings_.size(); ++i) {
    const RiskListing& l = listings_[i];
    if (l.delisted_at == kNeverMs || t <= l.delisted_at) continue;
    bool hit = RegionPrefixOf(l.region, origin);
    for (size_t k = 0; !hit && k < trip_regions.size(); ++k) {
      hit = RegionPrefixOf(l.region, trip_regions[k]);
    }
    if (hit) return i;
  }
  return -1;
}

std::string RiskSchedule::ListingEventId(uint32_t listing) {
  std::string id = "risk";
  id += std::to_string(listing);
  id += "-list";
  return id;
}

std::string RiskSchedule::DelistingEventId(uint32_t listing) {
  std::string id = "risk";
  id += std::to_string(listing);
  id += "-delist";
  return id;
}

}  // namespace epistream
