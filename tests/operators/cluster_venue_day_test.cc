// rules.cluster_method = venue_day (operators/cluster/README.md): the
// venue-day test through the person stage and the cluster stage, wired as
// CityPipeline wires them, beside the contract's test on the same cities.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/cluster/repartition_router.h"
#include "operators/cluster/venue_day_window.h"
#include "operators/person_registry.h"
#include "operators/person_stage.h"
#include "operators/risk_area_table.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr DurationMs kOutOfOrder = 5 * kMinuteMs;
constexpr int kTz = 8 * 60;

// 2022-09-01T00:00:00+08:00 plus days and hours.
TimestampMs At(int day, double hours = 0) {
  return *ParseRfc3339("2022-09-01T00:00:00+08:00") + day * kDayMs +
         static_cast<TimestampMs>(hours * kHourMs);
}

std::string P(int i) {
  std::string s = "b";
  s.append(std::to_string(i));
  return s;
}

std::string V(int i) {
  std::string s = "v";
  s.append(std::to_string(i));
  return s;
}

struct ClusterFields {
  std::string cluster_id, venue_id, community_id, clinic_id;
  int64_t member_count = 0, statistic = 0, tests = 0;
  double expected = 0, p_value = -1, population = 0, fever_rate = 0;
  std::vector<std::string> members;
};

ClusterFields Fields(const Alert& a) {
  simdjson::dom::parser parser;
  simdjson::dom::element e = parser.parse(a.cluster_json);
  ClusterFields f;
  auto str = [&](const char* k, std::string* out) {
    std::string_view v;
    if (e[k].get_string().get(v) == simdjson::SUCCESS) *out = std::string(v);
  };
  str("cluster_id", &f.cluster_id);
  str("venue_id", &f.venue_id);
  str("community_id", &f.community_id);
  str("clinic_id", &f.clinic_id);
  auto i64 = [&](const char* k, int64_t* out) {
    if (e[k].get_int64().get(*out) != simdjson::SUCCESS) *out = -1;
  };
  auto dbl = [&](const char* k, double* out) {
    if (e[k].get_double().get(*out) != simdjson::SUCCESS) *out = -1;
  };
  i64("member_count", &f.member_count);
  i64("statistic", &f.statistic);
  i64("tests", &f.tests);
  dbl("expected", &f.expected);
  dbl("p_value", &f.p_value);
  dbl("population", &f.population);
  dbl("fever_rate", &f.fever_rate);
  simdjson::dom::array members;
  if (e["members"].get_array().get(members) == simdjson::SUCCESS) {
    for (auto m : members) f.members.emplace_back(std::string_view(m));
  }
  return f;
}

class VenueDayTest : public ::testing::Test {
 public:
  void SetUp() { Start(); }

  // Stages over store_, as CityPipeline builds them.
  void Start() {
    areas_ = std::make_unique<RiskAreaTable>(&store_);
    registry_ = std::make_unique<PersonRegistry>(&store_);
    ASSERT_OK(areas_->Load());
    ASSERT_OK(registry_->Load());
    PersonStageOptions po;
    po.rules = rules_;
    person_ = std::make_unique<PersonStage>(po, &store_, areas_.get(),
                                            registry_.get());
    person_->set_cluster_output(&records_);
    ASSERT_OK(person_->AddPartition(0, &person_alerts_));
    ClusterStageOptions co;
    co.rules = rules_;
    co.sweep_interval = sweep_interval_;
    cluster_ = std::make_unique<ClusterStage>(co, &store_);
    ASSERT_OK(cluster_->Open());
    parts_.clear();
    for (uint16_t q = 0; q < q_count_; ++q) {
      co.key_prefix = ClusterPartitionKeyPrefix(q);
      parts_.push_back(std::make_unique<ClusterStage>(co, &store_));
      ASSERT_OK(parts_.back()->Open());
    }
  }

  // A checkpoint, then new stages over the same store (a process restart).
  void Restart() {
    Checkpoint();
    Start();
    Advance(wm_);
  }
  void Checkpoint() {
    ASSERT_OK(person_->Flush());
    ASSERT_OK(cluster_->Flush());
    for (auto& p : parts_) ASSERT_OK(p->Flush());
    ASSERT_OK(store_.Commit());
  }

  // Records to the one cluster stage, or (q_count_ > 0) through the wire
  // form and the repartition router to Q partition stages instead.
  void Drain() {
    std::string bytes;
    std::vector<uint16_t> to;
    const RepartitionRouter router(q_count_);
    for (size_t i = 0; i < records_.size(); ++i) {
      if (parts_.empty()) {
        ASSERT_OK(cluster_->OnRecord(records_[i]));
        continue;
      }
      records_[i].Encode(&bytes);
      ClusterRecord r;
      ASSERT_OK(r.Decode(bytes));
      router.Route(r, &to);
      for (uint16_t q : to) ASSERT_OK(parts_[q]->OnRecord(r));
    }
    records_.Clear();
  }
  void Advance(TimestampMs wm) {
    if (wm == kMinTimestamp) return;
    wm_ = std::max(wm_, wm);
    ASSERT_OK(person_->OnWatermark(wm_, &person_alerts_));
    Drain();
    if (parts_.empty()) {
      ASSERT_OK(cluster_->OnWatermark(wm_, &alerts_));
    } else {
      for (auto& p : parts_) ASSERT_OK(p->OnWatermark(wm_, &alerts_));
    }
  }
  // One event, then the watermark (max ts seen - 5 min), like the pipeline.
  void Feed(const Event& e) {
    if (wm_ != kMinTimestamp && e.ts < wm_ - kHourMs) {
      ++too_late_;
      return;
    }
    bool dup = false;
    ASSERT_OK(person_->OnEvent(e, 0, &dup, &person_alerts_));
    Drain();
    max_ts_ = std::max(max_ts_, e.ts);
    Advance(max_ts_ - kOutOfOrder);
  }
  void Finish() { Advance(max_ts_); }

