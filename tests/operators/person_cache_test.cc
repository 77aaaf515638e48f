// PersonCache: write-back of dirty states in key order, eviction beyond the
// capacity (its open-addressing index must keep every remaining person
// findable), erase and partition drop.
#include "operators/person_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/forwarding_kv_store.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

std::string Person(int i) { return testing::Num("P", i); }

// A MemKvStore that records the keys of PutForCommit in call order: the
// checkpoint's write order (key order: cheap memtable inserts; a person's
// newest state last).
class CommitOrderStore final : public testing::ForwardingKvStore {
 public:
  void PutForCommit(std::string_view key, std::string_view value) override {
    order.emplace_back(key);
    Put(key, value);
  }
  std::vector<std::string> order;
};

class PersonCacheTest : public ::testing::Test {
 protected:
  PersonState* Get(uint16_t partition, const std::string& person) {
    Result<PersonState*> got = cache_.Get(partition, person);
    EXPECT_OK(got.status());
    return got.ok() ? *got : nullptr;
  }
  Status Checkpoint() {
    EPI_RETURN_IF_ERROR(cache_.Flush());
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
  ASSERT_OK(cache.Flush());
  ASSERT_OK(store_.Commit());
  EXPECT_LE(cache.bytes(), kBudget);
  EXPECT_GT(cache.size(), 0u);
  EXPECT_LT(cache.size(), 2000u);  // the entry capacity alone keeps all
  fill(1);  // evicted persons come back from the store intact
  ASSERT_OK(cache.Flush());
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

// With encoded states behind the decoded ones (10 decoded, 1 MiB encoded).
class PersonCacheEncodedTest : public PersonCacheTest {
 protected:
  PersonCache encoded_cache_{&store_, 10, 0, 1 << 20};
  PersonState* GetEncoded(uint16_t partition, const std::string& person) {
    Result<PersonState*> got = encoded_cache_.Get(partition, person);
    EXPECT_OK(got.status());
    return got.ok() ? *got : nullptr;
  }
  Status CheckpointEncoded() {
    EPI_RETURN_IF_ERROR(encoded_cache_.Flush());
    return store_.Commit();
  }
  // Replaces a stored state behind the cache's back, to see which copy a
  // miss uses.
  void OverwriteStored(uint16_t partition, const std::string& person, int64_t test) {
    PersonState s;
    s.tests.push_back(test);
    std::string bytes;
    s.Encode(&bytes);
    store_.Put(PersonCache::StateKey(partition, person), bytes);
    ASSERT_OK(store_.Commit());
  }
};

TEST_F(PersonCacheEncodedTest, MissesAreServedFromTheEncodedStates) {
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) GetEncoded(1, Person(i))->tests.push_back(round * 1000 + i);
    ASSERT_OK(CheckpointEncoded());
    EXPECT_LE(encoded_cache_.size(), 10u);
  }
  EXPECT_EQ(encoded_cache_.encoded_size(), 100u);
  // Every stored state is still in memory: no need to load ahead.
  EXPECT_FALSE(encoded_cache_.MayMissStoredStates());
  OverwriteStored(1, Person(5), -1);  // P5 is not decoded any more
  const uint64_t before = encoded_cache_.encoded_hits();
  PersonState* s = GetEncoded(1, Person(5));
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->tests.size(), 3u);  // the encoded copy, not the store's
  EXPECT_EQ(s->tests[2], 2005);
  EXPECT_EQ(encoded_cache_.encoded_hits(), before + 1);
}

