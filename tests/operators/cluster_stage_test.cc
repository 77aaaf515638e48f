// fever_cluster and clinic_surge end to end through the person stage and the
// cluster stage on an in-memory store, wired as CityPipeline wires them
// (records drained after each call; person timers before cluster timers),
// on small synthetic cities.
#include "operators/cluster/cluster_stage.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/cluster_city_test.h"

namespace epistream {
namespace {

using cluster_city::At;
using cluster_city::ClusterFields;
using cluster_city::Fields;
using cluster_city::kBackground;
using cluster_city::P;
using cluster_city::V;

class ClusterStageTest : public cluster_city::ClusterCityTest {};

TEST_F(ClusterStageTest,
       MallWithThousandsOfVisitorsAndThreeFeversDoesNotAlert) {
  std::vector<Event> ev = City(3000, 60, 10, kBackground);
  for (int i = 0; i < 2000; ++i)
    ev.push_back(
        Scan(P(i), "mall", At(3, 15) + i * kSecondMs, VenueKind::kMall));
  ev.push_back(Fever(P(100), At(5, 9)));
  ev.push_back(Fever(P(200), At(5, 11)));
  ev.push_back(Fever(P(300), At(6, 9)));
  Run(ev);
  EXPECT_TRUE(alerts_.empty()) << AlertLines().front();
  // N = 2000 visitors, r = 9 fever persons / 3000 active: mu = 6, P(X >= 3) =
  // 0.94.
  EXPECT_EQ(cluster_->VenuePopulationAt("mall", At(6, 9)), 2000);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveCase, At(6, 9)), 3000);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kFeverCase, At(6, 9)), 9);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveVenues, At(6, 9)), 61);
}

TEST_F(ClusterStageTest, SmallRestaurantWithThreeFebrileVisitorsAlerts) {
  std::vector<Event> ev = City(3000, 60, 10, kBackground);
  for (int i = 2500; i < 2512; ++i)
    ev.push_back(Scan(P(i), "rest", At(3, 19) + i * kSecondMs));
  ev.push_back(Fever(P(2500), At(5, 10)));
  ev.push_back(Fever(P(2503), At(5, 14)));
  ev.push_back(Fever(P(2507), At(6, 9)));
  Run(ev);
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(AlertLines());
  const Alert& a = *found[0];
  EXPECT_EQ(a.severity, kSeverityCritical);
  EXPECT_EQ(a.ts, At(6, 9)) << "evaluated at the third fever visit";
  EXPECT_EQ(a.version, 1);
  EXPECT_TRUE(a.person_id.empty());
  EXPECT_EQ(AlertKey(a), a.cluster_id);
  EXPECT_EQ(a.alert_id, MakeAlertId("fever_cluster", a.cluster_id, "1"));
  const ClusterFields f = Fields(a);
  EXPECT_EQ(f.cluster_id, a.cluster_id);
  EXPECT_EQ(f.venue_id, "rest");
  EXPECT_EQ(f.member_count, 3);
  EXPECT_EQ(f.members, (std::vector<std::string>{P(2500), P(2503), P(2507)}));
  EXPECT_EQ(f.statistic, 3);
  EXPECT_DOUBLE_EQ(f.population, 12);
  EXPECT_DOUBLE_EQ(f.fever_rate, 9.0 / 3000);
  EXPECT_DOUBLE_EQ(f.expected, 12 * 9.0 / 3000);
  EXPECT_NEAR(f.p_value, 7.569041307477151e-06,
              1e-15);      // 1 - e^-0.036 (1 + 0.036 + 0.000648)
  EXPECT_EQ(f.tests, 61);  // 60 home venues and the restaurant
  // Evidence: each member's fever visit and scan at the venue.
  EXPECT_NE(a.evidence_json.find("\"type\":\"scan\""), std::string::npos);
  EXPECT_NE(a.evidence_json.find("\"event_id\":\"f-b2507-"), std::string::npos);
}

