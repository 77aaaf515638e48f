// SlotIndex: every indexed (hash, slot) pair stays findable through inserts,
// erases (backward shift) and growth, also when many slots share a hash or
// a home bucket.
#include "engine/slot_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace epistream {
namespace {

// The slot indexed under `hash` whose key is `key`, as the owner finds it.
int64_t FindKey(const SlotIndex& index, const std::map<uint32_t, uint32_t>& hash_of,
                uint32_t key) {
  return index.Find(hash_of.at(key), [&](uint32_t slot) { return slot == key; });
}

TEST(SlotIndexTest, FindsWhatWasInsertedAndNotWhatWasErased) {
  SlotIndex index;
  EXPECT_EQ(index.Find(7, [](uint32_t) { return true; }), -1);
  EXPECT_FALSE(index.ContainsHash(7));
  index.Insert(7, 0);
  index.Insert(7, 1);  // same hash, another slot
  index.Insert(7 + 1024, 2);  // same home bucket, another hash
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.Find(7, [](uint32_t s) { return s == 1; }), 1);
  EXPECT_EQ(index.Find(7 + 1024, [](uint32_t) { return true; }), 2);
  index.Erase(7, 0);
  EXPECT_EQ(index.Find(7, [](uint32_t s) { return s == 0; }), -1);
  EXPECT_EQ(index.Find(7, [](uint32_t s) { return s == 1; }), 1);
  EXPECT_EQ(index.Find(7 + 1024, [](uint32_t) { return true; }), 2);
  EXPECT_TRUE(index.ContainsHash(7));
  EXPECT_FALSE(index.ContainsHash(8));
  EXPECT_EQ(index.size(), 2u);
}

TEST(SlotIndexTest, RandomInsertsAndErasesMatchAModel) {
  // Hashes from a small range: long probe chains, wrap-around at the end of
  // the bucket array, and erases in the middle of chains.
  for (uint32_t hash_range : {16u, 1000u, 1u << 30}) {
    std::mt19937 rng(hash_range);
    SlotIndex index;
    std::map<uint32_t, uint32_t> hash_of;  // indexed slot -> its hash
    uint32_t next_slot = 0;
    for (int step = 0; step < 20000; ++step) {
      const bool insert = hash_of.empty() || rng() % 100 < 55;
      if (insert) {
        const uint32_t hash = static_cast<uint32_t>(rng() % hash_range) * 2654435761u;
        index.Insert(hash, next_slot);
        hash_of[next_slot++] = hash;
      } else {
        auto it = hash_of.begin();
        std::advance(it, rng() % hash_of.size());
        const uint32_t erased = it->first;
        const uint32_t erased_hash = it->second;
        index.Erase(erased_hash, erased);
        hash_of.erase(it);
        ASSERT_EQ(index.Find(erased_hash, [&](uint32_t s) { return s == erased; }), -1);
      }
      ASSERT_EQ(index.size(), hash_of.size());
      if (step % 997 == 0) {
        for (const auto& [slot, hash] : hash_of) {
          ASSERT_EQ(FindKey(index, hash_of, slot), slot) << "range " << hash_range;
        }
      }
    }
    for (const auto& [slot, hash] : hash_of) {
      ASSERT_EQ(FindKey(index, hash_of, slot), slot) << "range " << hash_range;
      ASSERT_TRUE(index.ContainsHash(hash));
    }
  }
}


// A payload stays with its pair through growth and backward shifts, and
// SetPayload changes only its own pair's.
TEST(SlotIndexTest, PayloadsTravelWithTheirPairs) {
  BasicSlotIndex<uint64_t> index;
  std::mt19937 rng(5);
  std::map<uint32_t, std::pair<uint32_t, uint64_t>> model;  // slot -> hash, payload
  uint32_t next_slot = 0;
  for (int step = 0; step < 20000; ++step) {
    const uint32_t r = rng() % 100;
    if (model.empty() || r < 50) {
      const uint32_t hash = static_cast<uint32_t>(rng() % 64) * 2654435761u;
      index.Insert(hash, next_slot, next_slot * 3ull);
      model[next_slot] = {hash, next_slot * 3ull};
      ++next_slot;
      continue;
    }
    auto it = model.begin();
    std::advance(it, rng() % model.size());
    if (r < 75) {
      it->second.second = rng();
      index.SetPayload(it->second.first, it->first, it->second.second);
    } else {
      index.Erase(it->second.first, it->first);
      model.erase(it);
    }
    if (step % 499 == 0) {
      for (const auto& [slot, hp] : model) {
        uint64_t seen = ~0ull;
        ASSERT_EQ(index.Find(hp.first,
                             [&](uint32_t s, uint64_t payload) {
                               if (s != slot) return false;
                               seen = payload;
                               return true;
                             }),
                  slot);
        ASSERT_EQ(seen, hp.second);
      }
    }
  }
  static_assert(BasicSlotIndex<uint64_t>::kBucketBytes == 16);
  static_assert(SlotIndex::kBucketBytes == 8);
}

}  // namespace
}  // namespace epistream