TEST_F(PersonCacheEncodedTest, EncodedStatesFollowWritesAndDeletes) {
  for (int i = 0; i < 50; ++i) GetEncoded(0, Person(i))->tests.push_back(i);
  ASSERT_OK(CheckpointEncoded());
  // Changed after a reload: the next checkpoint's bytes replace the old.
  GetEncoded(0, Person(3))->tests.push_back(333);
  ASSERT_OK(CheckpointEncoded());
  for (int i = 10; i < 40; ++i) GetEncoded(0, Person(i));  // evict P3 again
  ASSERT_OK(CheckpointEncoded());
  PersonState* s = GetEncoded(0, Person(3));
  ASSERT_EQ(s->tests.size(), 2u);
  EXPECT_EQ(s->tests[1], 333);
  // Erased while only encoded: a later miss finds a new person.
  encoded_cache_.Erase(0, Person(20));
  ASSERT_OK(CheckpointEncoded());
  EXPECT_TRUE(GetEncoded(0, Person(20))->Empty());
  // Emptied while decoded: deleted from the store and from the encoded ones.
  GetEncoded(0, Person(45))->tests.clear();
  for (int i = 0; i < 20; ++i) GetEncoded(0, Person(i));  // evict P45
  ASSERT_OK(CheckpointEncoded());
  OverwriteStored(0, Person(45), -45);
  EXPECT_EQ(GetEncoded(0, Person(45))->tests, std::vector<TimestampMs>{-45});
}

TEST_F(PersonCacheEncodedTest, DroppedPartitionIsReadFromTheStoreAgain) {
  for (int i = 0; i < 40; ++i) GetEncoded(static_cast<uint16_t>(i % 2), Person(i))->tests.push_back(i);
  ASSERT_OK(CheckpointEncoded());
  encoded_cache_.DropPartition(1);
  OverwriteStored(1, Person(1), -1);  // as a restore after reassignment would
  OverwriteStored(0, Person(0), -1);  // not dropped: the encoded copy stays
  EXPECT_EQ(GetEncoded(1, Person(1))->tests, std::vector<TimestampMs>{-1});
  EXPECT_EQ(GetEncoded(0, Person(0))->tests, std::vector<TimestampMs>{0});
}

PersonState* Got(PersonCache* c, uint16_t partition, const std::string& person) {
  Result<PersonState*> got = c->Get(partition, person);
  EXPECT_OK(got.status());
  static PersonState none;
  return got.ok() ? *got : &none;
}

TEST_F(PersonCacheEncodedTest, APartitionEmptyInTheStoreSkipsReadsUntilAStateLeavesMemory) {
  PersonCache c(&store_, 10, 0, 2 << 10);  // ~30 encoded states
  c.set_prune([](PersonState& s) { s.tests.push_back(1); });  // none stays empty
  c.SetEmptyInStore(0);
  // Written behind the cache's back (never happens in the engine): shows
  // which misses read the store.
  OverwriteStored(0, "ghost", -1);
  OverwriteStored(1, "ghost1", -1);
  EXPECT_TRUE(Got(&c, 0, "ghost")->Empty());    // partition 0: not read
  EXPECT_FALSE(Got(&c, 1, "ghost1")->Empty());  // partition 1: read
  EXPECT_EQ(c.skipped_reads(), 1u);
  // Every state that leaves memory can be in the store only: reads resume.
  for (int i = 0; i < 300; ++i) ASSERT_OK(c.Get(0, Person(i)).status());
  EXPECT_EQ(c.skipped_reads(), 301u);  // new persons
  ASSERT_OK(c.Flush());
  ASSERT_OK(store_.Commit());
  ASSERT_TRUE(c.MayMissStoredStates());
  OverwriteStored(0, "ghost2", -2);
  EXPECT_EQ(Got(&c, 0, "ghost2")->tests, std::vector<TimestampMs>{-2});
  EXPECT_EQ(c.skipped_reads(), 301u);
  // A fresh cache on a dropped partition reads again too.
  PersonCache d(&store_, 10, 0, 1 << 20);
  d.SetEmptyInStore(0);
  d.DropPartition(0);
  EXPECT_EQ(Got(&d, 0, "ghost2")->tests, std::vector<TimestampMs>{-2});
  EXPECT_EQ(d.skipped_reads(), 0u);
}

TEST_F(PersonCacheEncodedTest, ATooSmallEncodedBudgetFallsBackToTheStore) {
  PersonCache small(&store_, 10, 0, 2 << 10);  // ~30 encoded states
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      Result<PersonState*> s = small.Get(0, Person(i));
      ASSERT_OK(s.status());
      (*s)->tests.push_back(round * 1000 + i);
    }
    ASSERT_OK(small.Flush());
    ASSERT_OK(store_.Commit());
    EXPECT_LE(small.encoded_bytes(), 2u << 10);
  }
  EXPECT_TRUE(small.MayMissStoredStates());
  for (int i = 299; i >= 0; --i) {
    Result<PersonState*> s = small.Get(0, Person(i));
    ASSERT_OK(s.status());
    ASSERT_EQ((*s)->tests.size(), 3u) << Person(i);
    EXPECT_EQ((*s)->tests[2], 2000 + i);
  }
  EXPECT_GT(small.encoded_hits(), 0u);
}

