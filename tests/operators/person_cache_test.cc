// PersonCache: write-back of dirty states in key order, eviction beyond the
// capacity (its open-addressing index must keep every remaining person
// findable), erase and partition drop.
#include "operators/person_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

std::string Person(int i) { return testing::Num("P", i); }

class PersonCacheTest : public ::testing::Test {
 protected:
  PersonState* Get(uint16_t partition, const std::string& person) {
    Result<PersonState*> got = cache_.Get(partition, person);
    EXPECT_OK(got.status());
    return got.ok() ? *got : nullptr;
  }
  Status Checkpoint() {
    EPI_RETURN_IF_ERROR(cache_.Flush([](PersonState&) {}));
    return store_.Commit();
  }
  std::vector<std::string> StoredKeys() {
    std::vector<std::string> keys;
    EXPECT_OK(store_.Scan("", "", [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return true;
    }));
    return keys;
  }

  MemKvStore store_;
  PersonCache cache_{&store_, 100};
};

TEST_F(PersonCacheTest, StatesSurviveEvictionAndReload) {
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1000; ++i) {
      PersonState* s = Get(static_cast<uint16_t>(i % 3), Person(i));
      ASSERT_NE(s, nullptr);
      s->tests.push_back(round * 10000 + i);
      s->last_ts = round * 10000 + i;
    }
    ASSERT_OK(Checkpoint());
    EXPECT_LE(cache_.size(), 100u);
  }
  for (int i = 999; i >= 0; --i) {
    PersonState* s = Get(static_cast<uint16_t>(i % 3), Person(i));
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(s->tests.size(), 3u) << Person(i);
    EXPECT_EQ(s->tests[2], 20000 + i);
  }
  EXPECT_GT(cache_.misses(), 1000u);
}

TEST_F(PersonCacheTest, HotPersonsStayCachedAndFindable) {
  // Interleave inserts and evictions so the index sees many removals.
  for (int round = 0; round < 20; ++round) {
    // 50 hot and 40 new persons per checkpoint: under the capacity of 100,
    // so eviction takes only persons of earlier rounds.
    for (int i = 0; i < 50; ++i) Get(0, Person(i))->tests.push_back(round);
    for (int i = 0; i < 40; ++i)
      Get(0, Person(1000 + round * 40 + i))->tests.push_back(round);
    ASSERT_OK(Checkpoint());
  }
  const uint64_t misses = cache_.misses();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Get(0, Person(i))->tests.size(), 20u);
  EXPECT_EQ(cache_.misses(), misses) << "hot persons were evicted";
}

TEST_F(PersonCacheTest, FlushWritesSortedKeysAndDeletesEmptyStates) {
  Get(1, "b")->tests.push_back(1);
  Get(0, "z")->tests.push_back(1);
  Get(0, "a")->tests.push_back(1);
  Get(0, "m");  // stays empty: nothing stored
  ASSERT_OK(Checkpoint());
  const std::vector<std::string> keys = StoredKeys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0], PersonCache::StateKey(0, "a"));
  EXPECT_EQ(keys[1], PersonCache::StateKey(0, "z"));
  EXPECT_EQ(keys[2], PersonCache::StateKey(1, "b"));
  cache_.Erase(0, "a");
  ASSERT_OK(Checkpoint());
  EXPECT_EQ(StoredKeys().size(), 2u);
  EXPECT_TRUE(Get(0, "a")->Empty());
}

TEST_F(PersonCacheTest, DropPartitionForgetsOnlyThatPartition) {
  Get(0, "a")->tests.push_back(1);
  Get(1, "b")->tests.push_back(2);
  ASSERT_OK(Checkpoint());
  Get(1, "b")->tests.push_back(3);  // dirty, never flushed: dropped
  cache_.DropPartition(1);
  EXPECT_EQ(cache_.size(), 1u);
  ASSERT_OK(Checkpoint());
  EXPECT_EQ(Get(1, "b")->tests.size(), 1u);  // reloaded from the store
  EXPECT_EQ(Get(0, "a")->tests.size(), 1u);
}

// ---- Install (prefetched states, operators/person_prefetcher.h) ----

PersonState StateWithTest(TimestampMs t) {
  PersonState s;
  s.tests.push_back(t);
  s.last_ts = t;
  return s;
}

TEST_F(PersonCacheTest, InstallNeverReplacesACachedState) {
  Get(0, "a")->tests.push_back(5);  // cached and dirty, newer than any read
  PersonState read = StateWithTest(1);
  bool asked = false;
  EXPECT_EQ(cache_.Install(0, "a", &read, [&] { return asked = true; }),
            PersonCache::InstallResult::kCached);
  EXPECT_FALSE(asked);  // cached: the store is not even asked
  EXPECT_EQ(Get(0, "a")->tests, std::vector<TimestampMs>{5});
}