TEST_F(ClusterStageTest, VisitsAtTestSitesHospitalsAndStationsDoNotLink) {
  std::vector<Event> ev = City(3000, 60, 10, kBackground);
  const VenueKind kinds[] = {VenueKind::kTestSite, VenueKind::kHospital,
                             VenueKind::kTransportStation};
  for (VenueKind k : kinds) {
    for (int i = 2500; i < 2512; ++i)
      ev.push_back(Scan(P(i), "shared", At(3, 19) + i * kSecondMs, k));
  }
  ev.push_back(Fever(P(2500), At(5, 10)));
  ev.push_back(Fever(P(2503), At(5, 14)));
  ev.push_back(Fever(P(2507), At(6, 9)));
  Run(ev);
  EXPECT_TRUE(alerts_.empty());
  EXPECT_EQ(cluster_->VenuePopulationAt("shared", At(6, 9)), 0);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveVenues, At(6, 9)), 60);
}

TEST_F(ClusterStageTest,
       LargeCommunityWithItsUsualFeversDoesNotAlertSmallOneDoes) {
  // 3000 persons: "big" 0..999, "small" 1000..1019, the rest in 20
  // communities of 99 (c0..c19): C = 22.
  for (int i = 0; i < 1000; ++i) ASSERT_NO_FATAL_FAILURE(Register(P(i), "big"));
  for (int i = 1000; i < 1020; ++i)
    ASSERT_NO_FATAL_FAILURE(Register(P(i), "small"));
  for (int i = 1020; i < 3000; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        Register(P(i), "c" + std::to_string((i - 1020) / 99)));
  }
  // Background fevers on day 4, one each in c0, c3, c6, c9, c12, c16.
  std::vector<Event> ev =
      City(3000, 60, 10, {1101, 1402, 1703, 2004, 2305, 2606});
  ev.push_back(Fever(P(10), At(5, 9), "big"));
  ev.push_back(Fever(P(20), At(6, 9), "big"));
  ev.push_back(Fever(P(30), At(7, 8), "big"));
  ev.push_back(Fever(P(1001), At(5, 10)));  // community from the registry
  ev.push_back(Fever(P(1005), At(6, 10), "small"));
  ev.push_back(Fever(P(1010), At(7, 9), "small"));
  Run(ev);
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(AlertLines());
  const ClusterFields f = Fields(*found[0]);
  EXPECT_EQ(f.community_id, "small");
  EXPECT_EQ(found[0]->ts, At(7, 9));
  EXPECT_EQ(f.members, (std::vector<std::string>{P(1001), P(1005), P(1010)}));
  EXPECT_DOUBLE_EQ(f.population, 20);
  // r over [day 4 09:00, day 7 09:00]: the 6 background fevers (day 4 from
  // 10:00) and the 6 above, among 3000 active persons.
  EXPECT_DOUBLE_EQ(f.fever_rate, 12.0 / 3000);
  EXPECT_EQ(f.tests, 22) << "C: communities with a known population";
  // The big one at day 7 08:00: mu = 1000 * 11 / 3000 = 3.67, P(X >= 3) = 0.71.
}

TEST_F(ClusterStageTest, UnregisteredCommunityUsesPersonsSeenWithIt) {
  std::vector<Event> ev = City(600, 12, 10, {});
  // 4 persons seen with community "x" over the population window, 3 febrile.
  ev.push_back(Fever(P(1), At(2, 9), "x"));
  ev.push_back(Fever(P(2), At(5, 9), "x"));
  ev.push_back(Fever(P(3), At(6, 9), "x"));
  ev.push_back(Fever(P(4), At(7, 9), "x"));
  Run(ev);
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(AlertLines());
  const ClusterFields f = Fields(*found[0]);
  EXPECT_EQ(f.community_id, "x");
  EXPECT_EQ(found[0]->ts, At(7, 9));
  EXPECT_DOUBLE_EQ(f.population, 4);
  EXPECT_EQ(f.tests, 1);
  EXPECT_EQ(cluster_->CommunitiesWithPopulationAt(At(7, 9)), 1);
}

