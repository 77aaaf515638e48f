// SlotIndex: a hash index from 32-bit key hashes to slot numbers of a
// container that owns the keys (the person caches).
//
// Open addressing, linear probing, load <= 1/2, backward-shift deletion (no
// tombstones): a lookup is one probe of a bucket in the common case, and the
// owner's key is compared only on a hash match (the `match` predicate).
// Several slots may share a hash; each (hash, slot) pair is indexed once.
//
// BasicSlotIndex<Payload> keeps a small value of the owner's with each pair
// (EncodedStateCache: the address of the entry's bytes), handed to `match`
// with the slot: a lookup then reads the key without first reading the
// owner's record of the slot, one dependent cache miss less on a cold
// lookup. SlotIndex has none (8-byte buckets).
//
// Threading: none; owned by one thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "engine/prefetch.h"

namespace epistream {

struct NoSlotPayload {};

template <typename Payload>
class BasicSlotIndex {
 public:
  // The slot whose hash is `hash` and for which match(slot) (or
  // match(slot, payload)) is true, or -1.
  template <typename Match>
  int64_t Find(uint32_t hash, Match&& match) const {
    if (table_.empty()) return -1;
    const size_t mask = table_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Bucket& b = table_[i];
      if (b.slot == 0) return -1;
      if (b.hash != hash) continue;
      bool matched;
      if constexpr (std::is_invocable_v<Match&, uint32_t>) {
        matched = match(b.slot - 1);
      } else {
        matched = match(b.slot - 1, b.payload);
      }
      if (matched) return b.slot - 1;
    }
  }
  // Whether some indexed slot has hash `hash` (no key compare: may be
  // another key with the same hash).
  bool ContainsHash(uint32_t hash) const {
    return Find(hash, [](uint32_t) { return true; }) >= 0;
  }
  // Cache hint: the bucket where a lookup of `hash` starts.
  void Prefetch(uint32_t hash) const {
    if (!table_.empty()) PrefetchLine(&table_[hash & (table_.size() - 1)]);
  }
  // The payload of the first pair with hash `hash` (no key compare: may be
  // another key's) and its slot in *slot, or null.
  const Payload* FirstPayload(uint32_t hash, uint32_t* slot) const {
    const Payload* first = nullptr;
    Find(hash, [&](uint32_t s, const Payload& payload) {
      *slot = s;
      first = &payload;
      return true;
    });
    return first;
  }
  // Indexes `slot` under `hash`; the pair must not be indexed already.
  void Insert(uint32_t hash, uint32_t slot, Payload payload = Payload()) {
    if ((size_ + 1) * 2 > table_.size()) Grow();
    table_[Home(hash, [](const Bucket& b) { return b.slot == 0; })] =
        Bucket{hash, slot + 1, payload};
    ++size_;
  }
  // Replaces the payload of the pair (hash, slot), which must be indexed.
  void SetPayload(uint32_t hash, uint32_t slot, Payload payload) {
    table_[Home(hash, [&](const Bucket& b) { return b.slot == slot + 1; })].payload = payload;
  }
  // Removes the pair (hash, slot), which must be indexed.
  void Erase(uint32_t hash, uint32_t slot) {
    const size_t mask = table_.size() - 1;
    size_t i = Home(hash, [&](const Bucket& b) { return b.slot == slot + 1; });
    // Backward-shift deletion: pull later members of the probe chain back
    // so that no lookup meets an empty bucket before its key.
    for (size_t j = i;;) {
      table_[i] = Bucket();
      for (;;) {
        j = (j + 1) & mask;
        if (table_[j].slot == 0) {
          --size_;
          return;
        }
        const size_t home = table_[j].hash & mask;
        // Move j back to i unless its home lies cyclically in (i, j].
        const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) break;
      }
      table_[i] = table_[j];
      i = j;
    }
  }
  size_t size() const { return size_; }
  // Bytes of the bucket array.
  size_t bytes() const { return table_.capacity() * sizeof(Bucket); }
  // Bytes of one bucket (an entry costs two at load <= 1/2).
  static constexpr size_t kBucketBytes = sizeof(Payload) > 1 ? 8 + sizeof(Payload) : 8;

 private:
  // slot == 0 marks an empty bucket, else the slot number + 1.
  struct Bucket {
    uint32_t hash = 0;
    uint32_t slot = 0;
    [[no_unique_address]] Payload payload{};
  };
  static_assert(sizeof(Bucket) == kBucketBytes);
  // The first bucket from hash's home on for which pred(bucket) holds.
  template <typename Pred>
  size_t Home(uint32_t hash, Pred&& pred) const {
    const size_t mask = table_.size() - 1;
    size_t i = hash & mask;
    while (!pred(table_[i])) i = (i + 1) & mask;
    return i;
  }
  void Grow() {
    std::vector<Bucket> old = std::move(table_);
    table_.assign(std::max<size_t>(1024, old.size() * 2), Bucket());
    for (const Bucket& b : old) {
      if (b.slot != 0) table_[Home(b.hash, [](const Bucket& n) { return n.slot == 0; })] = b;
    }
  }

  std::vector<Bucket> table_;
  size_t size_ = 0;
};

using SlotIndex = BasicSlotIndex<NoSlotPayload>;

// The slot number for a new entry of an owner that keeps its entries in
// `slots` (a vector or deque) and the numbers of dead ones in `free`: the
// last freed one (its allocations are reused), else a new one appended.
template <typename Slots>
uint32_t TakeSlot(std::vector<uint32_t>& free, Slots& slots) {
  if (!free.empty()) {
    const uint32_t id = free.back();
    free.pop_back();
    return id;
  }
  slots.emplace_back();
  return static_cast<uint32_t>(slots.size() - 1);
}

}  // namespace epistream
