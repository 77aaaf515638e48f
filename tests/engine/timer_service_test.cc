// TimerService keeps only the head of its queue in memory (engine/timer_service.h).
// These tests hold it to the behaviour of "every timer in one ordered set":
// the same timers fire in the same order, next_due() is exact, restarts
// resume, and memory stays within about two chunks however many are pending.

#include "engine/timer_service.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/forwarding_kv_store.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

std::string K(int64_t i) { return testing::Num("k", i); }

std::vector<Timer> PopAll(TimerService* t, TimestampMs wm) {
  std::vector<Timer> out;
  Timer x;
  while (t->PopDue(wm, &x)) out.push_back(x);
  return out;
}

// What a new service over `store` (as after a restart) fires up to `wm`.
std::vector<Timer> ReloadAndPopAll(KvStore* store, size_t chunk, TimestampMs wm) {
  TimerService reloaded(store, "T", chunk);
  EXPECT_OK(reloaded.Load());
  return PopAll(&reloaded, wm);
}

TEST(TimerServiceTest, FiresInOrderAcrossChunks) {
  MemKvStore store;
  TimerService t(&store, "T", /*chunk=*/4);
  ASSERT_OK(t.Load());
  // Scheduled in reverse so every one lands out of order.
  for (int i = 99; i >= 0; --i) t.Schedule(1000 + i / 3, static_cast<uint8_t>(i % 2), K(i));
  EXPECT_LE(t.size(), 2u * 4u + 1u);
  EXPECT_FALSE(t.all_loaded());
  EXPECT_EQ(t.next_due(), 1000);
  const std::vector<Timer> fired = PopAll(&t, 2000);
  ASSERT_EQ(fired.size(), 100u);
  for (size_t i = 1; i < fired.size(); ++i) EXPECT_TRUE(fired[i - 1] < fired[i]) << i;
  EXPECT_EQ(t.next_due(), INT64_MAX);
  ASSERT_OK(t.status());
}

TEST(TimerServiceTest, ScheduleTwiceKeepsOneEvenBeyondTheHead) {
  MemKvStore store;
  TimerService t(&store, "T", 2);
  ASSERT_OK(t.Load());
  for (int i = 0; i < 10; ++i) t.Schedule(100 + i, 0, "a");
  ASSERT_FALSE(t.all_loaded());
  t.Schedule(109, 0, "a");  // beyond the head: store only
  t.Schedule(100, 0, "a");  // in the head
  const std::vector<Timer> fired = PopAll(&t, 1000);
  ASSERT_EQ(fired.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fired[i].when, 100 + i);
}

// Deferred writes (the cluster stage on its own thread): nothing reaches
// the store before Flush, every timer stays in memory whatever the chunk,
// and after Flush + Commit the store holds exactly the pending timers.
TEST(TimerServiceTest, DeferredWritesReachTheStoreOnlyAtFlush) {
  MemKvStore store;
  TimerService t(&store, "T", 2);
  t.DeferWrites();
  ASSERT_OK(t.Load());
  for (int i = 0; i < 20; ++i) t.Schedule(100 + i, 0, K(i));
  t.Cancel(105, 0, K(5));
  EXPECT_TRUE(t.all_loaded()) << "deferred: no timer left only in the store";
  EXPECT_EQ(t.size(), 19u);
  EXPECT_EQ(store.StagedBytes(), 0u);
  Timer x;
  ASSERT_TRUE(t.PopDue(100, &x));
  EXPECT_EQ(x.when, 100);
  EXPECT_EQ(store.StagedBytes(), 0u);
  t.Flush();
  ASSERT_OK(store.Commit());
  t.Schedule(50, 0, "late");  // after the flush: pending until the next one
  const std::vector<Timer> fired = ReloadAndPopAll(&store, 2, 1000);
  ASSERT_EQ(fired.size(), 18u);
  EXPECT_EQ(fired.front().when, 101);
  EXPECT_EQ(fired.back().when, 119);
  t.Flush();
  ASSERT_OK(store.Commit());
  TimerService again(&store, "T", 2);
  ASSERT_OK(again.Load());
  EXPECT_EQ(again.next_due(), 50);
}

TEST(TimerServiceTest, CancelBeyondTheHeadRemovesTheStoredTimer) {
  MemKvStore store;
  TimerService t(&store, "T", 2);
  ASSERT_OK(t.Load());
  for (int i = 0; i < 10; ++i) t.Schedule(100 + i, 0, K(i));
  ASSERT_LT(t.loaded_until(), 109);
  t.Cancel(109, 0, "k9");
  t.Cancel(100, 0, "k0");
  const std::vector<Timer> fired = PopAll(&t, 1000);
  ASSERT_EQ(fired.size(), 8u);
  EXPECT_EQ(fired.front().key, "k1");
  EXPECT_EQ(fired.back().key, "k8");
}