// A restaurant with 40 visitors whose members fall ill one by one.
std::vector<Event> GrowthCity(int persons, int venues) {
  std::vector<Event> ev;
  for (int d = 0; d < 10; ++d) {
    for (int i = 0; i < persons; ++i) {
      Event e;
      e.type = EventType::kScan;
      e.person_id = P(i);
      e.venue_id = V(i % venues);
      e.venue_kind = VenueKind::kOffice;
      e.ts = At(d, 8) + i * kSecondMs;
      e.event_id = "s" + std::to_string(d) + "-" + std::to_string(i);
      ev.push_back(e);
    }
  }
  for (int i = 0; i < 40; ++i) {
    Event e;
    e.type = EventType::kScan;
    e.person_id = P(1000 + i);
    e.venue_id = "grow";
    e.venue_kind = VenueKind::kRestaurant;
    e.ts = At(3, 19) + i * kSecondMs;
    e.event_id = "g" + std::to_string(i);
    ev.push_back(e);
  }
  for (int i = 0; i < 10; ++i) {
    Event e;
    e.type = EventType::kFever;
    e.person_id = P(1000 + i);
    e.clinic_id = "c" + std::to_string(i % 3);
    e.temp_c = 38.0;
    e.ts = At(5, 8 + i);
    e.event_id = "f" + std::to_string(i);
    ev.push_back(e);
  }
  std::stable_sort(ev.begin(), ev.end(),
                   [](const Event& a, const Event& b) { return a.ts < b.ts; });
  return ev;
}

TEST_F(ClusterStageTest, GrowingClusterAnnouncesVersionsAtStepsWithOneId) {
  FeedAll(GrowthCity(3000, 60));
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 6u) << ::testing::PrintToString(AlertLines());
  const int64_t counts[] = {3, 4, 5, 6, 8, 10};
  for (size_t i = 0; i < found.size(); ++i) {
    const ClusterFields f = Fields(*found[i]);
    EXPECT_EQ(found[i]->version, static_cast<int>(i) + 1);
    EXPECT_EQ(f.member_count, counts[i]);
    EXPECT_EQ(found[i]->ts, At(5, 8 + static_cast<double>(counts[i] - 1)));
    EXPECT_EQ(f.cluster_id, found[0]->cluster_id);
    EXPECT_EQ(f.venue_id, "grow");
    EXPECT_EQ(found[i]->alert_id,
              MakeAlertId("fever_cluster", found[0]->cluster_id,
                          std::to_string(i + 1)));
  }
  EXPECT_EQ(Fields(*found[5]).members.front(), P(1000));
  EXPECT_EQ(Fields(*found[5]).members.back(), P(1009));
}

TEST_F(ClusterStageTest, SameAlertsWithRestartsAndCheckpointsAnywhere) {
  const std::vector<Event> ev = GrowthCity(600, 12);
  FeedAll(ev);
  const std::vector<std::string> reference = AlertLines();
  ASSERT_EQ(ClusterAlerts().size(), 6u);
  // {restart every, checkpoint every} events.
  for (auto [restart, checkpoint] :
       {std::pair{0, 1}, {7, 0}, {501, 0}, {2999, 0}, {0, 13}}) {
    SCOPED_TRACE("restart every " + std::to_string(restart) +
                 ", checkpoint every " + std::to_string(checkpoint));
    store_ = MemKvStore();
    alerts_.clear();
    wm_ = max_ts_ = kMinTimestamp;
    records_.Clear();
    Start();
    FeedAll(ev, restart, checkpoint);
    EXPECT_EQ(reference, AlertLines());
  }
}

