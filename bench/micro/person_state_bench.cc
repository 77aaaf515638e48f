// PersonState encode/decode micro benchmark: the cost of writing a person
// back at a checkpoint (Encode) and of loading one on a cache miss (Decode),
// for a light person (2 days of routine), a typical one (a week) and a heavy
// one (three weeks with a trip, quarantine and fevers), none with presence
// spans; and (BM_EncodeCity, BM_DecodeCity) the average person of the e2e
// bench's city at the end of its run, spans included.
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

// The e2e bench's average person after its 2 days (1M persons; measured
// over the final state directory: 5.3 trail visits, 7.1 seen events, 0.5
// tests, 5.9 presence spans, 3.9 of them keyed by a venue; 213 bytes in
// encoding v3): home and school twice, a market once, a test site scan.
PersonState MakeCityState() {
  PersonState s;
  const TimestampMs t0 = 1663603200000;  // 2022-09-20
  const struct {
    TimestampMs ts;
    const char* venue;
    VenueKind kind;
  } kVisits[] = {{t0 + 7 * kHourMs + 9123, "sch-213", VenueKind::kSchool},
                 {t0 + 19 * kHourMs + 2456, "res-548", VenueKind::kResidential},
                 {t0 + kDayMs + 7 * kHourMs + 1789, "sch-213", VenueKind::kSchool},
                 {t0 + kDayMs + 12 * kHourMs + 45012, "mkt-77", VenueKind::kMarket},
                 {t0 + kDayMs + 16 * kHourMs + 58321, "res-548", VenueKind::kResidential}};
  int n = 0;
  for (const auto& v : kVisits) {
    s.trail.push_back({v.ts, v.venue, v.kind});
    const std::string id = Cat({"s0-760676-", std::to_string(n++)});
    s.seen.push_back({EventIdHash(EventType::kScan, id), v.ts});
  }
  const TimestampMs test = t0 + kDayMs + 7 * kHourMs + 31245;
  s.tests.push_back(test);
  s.seen.push_back({EventIdHash(EventType::kScan, "s0-760676-9"), test});
  s.seen.push_back({EventIdHash(EventType::kScan, "s0-760676-8"), test + 61000});
  s.last_ts = kVisits[4].ts;
  // The city-wide active tracks (no key), then one span per venue.
  s.presence.push_back({"", kVisits[0].ts, s.last_ts, 0, false});
  s.presence.push_back({"", kVisits[0].ts, s.last_ts, 1, false});
  s.presence.push_back({"sch-213", kVisits[0].ts, kVisits[2].ts, 4, false});
  s.presence.push_back({"res-548", kVisits[1].ts, kVisits[4].ts, 4, false});
  s.presence.push_back({"mkt-77", kVisits[3].ts, kVisits[3].ts, 4, false});
  s.presence.push_back({"tst-3", test, test, 4, false});
  s.presence_timer = kVisits[0].ts + 3 * kDayMs;
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

void BM_EncodeCity(benchmark::State& state) {
  const PersonState s = MakeCityState();
  std::string out;
  for (auto _ : state) {
    s.Encode(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["encoded_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_EncodeCity);

void BM_DecodeCity(benchmark::State& state) {
  std::string bytes;
  MakeCityState().Encode(&bytes);
  PersonState s;
  for (auto _ : state) {
    if (!s.Decode(bytes).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(&s);
  }
}
BENCHMARK(BM_DecodeCity);

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