TEST(TimerServiceTest, CancellingTheWholeHeadRefillsIt) {
  MemKvStore store;
  TimerService t(&store, "T", 2);
  ASSERT_OK(t.Load());
  for (int i = 0; i < 10; ++i) t.Schedule(100 + i, 0, K(i));
  // The head holds the earliest; cancel them and next_due must move on.
  for (int i = 0; i < 5; ++i) t.Cancel(100 + i, 0, K(i));
  EXPECT_EQ(t.next_due(), 105);
  EXPECT_GT(t.size(), 0u);
}

// A store whose scans fail once told to (a refill's read).
class FailingScanStore : public testing::ForwardingKvStore {
 public:
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override {
    if (fail) return Status::IoError("scan failed (test)");
    return ForwardingKvStore::Scan(begin, end, fn);
  }
  bool fail = false;
};

// The watch an owner of many services reads per event instead of asking
// each: a lower bound of their next_due() that every new earlier head
// lowers, and a flag any failure sets.
TEST(TimerServiceTest, AWatchBoundsEveryHeadAndSeesFailures) {
  FailingScanStore store;
  TimerWatch watch;
  TimerService a(&store, "A", 2);
  TimerService b(&store, "B", 2);
  a.set_watch(&watch);
  b.set_watch(&watch);
  ASSERT_OK(a.Load());
  ASSERT_OK(b.Load());
  EXPECT_EQ(watch.earliest_due, INT64_MAX);
  for (int i = 0; i < 6; ++i) a.Schedule(500 + i, 0, K(i));
  EXPECT_EQ(watch.earliest_due, 500);
  b.Schedule(300, 0, "x");
  EXPECT_EQ(watch.earliest_due, 300);
  b.Schedule(400, 0, "y");  // later than the bound: unchanged
  EXPECT_EQ(watch.earliest_due, 300);
  // Popping only raises the true minimum: the bound stays below it, and
  // whatever the owner raises it to, the next earlier head lowers it.
  EXPECT_EQ(PopAll(&b, 1000).size(), 2u);
  EXPECT_LE(watch.earliest_due, std::min(a.next_due(), b.next_due()));
  watch.earliest_due = std::min(a.next_due(), b.next_due());
  EXPECT_EQ(watch.earliest_due, 500);
  b.Schedule(450, 0, "z");
  EXPECT_EQ(watch.earliest_due, 450);
  EXPECT_FALSE(watch.failed);
  // a holds two of its six timers in memory: a pop that empties the head
  // refills it from the store, which now fails.
  ASSERT_FALSE(a.all_loaded());
  store.fail = true;
  Timer t;
  while (a.PopDue(1000, &t)) {
  }
  EXPECT_FALSE(a.status().ok());
  EXPECT_TRUE(watch.failed);
}

TEST(TimerServiceTest, LoadReadsOnlyTheHead) {
  MemKvStore store;
  {
    TimerService t(&store, "T", 1000);
    ASSERT_OK(t.Load());
    for (int i = 0; i < 5000; ++i) t.Schedule(i, 0, K(i));
    ASSERT_OK(store.Commit());
  }
  TimerService again(&store, "T", 16);
  ASSERT_OK(again.Load());
  EXPECT_EQ(again.size(), 16u);
  EXPECT_EQ(again.loaded_until(), 16);
  EXPECT_EQ(PopAll(&again, 4999).size(), 5000u);
}

TEST(TimerServiceTest, OtherPrefixesAreNotRead) {
  MemKvStore store;
  TimerService a(&store, "A", 2);
  TimerService b(&store, "B", 2);
  ASSERT_OK(a.Load());
  ASSERT_OK(b.Load());
  for (int i = 0; i < 6; ++i) {
    a.Schedule(10 + i, 0, "a");
    b.Schedule(10 + i, 1, "b");
  }
  const std::vector<Timer> fa = PopAll(&a, 100);
  ASSERT_EQ(fa.size(), 6u);
  for (const Timer& x : fa) EXPECT_EQ(x.key, "a");
}