TEST_F(ClusterStageTest, OutOfOrderFeverVisitsStillFormTheCluster) {
  std::vector<Event> ev = City(600, 12, 10, {});
  for (int i = 500; i < 512; ++i)
    ev.push_back(Scan(P(i), "rest", At(3, 19) + i * kSecondMs));
  std::stable_sort(ev.begin(), ev.end(),
                   [](const Event& a, const Event& b) { return a.ts < b.ts; });
  // The latest fever visit first; the two earlier ones arrive after the
  // watermark passed it (late, within the allowed hour).
  std::vector<Event> in_order = ev;
  const Event f1 = Fever(P(500), At(5, 10));
  const Event f2 = Fever(P(503), At(5, 10.3));
  const Event f3 = Fever(P(507), At(5, 10.6));
  const Event tick = Scan(P(1), V(1), At(5, 10.8));
  auto split = std::find_if(ev.begin(), ev.end(),
                            [](const Event& e) { return e.ts > At(5, 10); });
  std::vector<Event> late(ev.begin(), split);
  for (const Event& e : {f3, tick, f1, f2}) late.push_back(e);
  late.insert(late.end(), split, ev.end());
  FeedAll(late);
  EXPECT_EQ(too_late_, 0);
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(AlertLines());
  EXPECT_EQ(found[0]->ts, f3.ts)
      << "the evaluation at the latest visit, run again";
  EXPECT_EQ(Fields(*found[0]).members,
            (std::vector<std::string>{P(500), P(503), P(507)}));
  const std::vector<std::string> late_lines = AlertLines();

  // The same visits in time order give the same alert.
  store_ = MemKvStore();
  alerts_.clear();
  wm_ = max_ts_ = kMinTimestamp;
  Start();
  for (const Event& e : {f1, f2, f3, tick}) in_order.push_back(e);
  Run(in_order);
  EXPECT_EQ(late_lines, AlertLines());
}

TEST_F(ClusterStageTest, ScanArrivingAfterTheFeverStillLinks) {
  std::vector<Event> ev = City(600, 12, 10, {});
  for (int i = 500; i < 512; ++i) {
    if (i == 507) continue;
    ev.push_back(Scan(P(i), "rest", At(3, 19) + i * kSecondMs));
  }
  ev.push_back(Fever(P(500), At(5, 10)));
  ev.push_back(Fever(P(503), At(5, 12)));
  std::stable_sort(ev.begin(), ev.end(),
                   [](const Event& a, const Event& b) { return a.ts < b.ts; });
  // 507's fever at 14:00; its restaurant scan of day 3 is delivered after
  // it, when the watermark is two days past: too late, dead-lettered, no link.
  auto split = std::find_if(ev.begin(), ev.end(),
                            [](const Event& e) { return e.ts > At(5, 14); });
  std::vector<Event> run(ev.begin(), split);
  run.push_back(Fever(P(507), At(5, 14)));
  run.push_back(Scan(P(0), V(0), At(5, 14.4)));
  run.push_back(Scan(P(507), "rest", At(3, 19) + 507 * kSecondMs));
  run.insert(run.end(), split, ev.end());
  FeedAll(run);
  EXPECT_EQ(too_late_, 1);
  EXPECT_TRUE(ClusterAlerts().empty());

  // Within the lateness: the scan at 13:50 arrives after the 14:00 fever.
  store_ = MemKvStore();
  alerts_.clear();
  wm_ = max_ts_ = kMinTimestamp;
  too_late_ = 0;
  Start();
  run.assign(ev.begin(), split);
  run.push_back(Fever(P(507), At(5, 14)));
  run.push_back(Scan(P(507), "rest", At(5, 13.83)));
  run.insert(run.end(), split, ev.end());
  FeedAll(run);
  EXPECT_EQ(too_late_, 0);
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(AlertLines());
  EXPECT_EQ(found[0]->ts, At(5, 14));
  EXPECT_EQ(Fields(*found[0]).member_count, 3);
}

TEST_F(ClusterStageTest, NewEpisodeAfterTheMembersLeftTheWindow) {
  std::vector<Event> ev;
  for (int d = 0; d < 30; ++d) {
    for (int i = 0; i < 600; ++i)
      ev.push_back(Scan(P(i), V(i % 12), At(d, 8) + i * kSecondMs));
  }
  for (int wave = 0; wave < 2; ++wave) {
    const int day = wave == 0 ? 3 : 19;
    for (int i = 0; i < 12; ++i) {
      ev.push_back(
          Scan(P(1000 + 20 * wave + i), "rest", At(day, 19) + i * kSecondMs));
    }
    for (int i = 0; i < 3; ++i)
      ev.push_back(Fever(P(1000 + 20 * wave + i), At(day + 2, 9 + i)));
  }
  Run(ev);
  const auto found = ClusterAlerts();
  ASSERT_EQ(found.size(), 2u) << ::testing::PrintToString(AlertLines());
  EXPECT_EQ(found[0]->version, 1);
  EXPECT_EQ(found[1]->version, 1);
  EXPECT_NE(found[0]->cluster_id, found[1]->cluster_id);
  EXPECT_EQ(Fields(*found[1]).members.front(), P(1020));
}

