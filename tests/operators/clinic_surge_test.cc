// EARS C2 (clinic_surge) against numbers worked out by hand, and the
// ClinicState bookkeeping behind it.
#include "operators/cluster/clinic_surge.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr int64_t kDay0 = 19250;  // 2022-09-15

// prefix + a + "_" + b (appends: GCC 12 warns falsely on operator+ chains).
std::string Id(const char* prefix, size_t a, size_t b) {
  std::string s(prefix);
  s.append(std::to_string(a));
  s.push_back('_');
  s.append(std::to_string(b));
  return s;
}

class ClinicSurgeTest : public ::testing::Test {
 protected:
  // counts[i] visits on day kDay0 + i.
  void Fill(const std::vector<uint32_t>& counts) {
    for (size_t i = 0; i < counts.size(); ++i) {
      for (uint32_t v = 0; v < counts[i]; ++v) {
        clinic_.AddVisit(kDay0 + static_cast<int64_t>(i),
                         ClinicVisit{Id("p", i, v), Id("f", i, v),
                                     static_cast<TimestampMs>(i) * kDayMs + v});
      }
    }
  }
  ClinicState clinic_;
  RulesConfig rules_;
};

TEST_F(ClinicSurgeTest, ThresholdFromBaselineWithGuardBand) {
  // days 0..8 history, day 9 tested. Baseline = days 0..6 (d-9..d-3):
  // 2 3 1 2 4 2 0 -> mean 14/7 = 2; squared deviations 0 1 1 0 4 0 4 = 10,
  // sample sd = sqrt(10/6) = 1.2910; threshold = 2 + 3 * 1.2910 = 5.8730.
  // Days 7 and 8 (the guard band, 9 and 9 visits) are not in the baseline.
  Fill({2, 3, 1, 2, 4, 2, 0, 9, 9, 6});
  EarsC2Result r = EvaluateEarsC2(clinic_, kDay0 + 9, rules_);
  EXPECT_EQ(r.visits, 6u);
  EXPECT_DOUBLE_EQ(r.mean, 2.0);
  EXPECT_NEAR(r.sd, 1.2909944487358056, 1e-12);
  EXPECT_NEAR(r.threshold, 5.8729833462074170, 1e-12);
  EXPECT_EQ(r.history_days, 9);
  EXPECT_TRUE(r.fires);  // 6 > 5.873, >= 5 visits, 9 days of history
}

TEST_F(ClinicSurgeTest, StrictlyAboveTheThreshold) {
  // Constant baseline 5: sd 0 -> floor 0.5, threshold 5 + 1.5 = 6.5; 7 fires.
  Fill({5, 5, 5, 5, 5, 5, 5, 0, 0, 7});
  EarsC2Result r = EvaluateEarsC2(clinic_, kDay0 + 9, rules_);
  EXPECT_DOUBLE_EQ(r.threshold, 6.5);
  EXPECT_TRUE(r.fires);
  // Baseline 4 4 4 4 4 4 4 and 5 visits: threshold 5.5, 5 is not above.
  ClinicState other;
  for (int d = 0; d < 7; ++d)
    for (int v = 0; v < 4; ++v)
      other.AddVisit(kDay0 + d, ClinicVisit{"p", "e", 0});
  for (int v = 0; v < 5; ++v)
    other.AddVisit(kDay0 + 9, ClinicVisit{"p", "e", 0});
  r = EvaluateEarsC2(other, kDay0 + 9, rules_);
  EXPECT_DOUBLE_EQ(r.threshold, 5.5);
  EXPECT_FALSE(r.fires);
}

TEST_F(ClinicSurgeTest, NeedsFiveVisits) {
  // Constant baseline 2: threshold 3.5; 4 visits are above it but fewer than 5.
  Fill({2, 2, 2, 2, 2, 2, 2, 0, 0, 4});
  EarsC2Result r = EvaluateEarsC2(clinic_, kDay0 + 9, rules_);
  EXPECT_DOUBLE_EQ(r.threshold, 3.5);
  EXPECT_FALSE(r.fires) << "4 > 3.5 but fewer than 5 visits";
}

