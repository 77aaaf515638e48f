#include "operators/person_cache.h"

#include <algorithm>
#include <vector>

#include "engine/state_keys.h"

namespace epistream {

std::string PersonCache::StateKey(uint16_t partition, std::string_view person) {
  return state_keys::Partitioned(partition, 'S', person);
}

Result<PersonState*> PersonCache::Get(uint16_t partition, std::string_view person) {
  auto it = map_.find(std::string(person));  // C++20 heterogeneous lookup needs a custom hash
  if (it != map_.end()) {
    ++hits_;
    Slot& slot = it->second;
    slot.dirty = true;
    slot.erased = false;
    slot.epoch = epoch_;
    return &slot.state;
  }
  ++misses_;
  bool found = false;
  EPI_RETURN_IF_ERROR(store_->Get(StateKey(partition, person), &scratch_, &found));
  Slot slot;
  slot.partition = partition;
  slot.dirty = true;
  slot.epoch = epoch_;
  if (found) {
    Status st = slot.state.Decode(scratch_);
    if (!st.ok()) return Status::Corruption("person state of partition " +
                                            std::to_string(partition) + ": " + st.message());
  }
  auto [ins, ok] = map_.emplace(std::string(person), std::move(slot));
  (void)ok;
  return &ins->second.state;
}

void PersonCache::Erase(uint16_t partition, std::string_view person) {
  auto it = map_.find(std::string(person));
  if (it == map_.end()) {
    store_->Delete(StateKey(partition, person));
    return;
  }
  it->second.state = PersonState();
  it->second.dirty = true;
  it->second.erased = true;
}

void PersonCache::DropPartition(uint16_t partition) {
  for (auto it = map_.begin(); it != map_.end();) {
    it = it->second.partition == partition ? map_.erase(it) : std::next(it);
  }
}

Status PersonCache::Flush(const std::function<void(PersonState&)>& prune) {
  for (auto& [person, slot] : map_) {
    if (!slot.dirty) continue;
    if (!slot.erased) prune(slot.state);
    const std::string key = StateKey(slot.partition, person);
    if (slot.erased || slot.state.Empty()) {
      store_->Delete(key);
    } else {
      slot.state.Encode(&scratch_);
      store_->Put(key, scratch_);
    }
    slot.dirty = false;
  }
  if (map_.size() > capacity_) {
    // Evict states not touched in the epoch just flushed first, then the rest.
    for (auto it = map_.begin(); it != map_.end() && map_.size() > capacity_;) {
      it = it->second.epoch < epoch_ ? map_.erase(it) : std::next(it);
    }
    for (auto it = map_.begin(); it != map_.end() && map_.size() > capacity_;) {
      it = map_.erase(it);
    }
  }
  ++epoch_;
  return Status::Ok();
}

}  // namespace epistream
