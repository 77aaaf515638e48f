// ClusterCityTest: the person stage and the cluster stage on an in-memory
// store, wired as CityPipeline wires them (records drained after each call;
// person timers before cluster timers), fed small synthetic cities. Shared by
// the cluster stage tests (contract rule and rules.cluster_method options):
// one fixture, so both test files exercise the same wiring.
//
// With q_count_ > 0 the records go through their wire form and the
// repartition router to Q partition stages instead of the one stage.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mem_kv_store.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/cluster/repartition_router.h"
#include "operators/person_registry.h"
#include "operators/person_stage.h"
#include "operators/risk_area_table.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace cluster_city {

constexpr DurationMs kOutOfOrder = 5 * kMinuteMs;
constexpr int kTz = 8 * 60;

// 2022-09-01T00:00:00+08:00 plus days and hours.
inline TimestampMs At(int day, double hours = 0) {
  return *ParseRfc3339("2022-09-01T00:00:00+08:00") + day * kDayMs +
         static_cast<TimestampMs>(hours * kHourMs);
}

inline std::string P(int i) {
  std::string s = "b";
  s.append(std::to_string(i));
  return s;
}

inline std::string V(int i) {
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

inline ClusterFields Fields(const Alert& a) {
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

// One call the fixture made on its (single) cluster stage, for replays
// (ClusterWorker tests): a record, a registration or a watermark, with the
// alerts that call produced.
struct ClusterCall {
  enum Kind { kRecord, kRegistration, kWatermark } kind = kRecord;
  ClusterRecord record;
  std::string before, after;
  TimestampMs wm = 0;
  size_t alerts_before = 0;  // alerts_.size() before the call
  size_t alerts_after = 0;
};

class ClusterCityTest : public ::testing::Test {
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
        if (calls_ != nullptr) {
          calls_->push_back({ClusterCall::kRecord, records_[i], {}, {}, 0, 0, 0});
        }
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
      const size_t before = alerts_.size();
      ASSERT_OK(cluster_->OnWatermark(wm_, &alerts_));
      if (calls_ != nullptr) {
        calls_->push_back({ClusterCall::kWatermark, {}, {}, {}, wm_, before, alerts_.size()});
      }
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
    Event e = testing::MakePersonRecord(person, community);
    e.event_id = "reg-" + person;
    std::string before;
    registry_->Apply(e, &before);
    ASSERT_OK(cluster_->OnRegistration(before, community));
    if (calls_ != nullptr) {
      calls_->push_back({ClusterCall::kRegistration, {}, before, community, 0, 0, 0});
    }
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
  // When set, every call on cluster_ is logged here (single stage only).
  std::vector<ClusterCall>* calls_ = nullptr;
  TimestampMs wm_ = kMinTimestamp;
  TimestampMs max_ts_ = kMinTimestamp;
  int too_late_ = 0;
};

// Background fever persons: home venues 7, 31, 17, 43, 1, 11 of 60.
inline const std::vector<int> kBackground = {7, 331, 977, 1543, 2101, 2711};

}  // namespace cluster_city
}  // namespace epistream
