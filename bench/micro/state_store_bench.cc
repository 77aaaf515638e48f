// State store micro benchmark: the person stage's access pattern (read a
// person's state, write it back, checkpoint every 10k events) on RocksKvStore
// and, for comparison, MemKvStore; plus 1k-key range scans (window and index
// reads). Each store is preloaded once with 1M keys of 200 B.
//
//   ./build/bench/state_store_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "engine/engine_config.h"
#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"

namespace epistream {
namespace {

constexpr uint32_t kKeys = 1'000'000;
constexpr size_t kValueBytes = 200;
constexpr uint64_t kOpsPerCommit = 10'000;
constexpr int kScanKeys = 1000;

std::string Key(uint32_t i) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "person/%08u", i);
  return buf;
}

// A preloaded store and the temp dir it lives in (removed after the store).
struct Loaded {
  std::string dir;
  std::unique_ptr<KvStore> store;
  ~Loaded() {
    store.reset();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

void Preload(KvStore& store) {
  const std::string value(kValueBytes, 'v');
  for (uint32_t i = 0; i < kKeys; ++i) {
    store.Put(Key(i), value);
    if ((i + 1) % kOpsPerCommit == 0 && !store.Commit().ok()) std::abort();
  }
  if (!store.Commit().ok()) std::abort();
}

// Built on first use; only one store is alive at a time to keep memory down.
std::unique_ptr<Loaded> g_loaded;
bool g_loaded_is_rocks = false;

KvStore& Store(bool rocks) {
  if (g_loaded && g_loaded_is_rocks == rocks) return *g_loaded->store;
  g_loaded.reset();
  auto loaded = std::make_unique<Loaded>();
  if (rocks) {
    loaded->dir =
        (std::filesystem::temp_directory_path() / "epistream-bench-XXXXXX")
            .string();
    if (mkdtemp(loaded->dir.data()) == nullptr) std::abort();
    auto opened = RocksKvStore::Open(loaded->dir, StateConfig{});
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
      std::abort();
    }
    loaded->store = std::move(opened).value();
  } else {
    loaded->store = std::make_unique<MemKvStore>();
  }
  Preload(*loaded->store);
  g_loaded = std::move(loaded);
  g_loaded_is_rocks = rocks;
  return *g_loaded->store;
}

// Get + Put of a uniformly random key; Commit every 10k operations.
void BM_GetPut(benchmark::State& state, bool rocks) {
  KvStore& store = Store(rocks);
  std::mt19937 rng(42);
  std::uniform_int_distribution<uint32_t> pick(0, kKeys - 1);
  std::string value;
  uint64_t ops = 0;
  for (auto _ : state) {
    const std::string key = Key(pick(rng));
    bool found = false;
    if (!store.Get(key, &value, &found).ok() || !found)
      state.SkipWithError("get failed");
    value[0] = static_cast<char>(value[0] + 1);
    store.Put(key, value);
    if (++ops % kOpsPerCommit == 0 && !store.Commit().ok())
      state.SkipWithError("commit failed");
  }
  if (!store.Commit().ok()) state.SkipWithError("commit failed");
  state.SetItemsProcessed(state.iterations());
}

// 1k consecutive keys from a random start, bounded like a prefix scan.
void BM_Scan1k(benchmark::State& state, bool rocks) {
  KvStore& store = Store(rocks);
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> pick(0, kKeys - kScanKeys);
  size_t bytes = 0;
  for (auto _ : state) {
    const uint32_t begin = pick(rng);
    int seen = 0;
    const Status st = store.Scan(Key(begin), Key(begin + kScanKeys),
                                 [&](std::string_view k, std::string_view v) {
                                   bytes += k.size() + v.size();
                                   ++seen;
                                   return true;
                                 });
    if (!st.ok() || seen != kScanKeys) state.SkipWithError("scan failed");
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations() * kScanKeys);
}

BENCHMARK_CAPTURE(BM_GetPut, rocks, true);
BENCHMARK_CAPTURE(BM_Scan1k, rocks, true);
BENCHMARK_CAPTURE(BM_GetPut, mem, false);
BENCHMARK_CAPTURE(BM_Scan1k, mem, false);

}  // namespace
}  // namespace epistream
