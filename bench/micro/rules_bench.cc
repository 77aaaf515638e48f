// Person rules micro benchmark: one event through PersonStage (cache hit,
// dedupe, windows, every rule the event type triggers) on MemKvStore, per
// rule path; the stage flushes and the store commits every 10k events, as a
// checkpoint would. 10k persons, event time advancing by 1 s per event, so
// that the once-per-day rules fire on every event of the paths that alert.
//
//   ./build/bench/rules_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "operators/person_stage.h"

namespace epistream {
namespace {

constexpr int kPersons = 10000;
constexpr TimestampMs kT0 = 1663603200000;  // 2022-09-20T00:00+08:00
constexpr uint64_t kCheckpointEvery = 10000;

std::string Id(const char* prefix, uint64_t i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

class Harness {
 public:
  Harness() {
    areas_ = std::make_unique<RiskAreaTable>(&store_);
    registry_ = std::make_unique<PersonRegistry>(&store_);
    stage_ = std::make_unique<PersonStage>(PersonStageOptions(), &store_,
                                           areas_.get(), registry_.get());
    if (!stage_->AddPartition(0, &alerts_).ok()) std::abort();
  }

  void List(const std::string& region, RiskLevel level, TimestampMs ts) {
    Event e;
    e.type = EventType::kRiskArea;
    e.event_id = Id("list-", 0) + region;
    e.region = region;
    e.level = level;
    e.ts = ts;
    e.has_ts = true;
    if (areas_->Apply(e) && !stage_->OnListing(e, &alerts_).ok()) std::abort();
  }
  void Register(const std::string& person, Occupation occupation) {
    Event e;
    e.type = EventType::kPerson;
    e.person_id = person;
    e.occupation = occupation;
    registry_->Apply(e);
  }
  void Feed(const Event& e) {
    bool duplicate = false;
    if (!stage_->OnEvent(e, 0, &duplicate, &alerts_).ok()) std::abort();
    last_ts_ = std::max(last_ts_, e.ts);
    if (++since_checkpoint_ >= kCheckpointEvery) Checkpoint();
  }
  // As the engine: the watermark follows event time (5 min behind), so
  // retention prunes the windows, then the stage flushes and commits.
  void Checkpoint() {
    if (last_ts_ != kMinTimestamp &&
        !stage_->OnWatermark(last_ts_ - 5 * kMinuteMs, &alerts_).ok()) {
      std::abort();
    }
    if (!stage_->Flush().ok() || !store_.Commit().ok()) std::abort();
    alerts_emitted_ += alerts_.size();
    alerts_.clear();
    since_checkpoint_ = 0;
  }
  uint64_t alerts() const { return alerts_emitted_ + alerts_.size(); }
  PersonStage& stage() { return *stage_; }
  std::vector<Alert>* pending() { return &alerts_; }

 private:
  MemKvStore store_;
  std::unique_ptr<RiskAreaTable> areas_;
  std::unique_ptr<PersonRegistry> registry_;
  std::unique_ptr<PersonStage> stage_;
  std::vector<Alert> alerts_;
  uint64_t since_checkpoint_ = 0;
  uint64_t alerts_emitted_ = 0;
  TimestampMs last_ts_ = kMinTimestamp;
};

Event Scan(uint64_t i, CodeColor color, VenueKind kind) {
  Event e;
  e.type = EventType::kScan;
  e.event_id = Id("s", i);
  e.person_id = Id("P", i % kPersons);
  e.ts = kT0 + static_cast<TimestampMs>(i) * kSecondMs;
  e.has_ts = true;
  e.venue_id = Id("rst-", i % 997);
  e.venue_kind = kind;
  e.code_color = color;
  return e;
}

void Report(benchmark::State& state, const Harness& h) {
  state.counters["alerts_per_event"] =
      static_cast<double>(h.alerts()) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// A green scan at a restaurant: dedupe, venue trail, quarantine and
// abnormal-code checks; no alert.
void BM_ScanGreen(benchmark::State& state) {
  Harness h;
  uint64_t i = 0;
  for (auto _ : state)
    h.Feed(Scan(i++, CodeColor::kGreen, VenueKind::kRestaurant));
  Report(state, h);
}
BENCHMARK(BM_ScanGreen);

// abnormal_code_at_venue: a yellow code at a restaurant (once per person
// and local day; 10k persons and 1 s per event make it fire on each).
void BM_AbnormalCode(benchmark::State& state) {
  Harness h;
  uint64_t i = 0;
  for (auto _ : state)
    h.Feed(Scan(i++ * 9, CodeColor::kYellow, VenueKind::kRestaurant));
  Report(state, h);
}
BENCHMARK(BM_AbnormalCode);

// quarantine_breach: persons in home quarantine (inbound_released arrival)
// scanning at a mall.
void BM_QuarantineBreach(benchmark::State& state) {
  Harness h;
  for (int p = 0; p < kPersons; ++p) {
    Event e;
    e.type = EventType::kTransport;
    e.event_id = Id("in", static_cast<uint64_t>(p));
    e.person_id = Id("P", static_cast<uint64_t>(p));
    e.ts = kT0 - kHourMs;
    e.has_ts = true;
    e.hub_id = "hub-air-0";
    e.mode = TransportMode::kAir;
    e.origin_region = "US";
    e.category = TravelCategory::kInboundReleased;
    h.Feed(e);
  }
  h.Checkpoint();
  const uint64_t base = h.alerts();
  uint64_t i = 0;
  for (auto _ : state)
    h.Feed(Scan(i++ * 9, CodeColor::kGreen, VenueKind::kMall));
  state.counters["alerts_per_event"] = static_cast<double>(h.alerts() - base) /
                                       static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_QuarantineBreach);

// returnee_risk_area: arrivals from listed areas (64 listed districts; a
// person alerts once per area, so each round of 10k uses the next area).
void BM_ReturneeRiskArea(benchmark::State& state) {
  Harness h;
  std::vector<std::string> areas;
  for (int a = 0; a < 64; ++a) {
    areas.push_back(std::to_string(420100 + a));
    h.List(areas.back(), a % 3 == 0 ? RiskLevel::kHigh : RiskLevel::kMedium,
           kT0 - kDayMs);
  }
  uint64_t i = 0;
  for (auto _ : state) {
    Event e;
    e.type = EventType::kTransport;
    e.event_id = Id("t", i);
    e.person_id = Id("P", i % kPersons);
    e.ts = kT0 + static_cast<TimestampMs>(i) * kSecondMs;
    e.has_ts = true;
    e.hub_id = "hub-rail-0";
    e.origin_region = areas[(i / kPersons) % areas.size()];
    e.trip_regions = {e.origin_region + "001"};
    h.Feed(e);
    ++i;
  }
  Report(state, h);
}
BENCHMARK(BM_ReturneeRiskArea);

// fever_key_worker: fever visits of registered medical workers.
void BM_FeverKeyWorker(benchmark::State& state) {
  Harness h;
  for (int p = 0; p < kPersons; ++p)
    h.Register(Id("P", static_cast<uint64_t>(p)), Occupation::kMedical);
  uint64_t i = 0;
  for (auto _ : state) {
    Event e;
    e.type = EventType::kFever;
    e.event_id = Id("f", i);
    e.person_id = Id("P", i % kPersons);
    e.ts = kT0 + static_cast<TimestampMs>(i) * kSecondMs;
    e.has_ts = true;
    e.clinic_id = "fc-1";
    e.temp_c = 38.2;
    e.community_id = "c-1";
    h.Feed(e);
    ++i;
  }
  Report(state, h);
}
BENCHMARK(BM_FeverKeyWorker);

// A retroactive listing: OnListing over N indexed arrivals from the area
// (each iteration a fresh area with N fresh arrivals, set up untimed).
void BM_RetroactiveListing(benchmark::State& state) {
  Harness h;
  const auto n = static_cast<uint64_t>(state.range(0));
  uint64_t area = 0;
  uint64_t event = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string region = std::to_string(100000 + area++);
    for (uint64_t k = 0; k < n; ++k) {
      Event e;
      e.type = EventType::kTransport;
      e.event_id = Id("t", event);
      e.person_id = Id("P", event % kPersons);
      e.ts = kT0 + static_cast<TimestampMs>(event++) * kSecondMs;
      e.has_ts = true;
      e.hub_id = "hub-rail-0";
      e.origin_region = region;
      h.Feed(e);
    }
    state.ResumeTiming();
    h.List(region, RiskLevel::kMedium,
           kT0 + static_cast<TimestampMs>(event) * kSecondMs);
  }
  state.counters["alerts_per_listing"] =
      static_cast<double>(h.alerts()) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RetroactiveListing)->Arg(10)->Arg(100);

}  // namespace
}  // namespace epistream
