// Checkpoint cost of the cluster stage's counters (issue #5) against the
// number of pending stamps: a counter holding N stamps over two days gets
// 100 changed stamps near its front (one 15-minute bucket: 100 new stamps,
// cancelled again by the next iteration), then is written the way a
// checkpoint writes it.
//   CounterFlat      the flat encoding (every stamp: the cost model of the
//                    code before the buckets)
//   CounterChunked   CaseWindow's chunked encoding (touched bucket
//                    re-encoded, the others' cached bytes copied)
//   AggregateFlush   GlobalAggregate::Flush + Commit on MemKvStore (one
//                    key per touched bucket)
// and CounterAdd: Add in the order a merger of 32 partitions delivers (each
// partition in time order, the partitions up to 10 min apart), next to
// MapAdd, the std::map of stamps it replaced.
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/mem_kv_store.h"
#include "operators/cluster/delta_counter.h"
#include "operators/cluster/global_aggregate.h"

namespace epistream {
namespace {

constexpr TimestampMs kT0 = 19000 * kDayMs;
constexpr DurationMs kSpan = 2 * kDayMs;

// n stamps spread over two days, in interleaved partition order.
std::vector<TimestampMs> Stamps(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  constexpr int kPartitions = 32;
  std::vector<TimestampMs> out;
  out.reserve(n);
  const DurationMs step = kSpan / static_cast<DurationMs>(n / kPartitions + 1);
  for (size_t i = 0; i < n; ++i) {
    const auto p = static_cast<DurationMs>(rng() % kPartitions);
    const TimestampMs t =
        kT0 + static_cast<TimestampMs>(i / kPartitions) * step;
    out.push_back(t + p * (10 * kMinuteMs) / kPartitions +
                  static_cast<TimestampMs>(rng() % 1000));
  }
  return out;
}

// 100 stamps one second apart in the bucket after the filled span.
constexpr TimestampMs kFront = kT0 + kSpan + 1;
void Touch100(DeltaCounter& c, int64_t sign) {
  for (int i = 0; i < 100; ++i) c.Add(kFront + i * kSecondMs, sign);
}

DeltaCounter Filled(size_t n) {
  DeltaCounter c;
  for (TimestampMs ts : Stamps(n, 1)) c.Add(ts, 1);
  return c;
}

// A checkpoint of one counter: 100 stamps changed, then the whole record
// encoded, flat (Encode, every stamp) or chunked (EncodeChunked, unchanged
// buckets copied).
template <bool kChunked>
void CounterCheckpoint(benchmark::State& state) {
  DeltaCounter c = Filled(static_cast<size_t>(state.range(0)));
  std::string out;
  int64_t sign = 1;
  for (auto _ : state) {
    Touch100(c, sign);
    sign = -sign;
    out.clear();
    ByteWriter w(&out);
    if constexpr (kChunked) {
      c.EncodeChunked(&w);
    } else {
      c.Encode(&w);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
void CounterFlat(benchmark::State& state) { CounterCheckpoint<false>(state); }
void CounterChunked(benchmark::State& state) { CounterCheckpoint<true>(state); }
BENCHMARK(CounterFlat)->Arg(10000)->Arg(100000)->Arg(1000000);
BENCHMARK(CounterChunked)->Arg(10000)->Arg(100000)->Arg(1000000);

void AggregateFlush(benchmark::State& state) {
  MemKvStore store;
  GlobalAggregate agg(&store, "GC");
  if (!agg.Load().ok()) state.SkipWithError("load");
  for (TimestampMs ts : Stamps(static_cast<size_t>(state.range(0)), 1))
    agg.Add(CityCounter::kActiveCase, ts, 1);
  agg.Flush();
  if (!store.Commit().ok()) state.SkipWithError("commit");
  int64_t sign = 1;
  size_t staged = 0;
  for (auto _ : state) {
    for (int i = 0; i < 100; ++i)
      agg.Add(CityCounter::kActiveCase, kFront + i * kSecondMs, sign);
    sign = -sign;
    agg.Flush();
    staged = store.StagedBytes();
    if (!store.Commit().ok()) state.SkipWithError("commit");
  }
  state.counters["staged_bytes"] = static_cast<double>(staged);
}
BENCHMARK(AggregateFlush)->Arg(10000)->Arg(100000)->Arg(1000000);

void CounterAdd(benchmark::State& state) {
  const std::vector<TimestampMs> stamps =
      Stamps(static_cast<size_t>(state.range(0)), 2);
  for (auto _ : state) {
    DeltaCounter c;
    for (TimestampMs ts : stamps) c.Add(ts, 1);
    benchmark::DoNotOptimize(c.pending());
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(stamps.size()));
}
BENCHMARK(CounterAdd)->Arg(100000)->Arg(1000000);

// The reference: what Add cost before the buckets (one std::map of stamps).
void MapAdd(benchmark::State& state) {
  const std::vector<TimestampMs> stamps =
      Stamps(static_cast<size_t>(state.range(0)), 2);
  for (auto _ : state) {
    std::map<TimestampMs, int64_t> m;
    for (TimestampMs ts : stamps) {
      auto [it, inserted] = m.try_emplace(ts, 1);
      if (!inserted && ++it->second == 0) m.erase(it);
    }
    benchmark::DoNotOptimize(m.size());
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(stamps.size()));
}
BENCHMARK(MapAdd)->Arg(100000)->Arg(1000000);

}  // namespace
}  // namespace epistream
