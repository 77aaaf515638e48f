// Checkpoint micro benchmark: PersonCache::Flush of N dirty states (the
// part of a checkpoint that every event arriving meanwhile waits for), as
// in Kafka mode at 100k events/s: ~60k persons touched per second among
// 100k, ids "P<n>" over 32 partitions, evicted to the encoded tier.
//
//   ./build/bench/checkpoint_bench
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "engine/engine_config.h"
#include "engine/rocks_kv_store.h"
#include "operators/person_cache.h"

namespace epistream {
namespace {

constexpr uint32_t kPersons = 100'000;
constexpr uint16_t kPartitions = 32;

void BM_PersonCacheFlush(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "epistream-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) std::abort();
  {
    auto opened = RocksKvStore::Open(dir, StateConfig{});
    if (!opened.ok()) std::abort();
    std::unique_ptr<RocksKvStore> store = std::move(opened).value();
    PersonCache cache(store.get(), 1024, 0, size_t{192} << 20);
    std::mt19937 rng(5);
    std::uniform_int_distribution<uint32_t> pick(0, kPersons - 1);
    const auto dirty = static_cast<uint32_t>(state.range(0));
    TimestampMs ts = 0;
    for (auto _ : state) {
      state.PauseTiming();
      for (uint32_t i = 0; i < dirty; ++i) {
        const uint32_t n = pick(rng);
        char id[16];
        const int len = std::snprintf(id, sizeof(id), "P%u", n);
        auto got = cache.Get(static_cast<uint16_t>(n % kPartitions),
                             std::string_view(id, static_cast<size_t>(len)));
        if (!got.ok()) std::abort();
        // ~20 test scans: a state of ~100 encoded bytes.
        PersonState* s = *got;
        if (s->tests.size() >= 20) s->tests.erase(s->tests.begin());
        s->tests.push_back(ts += 1000);
      }
      state.ResumeTiming();
      if (!cache.Flush().ok()) std::abort();
      state.PauseTiming();
      if (!store->Commit().ok()) std::abort();
      state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * dirty);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

BENCHMARK(BM_PersonCacheFlush)->Arg(10'000)->Arg(60'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace epistream