// A random mix of schedule / cancel / pop / commit / restart against a
// reference set. Chunk sizes 1..5 put every operation near a chunk edge.
// Buffered: writes reach the store at Flush (before each commit) or a refill.
void RunModel(KvStore* store, uint32_t seed, size_t chunk, bool buffered = false) {
  std::mt19937 rng(seed);
  std::set<Timer> model;
  auto t = std::make_unique<TimerService>(store, "P", chunk);
  if (buffered) t->BufferWrites();
  ASSERT_OK(t->Load());
  TimestampMs wm = 0;
  for (int step = 0; step < 3000; ++step) {
    const int op = static_cast<int>(rng() % 100);
    if (op < 45) {
      Timer x{wm + static_cast<TimestampMs>(rng() % 200), static_cast<uint8_t>(rng() % 2),
              K(rng() % 40)};
      t->Schedule(x.when, x.kind, x.key);
      model.insert(x);
    } else if (op < 60) {
      Timer x{wm + static_cast<TimestampMs>(rng() % 200), static_cast<uint8_t>(rng() % 2),
              K(rng() % 40)};
      if (!model.empty() && rng() % 2 == 0) {
        auto it = model.begin();
        std::advance(it, rng() % model.size());
        x = *it;
      }
      t->Cancel(x.when, x.kind, x.key);
      model.erase(x);
    } else if (op < 85) {
      wm += static_cast<TimestampMs>(rng() % 20);
      std::vector<Timer> want;
      while (!model.empty() && model.begin()->when <= wm) {
        want.push_back(*model.begin());
        model.erase(model.begin());
      }
      const std::vector<Timer> got = PopAll(t.get(), wm);
      ASSERT_EQ(got.size(), want.size()) << "seed " << seed << " step " << step;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_FALSE(got[i] < want[i] || want[i] < got[i]) << "seed " << seed << " step " << step;
      }
    } else if (op < 95) {
      t->Flush();
      ASSERT_OK(store->Commit());
    } else {
      // Restart: what was committed is what a new instance sees.
      t->Flush();
      ASSERT_OK(store->Commit());
      t = std::make_unique<TimerService>(store, "P", chunk);
      if (buffered) t->BufferWrites();
      ASSERT_OK(t->Load());
    }
    ASSERT_EQ(t->next_due(), model.empty() ? INT64_MAX : model.begin()->when)
        << "seed " << seed << " step " << step;
    ASSERT_LE(t->size(), 2 * chunk + 1 + 40 * 2) << "seed " << seed << " step " << step;
    ASSERT_OK(t->status());
  }
}

// RunModel over 20 seeds on MemKvStore.
void RunModelOnMemStores(bool buffered) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    MemKvStore store;
    RunModel(&store, seed, 1 + seed % 5, buffered);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// RunModel over 4 seeds on RocksDB stores in a temporary directory.
void RunModelOnRocksDb(bool buffered) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("timer-svc-" + std::to_string(::getpid()) + (buffered ? "-b" : "")))
                              .string();
  std::filesystem::remove_all(dir);
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    auto store = RocksKvStore::Open(dir + "/" + std::to_string(seed), StateConfig{});
    ASSERT_OK(store.status());
    RunModel(store->get(), seed, 1 + seed % 3, buffered);
    if (::testing::Test::HasFatalFailure()) break;
  }
  std::filesystem::remove_all(dir);
}

TEST(TimerServiceTest, MatchesAnOrderedSetOnMemStore) { RunModelOnMemStores(/*buffered=*/false); }

TEST(TimerServiceTest, MatchesAnOrderedSetOnRocksDb) { RunModelOnRocksDb(/*buffered=*/false); }

TEST(TimerServiceTest, BufferedWritesMatchAnOrderedSet) {
  RunModelOnMemStores(/*buffered=*/true);
  if (HasFatalFailure()) return;
  RunModelOnRocksDb(/*buffered=*/true);
}

// Buffered: nothing is staged before Flush; a timer scheduled and moved
// within one checkpoint is written once, where it ended up.
TEST(TimerServiceTest, BufferedWritesReachTheStoreAtFlushLastChangeOnly) {
  MemKvStore store;
  TimerService t(&store, "T", 100);
  t.BufferWrites();
  ASSERT_OK(t.Load());
  for (int i = 0; i < 50; ++i) {
    t.Schedule(1000, 0, K(i));
    t.Cancel(1000, 0, K(i));
    t.Schedule(500 + i, 0, K(i));
  }
  EXPECT_EQ(store.StagedBytes(), 0u);
  t.Flush();
  ASSERT_OK(store.Commit());
  size_t stored = 0;
  ASSERT_OK(store.Scan("T", "U", [&](std::string_view, std::string_view) {
    ++stored;
    return true;
  }));
  EXPECT_EQ(stored, 50u);
  const std::vector<Timer> fired = ReloadAndPopAll(&store, 100, 10000);
  ASSERT_EQ(fired.size(), 50u);
  EXPECT_EQ(fired.front().when, 500);
  EXPECT_EQ(fired.back().when, 549);
}

}  // namespace
}  // namespace epistream