TEST_F(ClinicSurgeTest, NeedsNineDaysOfHistory) {
  // First visit on day 1: day 9 has 8 days of history before it.
  Fill({0, 1, 0, 1, 0, 1, 0, 0, 0, 8});
  EarsC2Result r = EvaluateEarsC2(clinic_, kDay0 + 9, rules_);
  EXPECT_EQ(r.history_days, 8);
  EXPECT_FALSE(r.fires);
  // Day 10 with the same count has 9 days: baseline days 1..7 = 1 0 1 0 1 0 0,
  // mean 3/7, sd = sqrt((3*(16/49) + 4*(9/49))/6) = sqrt(84/294) = 0.5345.
  for (int v = 0; v < 8; ++v)
    clinic_.AddVisit(kDay0 + 10, ClinicVisit{"p", "e", 0});
  r = EvaluateEarsC2(clinic_, kDay0 + 10, rules_);
  EXPECT_NEAR(r.mean, 3.0 / 7.0, 1e-12);
  EXPECT_NEAR(r.sd, 0.53452248382484879, 1e-12);
  EXPECT_NEAR(r.threshold, 3.0 / 7.0 + 3 * 0.53452248382484879, 1e-12);
  EXPECT_TRUE(r.fires);
}

TEST_F(ClinicSurgeTest, ConfigurableBaselineAndGuard) {
  rules_.surge_baseline_days = 3;
  rules_.surge_guard_days = 0;
  rules_.surge_min_history_days = 3;
  rules_.surge_min_visits = 1;
  // Day 3 tested against days 0..2 = 1 2 3: mean 2, sd 1, threshold 5.
  Fill({1, 2, 3, 6});
  EarsC2Result r = EvaluateEarsC2(clinic_, kDay0 + 3, rules_);
  EXPECT_DOUBLE_EQ(r.mean, 2.0);
  EXPECT_DOUBLE_EQ(r.sd, 1.0);
  EXPECT_DOUBLE_EQ(r.threshold, 5.0);
  EXPECT_TRUE(r.fires);
}

TEST_F(ClinicSurgeTest, StateKeepsFirstVisitsAndRoundTrips) {
  for (int v = 0; v < 150; ++v) {
    clinic_.AddVisit(kDay0, ClinicVisit{Id("p", 0, static_cast<size_t>(v)),
                                        Id("e", 0, static_cast<size_t>(v)),
                                        1000 - v});  // arriving latest first
  }
  const ClinicDay* d = clinic_.Day(kDay0);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->visits, 150u);
  ASSERT_EQ(d->first_visits.size(), ClinicState::kMaxKeptVisits);
  EXPECT_EQ(d->first_visits.front().ts, 1000 - 149);  // the earliest kept
  EXPECT_EQ(d->first_visits.back().ts, 1000 - 50);
  clinic_.AddVisit(kDay0 + 3, ClinicVisit{"q", "x", 5});
  std::string bytes;
  clinic_.Encode(&bytes);
  ClinicState back;
  ASSERT_OK(back.Decode(bytes));
  EXPECT_EQ(back.first_day, kDay0);
  ASSERT_EQ(back.days.size(), 2u);
  EXPECT_EQ(back.VisitsOn(kDay0), 150u);
  EXPECT_EQ(back.VisitsOn(kDay0 + 3), 1u);
  EXPECT_EQ(back.days[0].first_visits.size(), 100u);
  // Pruning keeps first_day (history) while dropping old counts and details.
  back.Prune(kDay0 + 1, kDay0 + 4);
  EXPECT_EQ(back.first_day, kDay0);
  ASSERT_EQ(back.days.size(), 1u);
  EXPECT_TRUE(back.days[0].first_visits.empty());
  bytes.resize(bytes.size() - 1);
  EXPECT_FALSE(back.Decode(bytes).ok());
}

}  // namespace
}  // namespace epistream
