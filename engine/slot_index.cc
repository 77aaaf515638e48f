#include "engine/slot_index.h"

#include <algorithm>

namespace epistream {

bool SlotIndex::ContainsHash(uint32_t hash) const {
  return Find(hash, [](uint32_t) { return true; }) >= 0;
}

void SlotIndex::Grow() {
  std::vector<Bucket> old = std::move(table_);
  table_.assign(std::max<size_t>(1024, old.size() * 2), Bucket());
  const size_t mask = table_.size() - 1;
  for (const Bucket& b : old) {
    if (b.slot == 0) continue;
    size_t i = b.hash & mask;
    while (table_[i].slot != 0) i = (i + 1) & mask;
    table_[i] = b;
  }
}

void SlotIndex::Insert(uint32_t hash, uint32_t slot) {
  if ((size_ + 1) * 2 > table_.size()) Grow();
  const size_t mask = table_.size() - 1;
  size_t i = hash & mask;
  while (table_[i].slot != 0) i = (i + 1) & mask;
  table_[i] = Bucket{hash, slot + 1};
  ++size_;
}

void SlotIndex::Erase(uint32_t hash, uint32_t slot) {
  const size_t mask = table_.size() - 1;
  size_t i = hash & mask;
  while (table_[i].slot != slot + 1) i = (i + 1) & mask;
  // Backward-shift deletion: pull later members of the probe chain back so
  // that no lookup meets an empty bucket before its key.
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
      const bool stays =
          i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!stays) break;
    }
    table_[i] = table_[j];
    i = j;
  }
}

}  // namespace epistream