TEST_F(PersonCacheTest, InstallRefusesAStateTheStoreDoesNotVouchFor) {
  PersonState read = StateWithTest(1);
  EXPECT_EQ(cache_.Install(0, "a", &read, [] { return false; }),
            PersonCache::InstallResult::kStale);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_TRUE(Get(0, "a")->tests.empty());  // the store's (empty) state
  EXPECT_EQ(cache_.misses(), 1u);
}

TEST_F(PersonCacheTest, InstalledStateIsCleanUntilUsedThenAHit) {
  PersonState read = StateWithTest(7);
  EXPECT_EQ(cache_.Install(3, "a", &read, [] { return true; }),
            PersonCache::InstallResult::kInstalled);
  EXPECT_TRUE(read.tests.empty());  // swapped out
  EXPECT_TRUE(cache_.MaybeContains("a"));
  ASSERT_OK(Checkpoint());  // clean: nothing written
  EXPECT_TRUE(StoredKeys().empty());
  PersonState* s = Get(3, "a");
  EXPECT_EQ(s->tests, std::vector<TimestampMs>{7});
  EXPECT_EQ(cache_.hits(), 1u);
  EXPECT_EQ(cache_.misses(), 0u);
  ASSERT_OK(Checkpoint());  // used: written back under its partition
  EXPECT_EQ(StoredKeys(), std::vector<std::string>{PersonCache::StateKey(3, "a")});
}

TEST_F(PersonCacheTest, StateKeyParsesBack) {
  uint16_t partition = 0;
  std::string_view person;
  const std::string key = PersonCache::StateKey(513, "p-1");
  ASSERT_TRUE(PersonCache::ParseStateKey(key, &partition, &person));
  EXPECT_EQ(partition, 513);
  EXPECT_EQ(person, "p-1");
  std::string built;
  PersonCache::BuildStateKey(513, "p-1", &built);
  EXPECT_EQ(built, key);
  EXPECT_FALSE(PersonCache::ParseStateKey("Mwatermark", &partition, &person));
}

// ---- Byte budget ----

TEST_F(PersonCacheTest, ByteBudgetEvictsBeyondItAndKeepsStatesFindable) {
  constexpr size_t kBudget = 256 << 10;
  PersonCache cache(&store_, 100000, kBudget);
  auto fill = [&](int round) {
    for (int i = 0; i < 2000; ++i) {
      Result<PersonState*> got = cache.Get(0, Person(i));
      ASSERT_OK(got.status());
      for (int k = 0; k < 20; ++k) (*got)->tests.push_back(round * 100000 + i * 100 + k);
      (*got)->last_ts = round;
    }
  };
  fill(0);
  EXPECT_GT(cache.bytes(), kBudget);  // loads are counted as they come
  ASSERT_OK(cache.Flush([](PersonState&) {}));
  ASSERT_OK(store_.Commit());
  EXPECT_LE(cache.bytes(), kBudget);
  EXPECT_GT(cache.size(), 0u);
  EXPECT_LT(cache.size(), 2000u);  // the entry capacity alone keeps all
  fill(1);  // evicted persons come back from the store intact
  ASSERT_OK(cache.Flush([](PersonState&) {}));
  ASSERT_OK(store_.Commit());
  EXPECT_LE(cache.bytes(), kBudget);
  for (int i = 0; i < 2000; i += 97) {
    Result<PersonState*> got = cache.Get(0, Person(i));
    ASSERT_OK(got.status());
    ASSERT_EQ((*got)->tests.size(), 40u) << i;
    EXPECT_EQ((*got)->tests[20], 100000 + i * 100);
  }
}

TEST_F(PersonCacheTest, WithoutByteBudgetOnlyEntriesBound) {
  for (int i = 0; i < 50; ++i) Get(0, Person(i))->tests.assign(100, i);
  ASSERT_OK(Checkpoint());
  EXPECT_EQ(cache_.size(), 50u);
  EXPECT_GT(cache_.bytes(), 50u * 100 * sizeof(TimestampMs));
}

TEST_F(PersonCacheTest, MayMissStoredStatesOnlyAfterEvictionOrAStoredLoad) {
  for (int i = 0; i < 50; ++i) Get(0, Person(i))->tests.push_back(i);
  ASSERT_OK(Checkpoint());
  EXPECT_FALSE(cache_.MayMissStoredStates());  // all 50 still cached
  for (int i = 50; i < 150; ++i) Get(0, Person(i))->tests.push_back(i);
  ASSERT_OK(Checkpoint());  // 150 > 100: evicts
  EXPECT_TRUE(cache_.MayMissStoredStates());
  PersonCache restarted(&store_, 1000);  // as after a restart: empty cache
  ASSERT_OK(restarted.Get(0, "new").status());
  EXPECT_FALSE(restarted.MayMissStoredStates());
  ASSERT_OK(restarted.Get(0, Person(1)).status());  // found in the store
  EXPECT_TRUE(restarted.MayMissStoredStates());
}

}  // namespace
}  // namespace epistream
