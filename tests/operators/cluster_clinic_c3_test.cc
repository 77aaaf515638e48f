// EARS C3 (rules.surge_method = kEarsC3), the clinic_surge option beside the
// contract's C2, against numbers worked out by hand.
//
// C2_i = (visits(i) - mean_i) / max(sd_i, 0.5), baseline i-9 .. i-3 (sample
// sd); C3(d) = sum over i = d-2 .. d of max(0, C2_i - 1); fires when
// C3(d) > 2, visits(d) >= 5 and 11 days of history.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operators/cluster/clinic_surge.h"
#include "operators/cluster/cluster_alert.h"

namespace epistream {
namespace {

constexpr int64_t kDay0 = 19250;  // 2022-09-15

class ClusterClinicC3Test : public ::testing::Test {
 protected:
  void SetUp() override { c3_.surge_method = SurgeMethod::kEarsC3; }

  // counts[i] visits on day kDay0 + i.
  void Fill(const std::vector<uint32_t>& counts) {
    for (size_t i = 0; i < counts.size(); ++i) {
      for (uint32_t v = 0; v < counts[i]; ++v) {
        std::string id = "f";
        id.append(std::to_string(i));
        id.push_back('_');
        id.append(std::to_string(v));
        std::string person = "p";
        person.append(id);
        clinic_.AddVisit(
            kDay0 + static_cast<int64_t>(i),
            ClinicVisit{person, id, static_cast<TimestampMs>(i) * kDayMs + v});
      }
    }
  }

