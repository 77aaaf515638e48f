// StateTable (the cluster stage's in-memory tables): lookups, dirty tracking,
// Flush's writes and deletes, slot reuse after a delete, and a reload, checked
// against a std::map model over a seeded random run of many keys (the index
// grows and shifts entries back on erase).
#include "operators/cluster/state_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/mem_kv_store.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

// A minimal T: a counter; empty at 0. `aux` is memory an empty state may
// still hold (as a pruned CaseWindow keeps its vectors' capacity).
struct Counter {
  int64_t n = 0;
  int64_t aux = 0;
  bool Empty() const { return n == 0; }
  void Encode(std::string* out) const {
    out->clear();
    ByteWriter w(out);
    w.SignedVarint(n);
  }
  Status Decode(std::string_view bytes) {
    ByteReader r(bytes);
    n = r.SignedVarint();
    if (!r.ok() || !r.done()) return Status::Corruption("counter");
    return Status::Ok();
  }
};

const std::string kPrefix = "Gt";

// Every committed key under kPrefix, without it, with its decoded count.
std::map<std::string, int64_t> Stored(MemKvStore* store) {
  std::map<std::string, int64_t> out;
  EXPECT_OK(store->Scan(kPrefix, PrefixEnd(kPrefix), [&](std::string_view k, std::string_view v) {
    Counter c;
    EXPECT_OK(c.Decode(v));
    out[std::string(k.substr(kPrefix.size()))] = c.n;
    return true;
  }));
  return out;
}

std::map<std::string, int64_t> Contents(const StateTable<Counter>& t) {
  std::map<std::string, int64_t> out;
  t.ForEach([&](const std::string& k, const Counter& c) {
    EXPECT_TRUE(out.emplace(k, c.n).second) << "key listed twice: " << k;
  });
  return out;
}

TEST(StateTableTest, GetCreatesFindDoesNotAndFlushWritesOnlyDirtyStates) {
  MemKvStore store;
  StateTable<Counter> t(&store, kPrefix);
  ASSERT_OK(t.Load());
  EXPECT_EQ(t.Find("v1"), nullptr);
  EXPECT_EQ(t.size(), 0u);
  t.Get("v1").n = 3;
  t.Get("v2").n = 5;
  ASSERT_NE(t.Find("v1"), nullptr);
  EXPECT_EQ(t.Find("v1")->n, 3);
  EXPECT_EQ(t.size(), 2u);
  int pruned = 0;
  t.Flush([&](Counter&) { ++pruned; });
  EXPECT_EQ(pruned, 2);
  ASSERT_OK(store.Commit());
  EXPECT_EQ(Stored(&store), (std::map<std::string, int64_t>{{"v1", 3}, {"v2", 5}}));

  // Nothing touched: nothing pruned or written.
  pruned = 0;
  t.Flush([&](Counter&) { ++pruned; });
  EXPECT_EQ(pruned, 0);
  // A Find marks dirty (the caller may change the state).
  t.Find("v2")->n = 6;
  t.Flush([&](Counter&) { ++pruned; });
  EXPECT_EQ(pruned, 1);
  ASSERT_OK(store.Commit());
  EXPECT_EQ(Stored(&store), (std::map<std::string, int64_t>{{"v1", 3}, {"v2", 6}}));
}

TEST(StateTableTest, EmptyStatesAreDeletedAndTheirSlotsReusedClean) {
  MemKvStore store;
  StateTable<Counter> t(&store, kPrefix);
  ASSERT_OK(t.Load());
  t.Get("a").n = 1;
  t.Get("b").n = 2;
  t.Flush([](Counter&) {});
  ASSERT_OK(store.Commit());
  // Pruned to empty at the flush: deleted from the store and the table.
  t.Get("a").aux = 42;
  t.Flush([](Counter& c) { c.n = 0; });
  ASSERT_OK(store.Commit());
  EXPECT_EQ(t.Find("a"), nullptr);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(Stored(&store), (std::map<std::string, int64_t>{{"b", 2}}));
  // A new key takes the freed slot and starts empty, not with a's state.
  const Counter& c = t.Get("c");
  EXPECT_EQ(c.n, 0);
  EXPECT_EQ(c.aux, 0);
  EXPECT_EQ(t.Find("b")->n, 2);
  EXPECT_EQ(t.size(), 2u);
}

TEST(StateTableTest, UpdateMarksEveryStateDirty) {
  MemKvStore store;
  StateTable<Counter> t(&store, kPrefix);
  ASSERT_OK(t.Load());
  for (int i = 0; i < 10; ++i) t.Get("k" + std::to_string(i)).n = i + 1;
  t.Flush([](Counter&) {});
  ASSERT_OK(store.Commit());
  t.Update([](const std::string&, Counter& c) { c.n *= 10; });
  int pruned = 0;
  t.Flush([&](Counter&) { ++pruned; });
  EXPECT_EQ(pruned, 10);
  ASSERT_OK(store.Commit());
  EXPECT_EQ(Stored(&store).at("k9"), 100);
}

TEST(StateTableTest, RandomRunMatchesAMapAndReloadsTheSame) {
  MemKvStore store;
  StateTable<Counter> t(&store, kPrefix);
  ASSERT_OK(t.Load());
  std::map<std::string, int64_t> model;  // the table's contents
  std::mt19937_64 rng(7);
  // Keys of different lengths (short ones share their 8-byte sort prefix
  // with long ones) so Flush's order is checked on ties too.
  auto key = [&] {
    const uint64_t n = rng() % 3000;
    return (n % 3 == 0 ? "venue-0000" : "v") + std::to_string(n);
  };
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 500; ++i) {
      const std::string k = key();
      // Prefetch hints are lookups only.
      t.Prefetch(StateTable<Counter>::HashOf(k));
      t.PrefetchSlot(StateTable<Counter>::HashOf(k));
      const int64_t delta = static_cast<int64_t>(rng() % 5) - 2;
      if (rng() % 4 == 0) {
        Counter* c = t.Find(k);
        ASSERT_EQ(c != nullptr, model.count(k) == 1) << k;
        if (c != nullptr) {
          c->n += delta;
          model[k] += delta;
        }
        continue;
      }
      t.Get(k).n += delta;
      model[k] += delta;
    }
    // Flush deletes the states that reached 0.
    t.Flush([](Counter&) {});
    ASSERT_OK(store.Commit());
    std::erase_if(model, [](const auto& kv) { return kv.second == 0; });
    ASSERT_EQ(Contents(t), model) << "round " << round;
    ASSERT_EQ(t.size(), model.size());
    ASSERT_EQ(Stored(&store), model) << "round " << round;
  }
  StateTable<Counter> reloaded(&store, kPrefix);
  ASSERT_OK(reloaded.Load());
  EXPECT_EQ(Contents(reloaded), model);
  for (const auto& [k, n] : model) {
    ASSERT_NE(reloaded.Find(k), nullptr) << k;
    EXPECT_EQ(reloaded.Find(k)->n, n);
  }
}

TEST(StateTableTest, LoadRejectsACorruptState) {
  MemKvStore store;
  store.Put(kPrefix + "x", "\xff\xff\xff");  // a varint that never ends
  ASSERT_OK(store.Commit());
  StateTable<Counter> t(&store, kPrefix);
  EXPECT_FALSE(t.Load().ok());
}

}  // namespace
}  // namespace epistream
