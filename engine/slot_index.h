// SlotIndex: a hash index from 32-bit key hashes to slot numbers of a
// container that owns the keys (the person caches).
//
// Open addressing, linear probing, load <= 1/2, backward-shift deletion (no
// tombstones): a lookup is one 8-byte probe in the common case, and the
// owner's key is compared only on a hash match (the `match` predicate).
// Several slots may share a hash; each (hash, slot) pair is indexed once.
//
// Threading: none; owned by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace epistream {

class SlotIndex {
 public:
  // The slot whose hash is `hash` and for which match(slot) is true, or -1.
  template <typename Match>
  int64_t Find(uint32_t hash, Match&& match) const {
    if (table_.empty()) return -1;
    const size_t mask = table_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Bucket& b = table_[i];
      if (b.slot == 0) return -1;
      if (b.hash == hash && match(b.slot - 1)) return b.slot - 1;
    }
  }
  // Whether some indexed slot has hash `hash` (no key compare: may be
  // another key with the same hash).
  bool ContainsHash(uint32_t hash) const;
  // Indexes `slot` under `hash`; the pair must not be indexed already.
  void Insert(uint32_t hash, uint32_t slot);
  // Removes the pair (hash, slot), which must be indexed.
  void Erase(uint32_t hash, uint32_t slot);
  size_t size() const { return size_; }
  // Bytes of the bucket array.
  size_t bytes() const { return table_.capacity() * sizeof(Bucket); }

 private:
  // slot == 0 marks an empty bucket, else the slot number + 1.
  struct Bucket {
    uint32_t hash = 0;
    uint32_t slot = 0;
  };
  void Grow();

  std::vector<Bucket> table_;
  size_t size_ = 0;
};

}  // namespace epistream