  ClinicState clinic_;
  RulesConfig c2_;  // defaults: EARS C2
  RulesConfig c3_;
};

TEST_F(ClusterClinicC3Test, SlowRiseFiresC3ButNotC2) {
  // Days 11, 12, 13 have 4, 5, 5 visits.
  // Day 11: baseline days 2..8 = 1 2 4 2 0 2 3, mean 2, squared deviations
  //   1 0 4 0 4 0 1 = 10, sd = sqrt(10/6) = 1.2909944; C2 = 2/1.2909944 =
  //   1.5491933; term 0.5491933.
  // Day 12: baseline days 3..9 = 2 4 2 0 2 3 2, mean 15/7 = 2.142857,
  //   squared deviations (in 49ths) 1 169 1 225 1 36 1 = 434/49,
  //   sd = sqrt(434/294) = 1.2149858; C2 = (5 - 15/7)/1.2149858 =
  //   2.3515854; term 1.3515854.
  // Day 13: baseline days 4..10 = 4 2 0 2 3 2 2, the same mean and sd, so
  //   the same C2 and term.
  // C3(13) = 0.5491933 + 1.3515854 + 1.3515854 = 3.2523641 > 2: fires.
  // Its visit threshold: the days before leave 2 - 1.9007787 = 0.0992213,
  //   so mean + (1 + 0.0992213) * sd = 2.1428571 + 1.3355382 = 3.4783954.
  // C2 on day 13: 2.142857 + 3 * 1.214986 = 5.787815 > 5: no alert, nor on
  //   day 12 (same threshold) or day 11 (5.872983 > 4).
  Fill({2, 3, 1, 2, 4, 2, 0, 2, 3, 2, 2, 4, 5, 5});
  const EarsC2Result r = EvaluateEarsC3(clinic_, kDay0 + 13, c3_);
  EXPECT_EQ(r.method, SurgeMethod::kEarsC3);
  EXPECT_EQ(r.visits, 5u);
  EXPECT_NEAR(r.mean, 15.0 / 7.0, 1e-12);
  EXPECT_NEAR(r.sd, 1.2149857925879117, 1e-12);
  EXPECT_NEAR(r.statistic, 3.2523641, 1e-6);
  EXPECT_NEAR(r.threshold, 3.4783954, 1e-6);
  EXPECT_EQ(r.history_days, 13);
  EXPECT_TRUE(r.fires);

  for (int64_t d : {11, 12, 13}) {
    EXPECT_FALSE(EvaluateEarsC2(clinic_, kDay0 + d, c2_).fires) << d;
  }
  EXPECT_NEAR(EvaluateEarsC2(clinic_, kDay0 + 13, c2_).threshold, 5.7878145,
              1e-6);
  EXPECT_NEAR(EvaluateEarsC2(clinic_, kDay0 + 13, c2_).statistic, 2.3515854,
              1e-6);
}

TEST_F(ClusterClinicC3Test, StrictlyAboveTheC3Threshold) {
  // Every baseline day has 2 visits: mean 2, sd 0 -> floor 0.5. A day with 3
  // visits has C2 = 2 and adds 1; with 2 it adds 0; with 4, C2 = 4 adds 3.
  c3_.surge_min_visits = 1;
  Fill({2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 3});
  EarsC2Result r = EvaluateEarsC3(clinic_, kDay0 + 13, c3_);
  EXPECT_DOUBLE_EQ(r.statistic, 2.0);  // 1 + 0 + 1: not above 2
  EXPECT_DOUBLE_EQ(r.threshold, 3.0);  // 2 + (1 + (2 - 1)) * 0.5
  EXPECT_FALSE(r.fires);

  ClinicState more = clinic_;
  more.AddVisit(kDay0 + 13, ClinicVisit{"px", "fx", 13 * kDayMs + 99});
  r = EvaluateEarsC3(more, kDay0 + 13, c3_);
  EXPECT_DOUBLE_EQ(r.statistic, 4.0);  // 1 + 0 + 3
  EXPECT_TRUE(r.fires);
}

TEST_F(ClusterClinicC3Test, DaysBeforeAlreadyAboveGiveThresholdZero) {
  // Days 11 and 12 with 4 visits each add 3 each (C2 = 4): 6 > 2 before day
  // 13 is counted, so any count on day 13 exceeds (threshold 0) and only the
  // minimum visits decide.
  Fill({2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 4, 2});
  EarsC2Result r = EvaluateEarsC3(clinic_, kDay0 + 13, c3_);
  EXPECT_DOUBLE_EQ(r.statistic, 6.0);
  EXPECT_DOUBLE_EQ(r.threshold, 0.0);
  EXPECT_FALSE(r.fires) << "2 visits < surge_min_visits 5";
  c3_.surge_min_visits = 2;
  EXPECT_TRUE(EvaluateEarsC3(clinic_, kDay0 + 13, c3_).fires);
}

TEST_F(ClusterClinicC3Test, NeedsTwoMoreDaysOfHistoryThanC2) {
  // From day 0 on, 1 visit a day; day d = 9, 10, 11 gets 9 visits in turn.
  // C2 needs 9 days of history, C3 11 (the baseline of d-2 complete).
  for (int64_t d : {9, 10, 11}) {
    ClinicState c;
    for (int64_t i = 0; i <= d; ++i) {
      for (int v = 0; v < (i == d ? 9 : 1); ++v) {
        std::string id = "f";
        id.append(std::to_string(v));
        c.AddVisit(kDay0 + i, ClinicVisit{"p", id, i * kDayMs + v});
      }
    }
    EXPECT_TRUE(EvaluateEarsC2(c, kDay0 + d, c2_).fires) << d;
    EXPECT_EQ(EvaluateEarsC3(c, kDay0 + d, c3_).fires, d >= 11) << d;
    // C2 = (9 - 1) / 0.5 = 16 adds 15 whatever the history.
    EXPECT_DOUBLE_EQ(EvaluateEarsC3(c, kDay0 + d, c3_).statistic, 15.0) << d;
  }
}

TEST_F(ClusterClinicC3Test, MethodSelectsTheTest) {
  Fill({2, 3, 1, 2, 4, 2, 0, 2, 3, 2, 2, 4, 5, 5});
  const EarsC2Result c2 = EvaluateClinicSurge(clinic_, kDay0 + 13, c2_);
  EXPECT_EQ(c2.method, SurgeMethod::kEarsC2);
  EXPECT_FALSE(c2.fires);
  EXPECT_DOUBLE_EQ(c2.threshold,
                   EvaluateEarsC2(clinic_, kDay0 + 13, c2_).threshold);
  const EarsC2Result c3 = EvaluateClinicSurge(clinic_, kDay0 + 13, c3_);
  EXPECT_EQ(c3.method, SurgeMethod::kEarsC3);
  EXPECT_TRUE(c3.fires);
  EXPECT_EQ(RulesConfig().surge_method, SurgeMethod::kEarsC2)
      << "the contract's C2 stays the default";

  // The alert names the test that fired.
  const Alert a = ClinicSurgeAlert("fc-1", *clinic_.Day(kDay0 + 13), c3,
                                   (13 + 1) * kDayMs - 1, 480);
  EXPECT_NE(a.explanation.find("EARS C3 threshold 3.48"), std::string::npos)
      << a.explanation;
  EXPECT_NE(a.cluster_json.find("\"threshold\":3.478"), std::string::npos)
      << a.cluster_json;
}

TEST_F(ClusterClinicC3Test, CustomOffsetAndThreshold) {
  // Offset 0 and threshold 5 on the slow rise: terms are the C2 values
  // 1.5491933 + 2.3515854 + 2.3515854 = 6.2523641 > 5.
  Fill({2, 3, 1, 2, 4, 2, 0, 2, 3, 2, 2, 4, 5, 5});
  c3_.surge_c3_day_offset = 0.0;
  c3_.surge_c3_threshold = 5.0;
  EarsC2Result r = EvaluateEarsC3(clinic_, kDay0 + 13, c3_);
  EXPECT_NEAR(r.statistic, 6.2523641, 1e-6);
  EXPECT_TRUE(r.fires);
  c3_.surge_c3_threshold = 6.3;
  EXPECT_FALSE(EvaluateEarsC3(clinic_, kDay0 + 13, c3_).fires);
}

}  // namespace
}  // namespace epistream
