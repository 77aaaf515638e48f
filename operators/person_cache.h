// PersonCache: decoded hot person states in memory in front of the store.
//
// A write-back cache: Get returns a mutable state (loaded and decoded on a
// miss, empty for a new person) and marks it dirty; Flush encodes the dirty
// states into the store's staged batch (deleting empty ones) so they commit
// with the next checkpoint, then evicts clean states beyond the capacity,
// least recently flushed first. Encoding once per checkpoint instead of once
// per event is where the cache earns its keep on hot persons.
//
// Threading: owned by the person stage thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/kv_store.h"
#include "engine/status.h"
#include "operators/person_state.h"

namespace epistream {

class PersonCache {
 public:
  PersonCache(KvStore* store, size_t capacity) : store_(store), capacity_(capacity) {}

  // The state of `person` in `partition`, loaded on a miss; marked dirty.
  Result<PersonState*> Get(uint16_t partition, std::string_view person);
  // Drops a person: its stored state is deleted (staged) and any cached copy
  // forgotten.
  void Erase(uint16_t partition, std::string_view person);
  // Forgets every cached state of a partition without writing (revocation
  // after a checkpoint).
  void DropPartition(uint16_t partition);

  // Stages dirty states (after `prune` ran on each), then evicts.
  Status Flush(const std::function<void(PersonState&)>& prune);

  size_t size() const { return map_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

  static std::string StateKey(uint16_t partition, std::string_view person);

 private:
  struct Slot {
    PersonState state;
    uint16_t partition = 0;
    bool dirty = false;
    bool erased = false;
    uint64_t epoch = 0;  // flush epoch of the last access
  };
  KvStore* store_;
  size_t capacity_;
  std::unordered_map<std::string, Slot> map_;
  uint64_t epoch_ = 1;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  std::string scratch_;
};

}  // namespace epistream