TEST_F(ClusterStageTest, VisitorCountsAreExactOverThePopulationWindow) {
  // No sweeps: they fold old deltas away, and this test reads old times.
  sweep_interval_ = 0;
  Start();
  std::vector<Event> ev;
  ev.push_back(Scan("a", "r", At(0, 10)));
  ev.push_back(Scan("b", "r", At(1, 10)));
  ev.push_back(
      Scan("a", "r", At(5, 10)));  // a's window now ends at day 19 10:00
  ev.push_back(Scan("c", "r", At(30, 10)));
  ev.push_back(Scan("x", "other", At(40, 0)));
  Run(ev);
  EXPECT_EQ(cluster_->VenuePopulationAt("r", At(0, 10) - 1), 0);
  EXPECT_EQ(cluster_->VenuePopulationAt("r", At(1, 10)), 2);
  EXPECT_EQ(cluster_->VenuePopulationAt("r", At(15, 10)), 2);
  EXPECT_EQ(cluster_->VenuePopulationAt("r", At(15, 10) + 1), 1)
      << "b left after 14 days";
  EXPECT_EQ(cluster_->VenuePopulationAt("r", At(19, 10)), 1);
  EXPECT_EQ(cluster_->VenuePopulationAt("r", At(19, 10) + 1), 0);
  EXPECT_EQ(cluster_->VenuePopulationAt("r", At(30, 10)), 1);
  // Active venues over 7 days and active persons.
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveVenues, At(12, 10)), 1);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveVenues, At(12, 10) + 1),
            0);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveCase, At(6, 0)), 2);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveCase, At(9, 0)), 1);
  EXPECT_EQ(cluster_->CityCountAt(CityCounter::kActiveCommunity, At(6, 0)), 1);
}

TEST_F(ClusterStageTest, ClinicSurgeFiresWhenTheDayCloses) {
  // Clinic "c9": days 0..8 with 2 3 1 2 4 2 0 9 9 visits, day 9 with 6: the
  // threshold of the hand-computed example (clinic_surge_test) is 5.873.
  const int counts[] = {2, 3, 1, 2, 4, 2, 0, 9, 9, 6};
  std::vector<Event> ev;
  int n = 0;
  for (int d = 0; d < 10; ++d) {
    for (int v = 0; v < counts[d]; ++v) {
      ev.push_back(Fever(P(n++), At(d, 9 + v * 0.5), "", "c9"));
    }
  }
  ev.push_back(
      Scan(P(0), "late", At(10, 0.5)));  // moves the watermark past day 9
  Run(ev);
  const auto found = ClusterAlerts("clinic_surge");
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(AlertLines());
  const Alert& a = *found[0];
  EXPECT_EQ(a.severity, kSeverityWarning);
  EXPECT_EQ(a.ts, At(10) - 1) << "the last millisecond of the day";
  EXPECT_EQ(a.version, 1);
  const ClusterFields f = Fields(a);
  EXPECT_EQ(f.clinic_id, "c9");
  EXPECT_EQ(f.member_count, 6);
  EXPECT_EQ(f.statistic, 6);
  EXPECT_DOUBLE_EQ(f.expected, 2.0);
  EXPECT_EQ(f.members.size(), 6u);
  EXPECT_NE(a.cluster_json.find("\"p_value\":null"), std::string::npos);
  EXPECT_NE(a.cluster_json.find("\"day\":\"2022-09-10\""), std::string::npos);
  // Days 7 and 8 (9 visits) have only 7 and 8 days of history: no alert.
}

}  // namespace
}  // namespace epistream
