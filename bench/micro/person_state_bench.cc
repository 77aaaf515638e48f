// PersonState encode/decode micro benchmark: the cost of writing a person
// back at a checkpoint (Encode) and of loading one on a cache miss (Decode),
// for a light person (2 days of routine), a typical one (a week) and a heavy
// one (three weeks with a trip, quarantine and fevers).
//
//   ./build/bench/person_state_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "operators/person_state.h"

namespace epistream {
namespace {

// Concatenation by append (GCC 12 warns falsely on "lit" + std::string).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

PersonState MakeState(int days) {
  PersonState s;
  const TimestampMs t0 = 1663603200000;  // 2022-09-20
  s.last_ts = t0 + days * kDayMs;
  for (int d = 0; d < days; ++d) {
    for (int k = 0; k < 4; ++k) {
      const TimestampMs ts = t0 + d * kDayMs + k * 3 * kHourMs;
      const std::string id =
          Cat({"s", std::to_string(d), "-123456-", std::to_string(k)});
      s.seen.push_back({EventIdHash(EventType::kScan, id), ts});
      if (d >= days - 7 && k < 3) {
        s.trail.push_back({ts, Cat({"rst-", std::to_string(100 + k * 7 + d)}),
                           VenueKind::kRestaurant});
      }
      if (k == 3) s.tests.push_back(ts);
    }
    s.day_flags.push_back({19255 + d, kFlagCodeYellow});
  }
  if (days >= 14) {
    EntryRecord e;
    e.ts = t0 + kDayMs;
    e.event_id = "t1-123456-9";
    e.hub_id = "hub-rail-0";
    e.regions = {"420106", "420106001"};
    s.entries.push_back(e);
    s.exposures.push_back(
        {"4201", e.ts, e.event_id, RiskLevel::kHigh, "risk7-list", e.ts});
    s.quarantines.push_back({e.ts, e.ts + 7 * kDayMs, e.event_id});
    s.fevers.push_back({t0 + 3 * kDayMs, "f3-123456-1", "fc-2", 38.4, true});
  }
  return s;
}

void BM_Encode(benchmark::State& state) {
  const PersonState s = MakeState(static_cast<int>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    s.Encode(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * out.size()));
  state.counters["encoded_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_Encode)->Arg(2)->Arg(7)->Arg(21);

void BM_Decode(benchmark::State& state) {
  std::string bytes;
  MakeState(static_cast<int>(state.range(0))).Encode(&bytes);
  PersonState s;
  for (auto _ : state) {
    if (!s.Decode(bytes).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(&s);
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * bytes.size()));
  state.counters["decoded_bytes"] = static_cast<double>(s.MemoryBytes());
}
BENCHMARK(BM_Decode)->Arg(2)->Arg(7)->Arg(21);

// Prune with nothing to drop (the common case at a checkpoint) and MarkSeen
// of a new event id (the dedupe check of every event).
void BM_PruneNothing(benchmark::State& state) {
  PersonState s = MakeState(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    s.Prune(0, 0);
    benchmark::DoNotOptimize(&s);
  }
}
BENCHMARK(BM_PruneNothing)->Arg(2)->Arg(7)->Arg(21);

void BM_MarkSeenNew(benchmark::State& state) {
  const PersonState base = MakeState(static_cast<int>(state.range(0)));
  PersonState s = base;
  uint64_t h = 1;
  for (auto _ : state) {
    if (s.seen.size() > base.seen.size() + 64) {
      state.PauseTiming();
      s = base;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(s.MarkSeen(h++ * 0x9e3779b97f4a7c15ull, 0));
  }
}
BENCHMARK(BM_MarkSeenNew)->Arg(2)->Arg(7)->Arg(21);

}  // namespace
}  // namespace epistream