TEST_F(PersonCacheEncodedTest, InstalledStatesWaitEncodedAndAreNotWrittenUnlessUsed) {
  // A look-ahead batch larger than the decoded tier (10): none is lost.
  std::vector<PersonState> read(50);
  for (int i = 0; i < 50; ++i) {
    if (i % 2 == 0) read[i] = StateWithTest(i);  // odd ones: not in the store
    ASSERT_EQ(encoded_cache_.Install(0, Person(i), &read[i], [] { return true; }),
              PersonCache::InstallResult::kInstalled);
    EXPECT_TRUE(read[i].tests.empty());
  }
  EXPECT_EQ(encoded_cache_.size(), 0u);
  EXPECT_EQ(encoded_cache_.encoded_size(), 50u);
  ASSERT_OK(CheckpointEncoded());
  EXPECT_TRUE(StoredKeys().empty());  // clean: nothing written
  for (int i = 0; i < 50; ++i) {
    const std::vector<TimestampMs> want =
        i % 2 == 0 ? std::vector<TimestampMs>{i} : std::vector<TimestampMs>{};
    ASSERT_EQ(GetEncoded(0, Person(i))->tests, want) << Person(i);
  }
  EXPECT_EQ(encoded_cache_.encoded_hits(), 50u);
}

// ---- Eviction at Get: dirty states written back to the encoded tier ----

TEST_F(PersonCacheEncodedTest, GetKeepsTheCapacityAndEvictedChangesWaitForTheCheckpoint) {
  for (int i = 0; i < 100; ++i) {
    GetEncoded(0, Person(i))->tests.push_back(i);
    ASSERT_LE(encoded_cache_.size(), 10u) << "decoded beyond the capacity before a flush";
  }
  EXPECT_TRUE(StoredKeys().empty());  // evicted states wait encoded, dirty
  EXPECT_EQ(encoded_cache_.encoded_size(), 90u);
  for (int i = 99; i >= 0; --i) {
    ASSERT_EQ(GetEncoded(0, Person(i))->tests, std::vector<TimestampMs>{i}) << Person(i);
  }
  EXPECT_TRUE(StoredKeys().empty());
  ASSERT_OK(CheckpointEncoded());
  const std::vector<std::string> keys = StoredKeys();
  ASSERT_EQ(keys.size(), 100u);  // each person once, in key order
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_FALSE(encoded_cache_.MayMissStoredStates());
}

TEST_F(PersonCacheEncodedTest, AStateReloadedFromItsDirtyCopyIsStoredAsChangedLast) {
  PersonCache c(&store_, 1, 0, 1 << 20);
  Got(&c, 0, "x")->tests.push_back(1);
  Got(&c, 0, "y")->tests.push_back(1);  // evicts x: a dirty encoded copy
  Got(&c, 0, "x")->tests.push_back(2);  // decoded from it, changed again
  ASSERT_OK(c.Flush());
  ASSERT_OK(store_.Commit());
  PersonCache fresh(&store_, 10);
  EXPECT_EQ(Got(&fresh, 0, "x")->tests, (std::vector<TimestampMs>{1, 2}));
  EXPECT_EQ(Got(&fresh, 0, "y")->tests, std::vector<TimestampMs>{1});
}

