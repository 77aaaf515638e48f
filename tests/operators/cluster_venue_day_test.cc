// rules.cluster_method = venue_day (operators/cluster/README.md): the
// venue-day test through the person stage and the cluster stage, wired as
// CityPipeline wires them, beside the contract's test on the same cities.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "operators/cluster/venue_day_window.h"
#include "tests/testing/cluster_city_test.h"

namespace epistream {
namespace {

using cluster_city::At;
using cluster_city::ClusterFields;
using cluster_city::Fields;
using cluster_city::kOutOfOrder;
using cluster_city::kTz;
using cluster_city::kBackground;
using cluster_city::P;
using cluster_city::V;

class VenueDayTest : public cluster_city::ClusterCityTest {};

// A restaurant with 16 new visitors a day (112 a week); 3 of day 3's
// visitors fall ill on days 5 and 7.
std::vector<Event> RestaurantOutbreak() {
  std::vector<Event> ev = VenueDayTest::City(3000, 60, 10, kBackground);
  for (int d = 0; d < 10; ++d) {
    for (int j = 0; j < 16; ++j) {
      const int i = 2000 + 16 * d + j;
      ev.push_back(VenueDayTest::Scan(P(i), "rest", At(d, 19) + j * kMinuteMs));
    }
  }
  ev.push_back(VenueDayTest::Fever(P(2050), At(5, 10)));
  ev.push_back(VenueDayTest::Fever(P(2054), At(5, 14)));
  ev.push_back(VenueDayTest::Fever(P(2058), At(7, 9)));
  return ev;
}

TEST_F(VenueDayTest, RestaurantOutbreakAlertsWithVenueDayNotWithContract) {
  Run(RestaurantOutbreak());
  // Contract: N = 112 visitors over 14 d, mu = 112 * 9 / 3000 = 0.336,
  // P(X >= 3) = 4.9e-3 > 0.2 / 61.
  EXPECT_TRUE(alerts_.empty()) << AlertLines().front();

  alerts_.clear();
  UseVenueDay();
  Run(RestaurantOutbreak());
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(AlertLines());
  const Alert& a = *found[0];
  EXPECT_EQ(a.ts, At(7, 9)) << "evaluated at the third fever visit";
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.alert_id, MakeAlertId("fever_cluster", a.cluster_id, "1"));
  EXPECT_EQ(a.cluster_id.rfind("venue-", 0), 0u);
  const ClusterFields f = Fields(a);
  EXPECT_EQ(f.venue_id, "rest");
  EXPECT_EQ(f.members, (std::vector<std::string>{P(2050), P(2054), P(2058)}));
  EXPECT_EQ(f.statistic, 3);
  EXPECT_DOUBLE_EQ(f.population, 16) << "visitors on day 3";
  EXPECT_DOUBLE_EQ(f.fever_rate, 9.0 / 3000);
  EXPECT_EQ(f.tests, 7 * 61) << "venue-days: 7 x V";
  const double mu = 16 * 9.0 / 3000;
  EXPECT_NEAR(f.p_value, 1 - std::exp(-mu) * (1 + mu + mu * mu / 2), 1e-12);
  EXPECT_NE(a.evidence_json.find("\"type\":\"scan\""), std::string::npos);
}

TEST_F(VenueDayTest,
       MallWithThousandsOfVisitorsAndThreeFeversAlertsWithNeither) {
  auto mall = [] {
    std::vector<Event> ev = City(3000, 60, 10, kBackground);
    for (int i = 0; i < 2000; ++i)
      ev.push_back(
          Scan(P(i), "mall", At(3, 15) + i * kSecondMs, VenueKind::kMall));
    ev.push_back(Fever(P(100), At(5, 9)));
    ev.push_back(Fever(P(200), At(5, 11)));
    ev.push_back(Fever(P(300), At(6, 9)));
    return ev;
  };
  Run(mall());
  EXPECT_TRUE(alerts_.empty()) << AlertLines().front();
  UseVenueDay();
  Run(mall());
  EXPECT_TRUE(alerts_.empty()) << AlertLines().front();
}

TEST_F(VenueDayTest, VisitorsPerDayAreExactUnderDisorder) {
  UseVenueDay();
  // Person x scans at 14:00 then (late) at 10:00, and again the next day;
  // y scans once at 12:00. Visitors of day 0 at 11:00: x only (first scan
  // moved to 10:00); at 13:00: x and y.
  std::vector<Event> ev = {Scan("x", "v", At(0, 14)),
                           Scan("x", "v", At(0, 13.5)),
                           Scan("x", "v", At(0, 13.2)),
                           Scan("y", "v", At(0, 12)), Scan("x", "v", At(1, 9))};
  std::vector<ClusterRecord> got;
  for (const Event& e : ev) {
    bool dup = false;
    ASSERT_OK(person_->OnEvent(e, 0, &dup, &person_alerts_));
    for (size_t i = 0; i < records_.size(); ++i) {
      if (records_[i].kind == ClusterRecordKind::kVenueDayVisitor)
        got.push_back(records_[i]);
      // No contract venue records with venue_day.
      EXPECT_NE(records_[i].kind, ClusterRecordKind::kVenueVisitors);
    }
    Drain();
  }
  DeltaCounter day0;
  for (const ClusterRecord& r : got) {
    if (LocalDay(r.ts, kTz) == LocalDay(At(0), kTz)) day0.Add(r.ts, r.delta);
  }
  EXPECT_EQ(day0.ValueAt(At(0, 12.5)), 1);
  EXPECT_EQ(day0.ValueAt(At(0, 13.3)), 2);
  EXPECT_EQ(day0.ValueAt(At(0, 23)), 2);
  EXPECT_EQ(got.size(), 7u) << "+1 x 14:00, -1/+1 to 13:30, -1/+1 to 13:12, "
                               "+1 y 12:00, +1 x the next day";
}

TEST_F(VenueDayTest, RecordsRoundTripAndRouteByVenue) {
  ClusterRecord link;
  link.kind = ClusterRecordKind::kVenueDayLink;
  link.key = "rest";
  link.ts = At(5, 10);
  link.aux_ts = At(3, 19);
  link.person_id = "p";
  link.event_id = "f";
  link.clinic_id = "c";
  ClusterRecord visitor;
  visitor.kind = ClusterRecordKind::kVenueDayVisitor;
  visitor.key = "rest";
  visitor.ts = At(3, 19);
  visitor.delta = -1;
  RepartitionRouter router(5);
  for (const ClusterRecord& r : {link, visitor}) {
    std::string bytes;
    r.Encode(&bytes);
    ClusterRecord back;
    ASSERT_OK(back.Decode(bytes));
    EXPECT_TRUE(back == r);
    std::vector<uint16_t> to;
    router.Route(r, &to);
    EXPECT_EQ(to, std::vector<uint16_t>{router.PartitionOf("rest")});
  }
}

TEST_F(VenueDayTest, StateEncodesAndPrunes) {
  VenueDayWindow w;
  w.Day(12).visitors.Add(At(0, 1), 1);
  w.Day(10).links.push_back(CaseLink{"p", "f", "c", At(2), At(0)});
  w.Day(11).visitors.Add(At(0, 2), 1);
  ASSERT_EQ(w.days.size(), 3u);
  EXPECT_EQ(w.days[0].day, 10);
  EXPECT_EQ(w.days[2].day, 12);
  w.has_episode = true;
  w.episode.cluster_id = "venue-x";
  w.episode.last_ts = At(2);
  w.episode.AddMember(w.days[0].links[0]);
  std::string bytes;
  w.Encode(&bytes);
  VenueDayWindow back;
  ASSERT_OK(back.Decode(bytes));
  std::string again;
  back.Encode(&again);
  EXPECT_EQ(again, bytes);
  EXPECT_FALSE(back.Decode(bytes + "x").ok());
  w.Prune(11, At(1), At(0, 3));
  EXPECT_EQ(w.days.size(), 2u);
  EXPECT_TRUE(w.has_episode);
  w.Prune(13, At(3), At(0, 3));
  EXPECT_TRUE(w.Empty());
}

// Growth, restarts and disorder: the same alerts (ids, versions, members)
// whatever the checkpoints, restarts and order within the out-of-orderness.
std::vector<Event> GrowingOutbreak() {
  std::vector<Event> ev = RestaurantOutbreak();
  for (int j = 0; j < 7; ++j) {
    ev.push_back(VenueDayTest::Fever(P(2049 + j * 1), At(6, 8) + j * kHourMs));
  }
  return ev;
}

std::vector<std::string> Signature(const std::vector<Alert>& alerts) {
  std::vector<std::string> out;
  for (const Alert& a : alerts) {
    out.push_back(a.alert_id + " " + a.cluster_id + " v" +
                  std::to_string(a.version) + " " + a.cluster_json);
  }
  return out;
}

TEST_F(VenueDayTest,
       GrowthIsVersionedAndDeterministicAcrossRestartsAndDisorder) {
  UseVenueDay();
  Run(GrowingOutbreak());
  const std::vector<std::string> base = Signature(alerts_);
  ASSERT_GE(base.size(), 3u) << ::testing::PrintToString(AlertLines());
  std::vector<int64_t> counts;
  for (const Alert& a : alerts_) {
    EXPECT_EQ(a.cluster_id, alerts_[0].cluster_id) << "one episode";
    counts.push_back(Fields(a).member_count);
  }
  EXPECT_EQ(counts.front(), 3);
  for (size_t i = 1; i < counts.size(); ++i) {
    EXPECT_GE(counts[i], static_cast<int64_t>(NextVersionStep(counts[i - 1])));
  }

  for (int variant = 0; variant < 3; ++variant) {
    alerts_.clear();
    ResetState();
    std::vector<Event> ev = GrowingOutbreak();
    std::stable_sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
      return a.ts < b.ts;
    });
    // Swap neighbours less than the out-of-orderness apart.
    std::mt19937 rng(variant + 1);
    for (size_t i = 1; i < ev.size(); ++i) {
      if (ev[i].ts - ev[i - 1].ts < kOutOfOrder / 2 && (rng() & 1))
        std::swap(ev[i], ev[i - 1]);
    }
    FeedAll(ev, variant == 1 ? 3001 : 0, variant == 2 ? 977 : 0);
    EXPECT_EQ(Signature(alerts_), base) << "variant " << variant;
  }
}

// The scale-out edge: the venue_day records through their wire form and the
// router to Q = 3 partition stages give the same alerts as one stage.
TEST_F(VenueDayTest, RepartitionedStagesMatchOneStage) {
  UseVenueDay();
  std::vector<Event> ev = GrowingOutbreak();
  for (int i = 0; i < 2000; ++i)
    ev.push_back(
        Scan(P(i), "mall", At(3, 15) + i * kSecondMs, VenueKind::kMall));
  Run(ev);
  std::vector<std::string> one = Signature(alerts_);
  ASSERT_GE(one.size(), 3u);
  alerts_.clear();
  q_count_ = 3;
  ResetState();
  Run(ev);
  std::vector<std::string> three = Signature(alerts_);
  std::sort(one.begin(), one.end());
  std::sort(three.begin(), three.end());
  EXPECT_EQ(one, three);
}

}  // namespace
}  // namespace epistream
