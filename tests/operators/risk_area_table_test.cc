#include "operators/risk_area_table.h"

#include <gtest/gtest.h>

#include "engine/mem_kv_store.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

class RiskAreaTableTest : public ::testing::Test {
 protected:
  bool Apply(const std::string& id, const std::string& region, RiskLevel level, TimestampMs ts) {
    Event e;
    e.type = EventType::kRiskArea;
    e.event_id = id;
    e.region = region;
    e.level = level;
    e.ts = ts;
    return table_.Apply(e);
  }
  std::vector<std::string> Areas(const std::string& code, TimestampMs t) {
    std::vector<Coverage> covs;
    table_.Covering(code, t, 14 * kDayMs, &covs);
    std::vector<std::string> out;
    for (const Coverage& c : covs) out.push_back(c.interval.area + ":" + std::string(RiskLevelName(c.level)));
    return out;
  }
  using V = std::vector<std::string>;
  MemKvStore store_;
  RiskAreaTable table_{&store_};
};

TEST_F(RiskAreaTableTest, ListedCodeCoversItsPrefixedCodes) {
  Apply("r1", "42", RiskLevel::kMedium, 100 * kDayMs);
  Apply("r2", "420106", RiskLevel::kHigh, 100 * kDayMs);
  EXPECT_EQ(Areas("420106001", 100 * kDayMs), V({"42:medium", "420106:high"}));
  EXPECT_EQ(Areas("43", 100 * kDayMs), V{});
  EXPECT_EQ(Areas("4", 100 * kDayMs), V{});
}

TEST_F(RiskAreaTableTest, IntervalBoundsAndLevelInForce) {
  Apply("r1", "420106", RiskLevel::kMedium, 100 * kDayMs);
  Apply("r2", "420106", RiskLevel::kHigh, 103 * kDayMs);
  Apply("r3", "420106", RiskLevel::kLow, 110 * kDayMs);
  EXPECT_EQ(Areas("420106", 86 * kDayMs), V({"420106:medium"}));  // L - 14 d
  EXPECT_EQ(Areas("420106", 86 * kDayMs - 1), V{});
  EXPECT_EQ(Areas("420106", 104 * kDayMs), V({"420106:high"}));
  EXPECT_EQ(Areas("420106", 110 * kDayMs), V({"420106:high"}));  // t == D
  EXPECT_EQ(Areas("420106", 110 * kDayMs + 1), V{});
}

TEST_F(RiskAreaTableTest, OutOfOrderRecordsAndDuplicates) {
  EXPECT_TRUE(Apply("r3", "420106", RiskLevel::kLow, 110 * kDayMs));
  EXPECT_TRUE(Apply("r1", "420106", RiskLevel::kHigh, 100 * kDayMs));
  EXPECT_FALSE(Apply("r1", "420106", RiskLevel::kHigh, 100 * kDayMs));
  EXPECT_EQ(Areas("420106", 105 * kDayMs), V({"420106:high"}));
  EXPECT_EQ(Areas("420106", 111 * kDayMs), V{});
}

TEST_F(RiskAreaTableTest, RelistingOpensANewInterval) {
  Apply("r1", "US", RiskLevel::kHigh, 100 * kDayMs);
  Apply("r2", "US", RiskLevel::kLow, 101 * kDayMs);
  Apply("r3", "US", RiskLevel::kMedium, 130 * kDayMs);
  EXPECT_EQ(Areas("US", 110 * kDayMs), V{});
  EXPECT_EQ(Areas("US", 120 * kDayMs), V({"US:medium"}));
  ListingInterval iv;
  ASSERT_TRUE(table_.IntervalAt("US", 130 * kDayMs, &iv));
  EXPECT_EQ(iv.listing_event_id, "r3");
}

TEST_F(RiskAreaTableTest, PersistsThroughTheStore) {
  Apply("r1", "420106", RiskLevel::kHigh, 100 * kDayMs);
  ASSERT_OK(store_.Commit());
  RiskAreaTable reloaded(&store_);
  ASSERT_OK(reloaded.Load());
  std::vector<Coverage> covs;
  reloaded.Covering("420106", 100 * kDayMs, 14 * kDayMs, &covs);
  EXPECT_EQ(covs.size(), 1u);
}

TEST_F(RiskAreaTableTest, RegionCodes) {
  EXPECT_TRUE(IsRegionCode("42"));
  EXPECT_TRUE(IsRegionCode("420106001002"));
  EXPECT_TRUE(IsRegionCode("US"));
  EXPECT_FALSE(IsRegionCode("4"));
  EXPECT_FALSE(IsRegionCode("4201060010021"));
  EXPECT_FALSE(IsRegionCode("us"));
  EXPECT_FALSE(IsRegionCode("USA"));
  EXPECT_FALSE(IsRegionCode("42a1"));
}

}  // namespace
}  // namespace epistream
