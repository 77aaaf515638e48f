#include "operators/encoded_state_cache.h"

#include <cstring>
#include <utility>

namespace epistream {

void EncodedStateCache::WriteHeader(Entry& e) {
  const Header h{e.person_size, e.value_size, e.stamp};
  std::memcpy(e.data.get(), &h, sizeof h);
}

int64_t EncodedStateCache::Lookup(std::string_view person, uint32_t hash,
                                  const char** data) const {
  // From the bucket to the allocation; the record is not read.
  return index_.Find(hash, [&](uint32_t, const char* at) {
    if (std::string_view(at + kHeader, HeaderAt(at).person_size) != person) return false;
    if (data != nullptr) *data = at;
    return true;
  });
}

void EncodedStateCache::PrefetchEntry(uint32_t hash) const {
  // (Out of line since GCC 12 deleted it inlined, before PrefetchLine.)
  uint32_t id = 0;
  if (const char* const* data = index_.FirstPayload(hash, &id)) {
    PrefetchLine(*data);
    PrefetchLine(*data + 64);
    PrefetchLine(&entries_[id]);  // TakeDirty and Put read the record
  }
}

bool EncodedStateCache::Find(std::string_view person, uint32_t hash,
                             std::string_view* bytes, EncodedRef* ref) const {
  const char* at = nullptr;
  const int64_t found = Lookup(person, hash, &at);
  if (found < 0) return false;
  const Header h = HeaderAt(at);
  *bytes = std::string_view(at + kHeader + h.person_size, h.value_size);
  *ref = EncodedRef{static_cast<uint32_t>(found), h.stamp};
  return true;
}

void EncodedStateCache::Put(uint16_t partition, std::string_view person,
                            uint32_t hash, std::string_view bytes, EncodedRef* ref,
                            bool dirty) {
  // The caller's ref spares the lookup when it is current; otherwise the
  // person may still have an entry (written from another copy of its state).
  const int64_t found =
      Current(*ref) ? static_cast<int64_t>(ref->id) : Lookup(person, hash);
  *ref = EncodedRef();
  if (found >= 0) {
    const auto id = static_cast<uint32_t>(found);
    Entry& e = entries_[id];
    if (Footprint(e.person_size, bytes.size()) > max_bytes_) {
      Remove(id);  // no longer fits at all (the owner counts what it drops)
      return;
    }
    e.dirty = dirty;
    // A person's state changes by a few bytes between checkpoints: rewrite
    // in place while it fits the same allocation. Otherwise a new
    // allocation, but the same record and index entry: re-indexing costs
    // random probes of a table of a million buckets (perf: SlotIndex::Erase
    // was 3.4% of the stage thread).
    const size_t old_footprint = Footprint(e);
    if (Capacity(e.person_size, bytes.size()) != Capacity(e)) {
      auto data = std::make_unique_for_overwrite<char[]>(Capacity(e.person_size, bytes.size()));
      std::memcpy(data.get() + kHeader, e.data.get() + kHeader, e.person_size);
      e.data = std::move(data);
      index_.SetPayload(e.hash, id, e.data.get());
    }
    std::memcpy(e.data.get() + kHeader + e.person_size, bytes.data(), bytes.size());
    e.value_size = static_cast<uint32_t>(bytes.size());
    e.stamp = next_stamp_++;
    WriteHeader(e);
    bytes_ = bytes_ - old_footprint + Footprint(e);
    MakeRoom(0, id);
    *ref = EncodedRef{id, e.stamp};
    return;
  }
  const size_t need = Footprint(person.size(), bytes.size());
  if (need > max_bytes_) return;  // not kept (the owner counts what it drops)
  MakeRoom(need, kNoEntry);
  const uint32_t id = TakeSlot(free_, entries_);
  Entry& e = entries_[id];
  e.person_size = static_cast<uint32_t>(person.size());
  e.value_size = static_cast<uint32_t>(bytes.size());
  // Allocated to the rounded size Footprint counts, so an in-place rewrite
  // (Put) may use all of it.
  e.data = std::make_unique_for_overwrite<char[]>(Capacity(e));
  std::memcpy(e.data.get() + kHeader, person.data(), person.size());
  std::memcpy(e.data.get() + kHeader + person.size(), bytes.data(), bytes.size());
  e.hash = hash;
  e.partition = partition;
  e.stamp = next_stamp_++;
  e.dirty = dirty;
  WriteHeader(e);
  bytes_ += need;
  index_.Insert(hash, id, e.data.get());
  *ref = EncodedRef{id, e.stamp};
}

void EncodedStateCache::TakeDirty(EncodedRef ref) {
  if (!Current(ref) || !entries_[ref.id].dirty) return;
  entries_[ref.id].dirty = false;
  all_dirty_ = false;
}

bool EncodedStateCache::DirtyEntry(uint32_t id, uint16_t* partition,
                                   std::string_view* person,
                                   std::string_view* bytes) const {
  if (id >= entries_.size() || !entries_[id].dirty) return false;
  const Entry& e = entries_[id];
  *partition = e.partition;
  *person = PersonOf(e);
  *bytes = BytesOf(e);
  return true;
}

void EncodedStateCache::Staged() {
  all_dirty_ = false;
  MakeRoom(0, kNoEntry);
}

void EncodedStateCache::MakeRoom(size_t need, int64_t keep) {
  // The clock hand removes whatever clean entries it meets but `keep`; a
  // whole turn without room means the rest is dirty: over budget until the
  // owner's next checkpoint stages them (Staged).
  if (all_dirty_) return;
  for (size_t steps = 0; bytes_ + need > max_bytes_; ++steps) {
    if (steps > entries_.size()) {
      all_dirty_ = true;
      return;
    }
    if (hand_ >= entries_.size()) hand_ = 0;
    const Entry& e = entries_[hand_];
    if (e.data != nullptr && !e.dirty && static_cast<int64_t>(hand_) != keep) {
      Remove(static_cast<uint32_t>(hand_));
      ++evicted_;
    }
    ++hand_;
  }
}

void EncodedStateCache::Erase(std::string_view person, uint32_t hash) {
  const int64_t found = Lookup(person, hash);
  if (found >= 0) Remove(static_cast<uint32_t>(found));
}

void EncodedStateCache::DropPartition(uint16_t partition) {
  for (uint32_t id = 0; id < entries_.size(); ++id) {
    if (entries_[id].data != nullptr && entries_[id].partition == partition) Remove(id);
  }
}

void EncodedStateCache::Remove(uint32_t id) {
  Entry& e = entries_[id];
  index_.Erase(e.hash, id);
  bytes_ -= Footprint(e);
  e.data.reset();
  e.stamp = 0;
  e.dirty = false;
  all_dirty_ = false;  // room for another try
  free_.push_back(id);
}

}  // namespace epistream