TEST_F(PersonCacheEncodedTest, DirtyStatesOutliveTheEncodedBudgetUntilTheCheckpoint) {
  constexpr size_t kBudget = 2 << 10;  // ~30 encoded states
  PersonCache c(&store_, 2, 0, kBudget);
  c.SetEmptyInStore(0);
  for (int i = 0; i < 200; ++i) Got(&c, 0, Person(i))->tests.assign(3, i);
  EXPECT_GT(c.encoded_bytes(), kBudget);  // none may go before it is stored
  EXPECT_EQ(c.skipped_reads(), 200u);
  EXPECT_FALSE(c.MayMissStoredStates());  // nothing left memory
  for (int i = 0; i < 200; i += 7) {
    ASSERT_EQ(Got(&c, 0, Person(i))->tests, std::vector<TimestampMs>(3, i));
  }
  ASSERT_OK(c.Flush());
  ASSERT_OK(store_.Commit());
  EXPECT_LE(c.encoded_bytes(), kBudget);  // stored, so evictable again
  EXPECT_TRUE(c.MayMissStoredStates());
  EXPECT_EQ(StoredKeys().size(), 200u);
  for (int i = 0; i < 200; i += 3) {
    ASSERT_EQ(Got(&c, 0, Person(i))->tests, std::vector<TimestampMs>(3, i)) << Person(i);
  }
}

TEST_F(PersonCacheTest, WithoutEncodedStatesAnEvictedChangeIsStagedAtOnce) {
  PersonCache c(&store_, 2);
  for (int i = 0; i < 20; ++i) Got(&c, 0, Person(i))->tests.push_back(i);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Got(&c, 0, Person(i))->tests, std::vector<TimestampMs>{i}) << Person(i);
  }
  ASSERT_OK(c.Flush());
  ASSERT_OK(store_.Commit());
  EXPECT_EQ(StoredKeys().size(), 20u);
}

TEST_F(PersonCacheTest, TheHandSparesAStateGotSinceItLastPassed) {
  PersonCache c(&store_, 3);
  for (const char* p : {"a", "b", "c"}) ASSERT_OK(c.Get(0, p).status());
  ASSERT_OK(c.Get(0, "a").status());  // a hit: referenced
  ASSERT_OK(c.Get(0, "d").status());  // evicts b, the first unreferenced
  const uint64_t misses = c.misses();
  ASSERT_OK(c.Get(0, "a").status());
  EXPECT_EQ(c.misses(), misses);
  ASSERT_OK(c.Get(0, "b").status());
  EXPECT_EQ(c.misses(), misses + 1);
}

// Persons whose ids share their first 8 bytes (the packed sort key cannot
// order them) and persons with both a decoded state and an older, evicted,
// dirty encoded copy: the checkpoint writes each key once, in key order
// (the decoded copy goes first and cleans the encoded one).
TEST(PersonCacheOrderTest, CheckpointWritesInKeyOrderAcrossSharedPrefixes) {
  CommitOrderStore store;
  // 4 decoded states, encoded tier on: most persons are evicted to dirty
  // encoded copies before the checkpoint, some come back decoded.
  PersonCache c(&store, 4, 0, 1 << 20);
  const std::vector<std::string> persons = {
      "person-000b", "person-000a", "person-00", "p", "person-000a1", "q",
      "person-000", "person-000c", "person-00", "person-000b", "p", "zz"};
  // A person lives in one partition (the input is keyed by person): those
  // of partition 0 get a suffix.
  auto person = [&](uint16_t partition, const std::string& p) {
    return partition == 0 ? p + "-0" : p;
  };
  int64_t t = 0;
  for (uint16_t partition : {uint16_t{3}, uint16_t{0}}) {
    for (const std::string& p : persons) {
      Result<PersonState*> got = c.Get(partition, person(partition, p));
      ASSERT_OK(got.status());
      (*got)->tests.push_back(++t);
    }
  }
  ASSERT_OK(c.Flush());
  std::vector<std::string> expected;
  for (uint16_t partition : {uint16_t{0}, uint16_t{3}}) {
    for (const std::string& p : persons) {
      expected.push_back(PersonCache::StateKey(partition, person(partition, p)));
    }
  }
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  EXPECT_EQ(store.order, expected);
  // Each person's newest state is the one stored.
  ASSERT_OK(store.Commit());
  PersonCache fresh(&store, 10);
  Result<PersonState*> b = fresh.Get(3, "person-000b");
  ASSERT_OK(b.status());
  EXPECT_EQ((*b)->tests, (std::vector<TimestampMs>{1, 10}));
}

}  // namespace
}  // namespace epistream
