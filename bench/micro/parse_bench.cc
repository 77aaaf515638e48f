// EventParser and dead-letter micro benchmarks: ns per message for typical
// events (a ~150-byte Kafka scan is the hot case; target < 400 ns), rejected
// messages, and building a dead letter. `allocs_per_msg` counts global
// operator new calls inside the timed loop (expected 0 once warm).
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "operators/dead_letter.h"
#include "operators/event_parser.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

__attribute__((noinline)) void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Not inlined: GCC would otherwise pair an inlined malloc()/free() with the
// other side and warn (-Wmismatched-new-delete) although both are ours.
__attribute__((noinline)) void operator delete(void* p) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace epistream {
namespace {

// 151 bytes: a Kafka scan (the topic gives the type).
constexpr std::string_view kScan =
    R"({"event_id":"s-00012345","ts":"2022-09-20T08:15:03.123+08:00","person_id":"p-0004567",)"
    R"("venue_id":"v-001234","code_color":"green","venue_kind":"market"})";
constexpr std::string_view kScanEpochMs =
    R"({"event_id":"s-00012345","ts":1663632903123,"person_id":"p-0004567",)"
    R"("venue_id":"v-001234","code_color":"green","venue_kind":"market"})";
constexpr std::string_view kScanLine =
    R"({"type":"scan","event_id":"s-00012345","ts":"2022-09-20T08:15:03.123+08:00",)"
    R"("person_id":"p-0004567","venue_id":"v-001234","code_color":"green","venue_kind":"market",)"
    R"("region":"420106","app_version":"3.2.1"})";
constexpr std::string_view kTransport =
    R"({"event_id":"t-00012345","ts":"2022-09-20T08:15:03.123+08:00","person_id":"p-0004567",)"
    R"("hub_id":"wuhan-rail-3","mode":"rail","origin_region":"420106",)"
    R"("trip_regions":["420106","420111","110105"],"category":"domestic"})";
constexpr std::string_view kFever =
    R"({"event_id":"f-00012345","ts":"2022-09-20T08:15:03.123+08:00","person_id":"p-0004567",)"
    R"("clinic_id":"clinic-17","temp_c":38.4,"symptoms":["cough","fatigue"],)"
    R"("community_id":"grid-0042"})";
constexpr std::string_view kMissingVenue =
    R"({"event_id":"s-00012345","ts":"2022-09-20T08:15:03.123+08:00","person_id":"p-0004567",)"
    R"("code_color":"green","venue_kind":"market"})";

void RunParse(benchmark::State& state, std::string_view json,
              std::optional<EventType> type, bool expect_ok) {
  EventParser parser;
  Event event;
  std::string reason;
  if (parser.Parse(json, type, &event, &reason) != expect_ok) {
    state.SkipWithError(("unexpected parse result: " + reason).c_str());
    return;
  }
  const int64_t allocations_before = g_allocations.load();
  for (auto _ : state) {
    bool ok = parser.Parse(json, type, &event, &reason);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(event);
  }
  state.counters["allocs_per_msg"] =
      static_cast<double>(g_allocations.load() - allocations_before) /
      static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(json.size()));
  state.counters["msg_bytes"] = static_cast<double>(json.size());
  // On-demand is compiled for one kernel (no runtime dispatch): "fallback"
  // unless the build targets AVX2 (haswell) or better.
  state.SetLabel(SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION));
}

void ParseScan(benchmark::State& state) {
  RunParse(state, kScan, EventType::kScan, true);
}
void ParseScanEpochMs(benchmark::State& state) {
  RunParse(state, kScanEpochMs, EventType::kScan, true);
}
void ParseScanJsonLine(benchmark::State& state) {
  RunParse(state, kScanLine, std::nullopt, true);
}
void ParseTransport(benchmark::State& state) {
  RunParse(state, kTransport, EventType::kTransport, true);
}
void ParseFever(benchmark::State& state) {
  RunParse(state, kFever, EventType::kFever, true);
}
void ParseRejectMissingField(benchmark::State& state) {
  RunParse(state, kMissingVenue, EventType::kScan, false);
}
void ParseRejectBadJson(benchmark::State& state) {
  std::string json(kScan);
  json.back() = ',';
  RunParse(state, json, EventType::kScan, false);
}

void BuildDeadLetter(benchmark::State& state) {
  DeadLetter letter;
  letter.reason = "missing_field:venue_id";
  letter.topic = "epi.scans";
  letter.partition = 3;
  letter.offset = 123456789;
  letter.original = std::string(kMissingVenue);
  const int64_t allocations_before = g_allocations.load();
  for (auto _ : state) {
    std::string json = DeadLetterToJson(letter);
    benchmark::DoNotOptimize(json);
  }
  state.counters["allocs_per_msg"] =
      static_cast<double>(g_allocations.load() - allocations_before) /
      static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(ParseScan);
BENCHMARK(ParseScanEpochMs);
BENCHMARK(ParseScanJsonLine);
BENCHMARK(ParseTransport);
BENCHMARK(ParseFever);
BENCHMARK(ParseRejectMissingField);
BENCHMARK(ParseRejectBadJson);
BENCHMARK(BuildDeadLetter);

}  // namespace
}  // namespace epistream