  static Event Scan(const std::string& person, const std::string& venue,
                    TimestampMs ts, VenueKind kind = VenueKind::kRestaurant) {
    Event e;
    e.type = EventType::kScan;
    e.person_id = person;
    e.venue_id = venue;
    e.venue_kind = kind;
    e.ts = ts;
    e.event_id = "s-" + person + "-" + venue + "-" + std::to_string(ts);
    return e;
  }
  static Event Fever(const std::string& person, TimestampMs ts,
                     const std::string& community = "",
                     const std::string& clinic = "c1") {
    Event e;
    e.type = EventType::kFever;
    e.person_id = person;
    e.clinic_id = clinic;
    e.temp_c = 38.5;
    e.community_id = community;
    e.ts = ts;
    e.event_id = "f-" + person + "-" + std::to_string(ts);
    return e;
  }
  void Register(const std::string& person, const std::string& community) {
    Event e;
    e.type = EventType::kPerson;
    e.person_id = person;
    e.community_id = community;
    e.event_id = "reg-" + person;
    const PersonInfo* prev = registry_->Find(person);
    const std::string before = prev != nullptr ? prev->community_id : "";
    registry_->Apply(e);
    ASSERT_OK(cluster_->OnRegistration(before, community));
  }

  // `persons` persons b<i> scanning venue v<i % venues> every day at 08:00
  // + i s, days [0, days); plus background fevers on day 4 of persons whose
  // home venues differ.
  static std::vector<Event> City(int persons, int venues, int days,
                                 const std::vector<int>& background_fevers) {
    std::vector<Event> ev;
    for (int d = 0; d < days; ++d) {
      for (int i = 0; i < persons; ++i) {
        ev.push_back(Scan(P(i), V(i % venues), At(d, 8) + i * kSecondMs));
      }
    }
    for (size_t j = 0; j < background_fevers.size(); ++j) {
      ev.push_back(
          Fever(P(background_fevers[j]), At(4, 10 + static_cast<double>(j))));
    }
    return ev;
  }
  void Run(std::vector<Event> events, int restart_every = 0,
           int checkpoint_every = 0) {
    std::stable_sort(
        events.begin(), events.end(),
        [](const Event& a, const Event& b) { return a.ts < b.ts; });
    FeedAll(events, restart_every, checkpoint_every);
  }
  void FeedAll(const std::vector<Event>& events, int restart_every = 0,
               int checkpoint_every = 0) {
    int n = 0;
    for (const Event& e : events) {
      ASSERT_NO_FATAL_FAILURE(Feed(e));
      ++n;
      if (restart_every > 0 && n % restart_every == 0) {
        ASSERT_NO_FATAL_FAILURE(Restart());
      }
      if (checkpoint_every > 0 && n % checkpoint_every == 0) {
        ASSERT_NO_FATAL_FAILURE(Checkpoint());
      }
    }
    Finish();
  }

  std::vector<const Alert*> ClusterAlerts(
      std::string_view rule = "fever_cluster") const {
    std::vector<const Alert*> out;
    for (const Alert& a : alerts_) {
      if (a.rule == rule) out.push_back(&a);
    }
    return out;
  }
  std::vector<std::string> AlertLines() const {
    std::vector<std::string> out;
    for (const Alert& a : alerts_) {
      std::string json;
      AlertToJson(a, kTz, 0, &json);
      out.push_back(json);
    }
    return out;
  }

  // Fresh stages and store with rules.cluster_method = venue_day.
  void UseVenueDay() {
    rules_.cluster_method = ClusterMethod::kVenueDay;
    ResetState();
  }
  void ResetState() {
    records_.Clear();
    person_.reset();
    cluster_.reset();
    areas_.reset();
    registry_.reset();
    store_.~MemKvStore();
    new (&store_) MemKvStore();
    wm_ = max_ts_ = kMinTimestamp;
    too_late_ = 0;
    Start();
  }

  uint16_t q_count_ = 0;  // > 0: repartitioned cluster stages
  std::vector<std::unique_ptr<ClusterStage>> parts_;
  RulesConfig rules_;
  DurationMs sweep_interval_ = kDayMs;
  MemKvStore store_;
  std::unique_ptr<RiskAreaTable> areas_;
  std::unique_ptr<PersonRegistry> registry_;
  std::unique_ptr<PersonStage> person_;
  std::unique_ptr<ClusterStage> cluster_;
  ClusterRecordBuffer records_;
  std::vector<Alert> alerts_;
  std::vector<Alert> person_alerts_;
  TimestampMs wm_ = kMinTimestamp;
  TimestampMs max_ts_ = kMinTimestamp;
  int too_late_ = 0;
};

// Background fever persons: home venues 7, 31, 17, 43, 1, 11 of 60.
const std::vector<int> kBackground = {7, 331, 977, 1543, 2101, 2711};

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
