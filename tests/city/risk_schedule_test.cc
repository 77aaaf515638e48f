#include "bench/city/risk_schedule.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace epistream {
namespace {

class RiskScheduleTest : public ::testing::Test {
 protected:
  RiskScheduleTest() : schedule_(Config(), kStart, kStart + 30 * kDayMs) {}
  static CityConfig Config() {
    CityConfig c;
    c.risk_listings_per_day = 2;
    c.seed = 5;
    return c;
  }
  static constexpr TimestampMs kStart =
      1663603200000;  // 2022-09-20T00:00+08:00
  RiskSchedule schedule_;
};

TEST_F(RiskScheduleTest, RecordsAreOrderedAndPaired) {
  const auto& records = schedule_.records();
  ASSERT_GT(schedule_.listings().size(), 20u);
  for (size_t i = 1; i < records.size(); ++i)
    EXPECT_LE(records[i - 1].ts, records[i].ts);
  size_t delistings = 0;
  for (const RiskRecord& r : records) {
    const RiskListing& l = schedule_.listings()[r.listing];
    EXPECT_EQ(r.ts, r.delisting ? l.delisted_at : l.listed_at);
    EXPECT_NE(l.level, RiskLevel::kLow);
    EXPECT_GE(l.delisted_at, kStart)
        << "listings over before the period are dropped";
    delistings += r.delisting;
  }
  EXPECT_GT(delistings, 0u);
  EXPECT_LT(delistings, schedule_.listings().size())
      << "some are still listed at the end";
}

TEST_F(RiskScheduleTest, LiveListingsOfOneAreaNeverOverlap) {
  const auto& ls = schedule_.listings();
  for (size_t i = 0; i < ls.size(); ++i) {
    for (size_t j = i + 1; j < ls.size(); ++j) {
      const bool related = RegionPrefixOf(ls[i].region, ls[j].region) ||
                           RegionPrefixOf(ls[j].region, ls[i].region);
      const bool overlap = ls[i].listed_at < ls[j].delisted_at &&
                           ls[j].listed_at < ls[i].delisted_at;
      EXPECT_FALSE(related && overlap) << ls[i].region << " / " << ls[j].region;
    }
  }
}

TEST_F(RiskScheduleTest, MatchUsesPrefixAndTheFourteenDayLookback) {
  const RiskListing& l = schedule_.listings().front();
  const std::string street = l.region + "001";
  std::vector<uint32_t> out;
  auto matches = [&](std::string_view origin, std::vector<std::string> trips,
                     TimestampMs t) {
    out.clear();
    schedule_.Match(origin, trips, t, &out);
    return std::find(out.begin(), out.end(), 0u) != out.end();
  };
  EXPECT_TRUE(matches(street, {}, l.listed_at))
      << "a listed code covers its streets";
  EXPECT_TRUE(matches("XX", {street}, l.listed_at + kHourMs))
      << "trip regions count";
  EXPECT_TRUE(matches(street, {}, l.listed_at - 14 * kDayMs))
      << "retroactive, 14 days";
  EXPECT_FALSE(matches(street, {}, l.listed_at - 14 * kDayMs - 1));
  if (l.delisted_at != kNeverMs) {
    EXPECT_TRUE(matches(street, {}, l.delisted_at));
    EXPECT_FALSE(matches(street, {}, l.delisted_at + 1));
    EXPECT_EQ(schedule_.MatchDelisted(street, {}, l.delisted_at + 1), 0);
  }
  EXPECT_FALSE(matches(l.region.substr(0, 2), {}, l.listed_at))
      << "a shorter code is not covered";
}

TEST_F(RiskScheduleTest, SameSeedSameSchedule) {
  const RiskSchedule again(Config(), kStart, kStart + 30 * kDayMs);
  ASSERT_EQ(again.listings().size(), schedule_.listings().size());
  for (size_t i = 0; i < again.listings().size(); ++i) {
    EXPECT_EQ(again.listings()[i].region, schedule_.listings()[i].region);
    EXPECT_EQ(again.listings()[i].listed_at, schedule_.listings()[i].listed_at);
  }
}

}  // namespace
}  // namespace epistream
