// PersonCache: decoded hot person states in memory in front of the store.
//
// A write-back cache: Get returns a mutable state (loaded and decoded on a
// miss, empty for a new person) and marks it dirty; Flush encodes the dirty
// states into the store's staged batch (deleting empty ones) so they commit
// with the next checkpoint, then evicts clean states beyond the capacity,
// least recently flushed first. Encoding once per checkpoint instead of once
// per event is where the cache earns its keep on hot persons.
//
// Flush touches only the states made dirty since the last flush (a list, not
// a walk of the cache) and stages them in key order with PutForCommit: nothing
// reads them before the checkpoint's Commit, and sorted keys make RocksDB's
// memtable inserts sequential.
//
// Memory: besides the entry capacity, an optional byte budget (max_bytes)
// bounds the approximate footprint of the cache: each state's decoded size
// (PersonState::MemoryBytes, measured when it is loaded and at each flush,
// so growth between flushes is seen late) plus its slot and index, and the
// allocations that removed slots keep for reuse. Flush evicts while either
// bound is exceeded, then frees kept allocations while over the budget.
// Between flushes the cache grows by the persons loaded meanwhile.
//
// Behind the decoded states sits an EncodedStateCache (encoded_bytes, 0 =
// none): Flush keeps there the bytes it stages for the store, and a miss
// here looks there before the store, so evicting a clean state costs
// nothing. An encoded entry always equals the store's (staged) value; a
// decoded state, when present, is the newer.
//
// Threading: owned by the person stage thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv_store.h"
#include "engine/slot_index.h"
#include "engine/status.h"
#include "operators/encoded_state_cache.h"
#include "operators/person_state.h"

namespace epistream {

class PersonCache {
 public:
  // At most `capacity` decoded states and (if max_bytes > 0) about max_bytes
  // bytes of them after each Flush; about encoded_bytes of evicted states
  // kept encoded.
  PersonCache(KvStore* store, size_t capacity, size_t max_bytes = 0,
              size_t encoded_bytes = 0)
      : store_(store),
        capacity_(capacity),
        max_bytes_(max_bytes),
        encoded_(encoded_bytes) {}

  // The state of `person` in `partition`, loaded on a miss; marked dirty.
  Result<PersonState*> Get(uint16_t partition, std::string_view person);
  // Drops a person: its stored state is deleted (staged) and any cached copy
  // forgotten.
  void Erase(uint16_t partition, std::string_view person);
  // Forgets every cached state of a partition without writing (revocation
  // after a checkpoint).
  void DropPartition(uint16_t partition);
  // The store holds no person state of `partition` (checked by the owner
  // when it takes the partition on, before any Get of it). From then on
  // every state of it is written by this cache's Flush, so while none has
  // left both tiers (dropped or evicted), a miss of both is a new person
  // and skips the store read. Until DropPartition.
  void SetEmptyInStore(uint16_t partition);

  // Whether `person` may have a cached state, decoded or encoded (of any
  // partition: person ids are the partitioning key, so one person lives in
  // one partition). By the 32-bit hash alone: a probe of each bucket array,
  // no key compare, so rarely true for an absent person (prefetch hints).
  bool MaybeContains(std::string_view person) const {
    return MaybeContainsHash(HashOf(person));
  }
  // Prefetch: unless `person` may be cached already (MaybeContains), and if
  // `current()` vouches that *state is the person's current stored state
  // (KvStore::UnchangedSince), caches it clean (it is the stored one) by
  // swapping: *state comes back cleared, with reusable allocations.
  enum class InstallResult { kCached, kStale, kInstalled };
  template <typename CurrentFn>
  InstallResult Install(uint16_t partition, std::string_view person,
                        PersonState* state, CurrentFn&& current) {
    const uint32_t hash = HashOf(person);
    if (MaybeContainsHash(hash)) return InstallResult::kCached;
    if (!current()) return InstallResult::kStale;
    InstallAbsent(partition, person, hash, state);
    return InstallResult::kInstalled;
  }

  // Stages dirty states (after `prune` ran on each), then evicts.
  Status Flush(const std::function<void(PersonState&)>& prune);

  // Decoded states cached.
  size_t size() const { return live_; }
  // Approximate bytes held by decoded states and the allocations kept by
  // removed slots (with a byte budget: as last measured; without: measured
  // now, a walk of the cache, for summaries).
  size_t bytes() const;
  size_t encoded_size() const { return encoded_.size(); }
  size_t encoded_bytes() const { return encoded_.bytes(); }
  // Whether the store may hold states this cache does not: some state was
  // evicted from both tiers, or a miss found a stored one (a restart). Until
  // then a miss can only be a new person, and loading ahead is wasted work.
  bool MayMissStoredStates() const {
    return dropped_ > 0 || encoded_.evicted() > 0 || loaded_ > 0;
  }
  uint64_t hits() const { return hits_; }
  // Misses of the decoded states that the encoded ones served.
  uint64_t encoded_hits() const { return encoded_hits_; }
  uint64_t misses() const { return misses_; }
  // Misses of both tiers that skipped the store read (SetEmptyInStore).
  uint64_t skipped_reads() const { return skipped_reads_; }

  static std::string StateKey(uint16_t partition, std::string_view person);
  // The common prefix of a partition's state keys.
  static std::string StatePrefix(uint16_t partition);
  // StateKey into *out (replacing its content).
  static void BuildStateKey(uint16_t partition, std::string_view person,
                            std::string* out);
  // The inverse of StateKey; false if `key` is not a person state key.
  static bool ParseStateKey(std::string_view key, uint16_t* partition,
                            std::string_view* person);

 private:
  struct Slot {
    std::string person;
    PersonState state;
    uint32_t hash = 0;  // low 32 bits of the person's hash
    uint16_t partition = 0;
    bool live = false;
    bool dirty = false;
    bool erased = false;
    uint64_t epoch = 0;  // flush epoch of the last access
    EncodedRef encoded;  // the encoded copy this state was read from or written to
    size_t bytes = 0;    // with a byte budget: live: footprint as last measured; free: kept allocations
  };
  static uint32_t HashOf(std::string_view person);
  // Index of the slot of `person`, or -1.
  int64_t Find(std::string_view person, uint32_t hash) const;
  // Whether some cached person (either tier) has hash `hash`.
  bool MaybeContainsHash(uint32_t hash) const {
    return index_.ContainsHash(hash) || encoded_.MaybeContains(hash);
  }
  // Evicts a live (clean) slot; counts it in dropped_ unless it is kept
  // encoded.
  void Evict(uint32_t slot);
  void InstallAbsent(uint16_t partition, std::string_view person, uint32_t hash,
                     PersonState* state);
  uint32_t Insert(uint16_t partition, std::string_view person, uint32_t hash);
  void Remove(uint32_t slot);
  void MarkDirty(uint32_t slot);
  static size_t Footprint(const Slot& slot);
  // Re-measures a live slot's footprint (with a byte budget only).
  void Measure(uint32_t slot);
  bool OverBudget() const {
    return live_ > capacity_ || (max_bytes_ > 0 && live_bytes_ > max_bytes_);
  }

  KvStore* store_;
  size_t capacity_;
  size_t max_bytes_;
  size_t live_bytes_ = 0;  // sum of live slots' bytes (with a byte budget)
  size_t kept_bytes_ = 0;  // sum of free slots' bytes (with a byte budget)
  std::deque<Slot> slots_;  // deque: a returned PersonState* never moves
  std::vector<uint32_t> free_;
  SlotIndex index_;
  size_t live_ = 0;
  EncodedStateCache encoded_;
  std::vector<uint32_t> dirty_;  // slots whose dirty flag is set
  struct SortKey {
    uint16_t partition;
    uint64_t prefix;  // first 8 bytes of the person id, big-endian
    uint32_t id;
  };
  std::vector<SortKey> sort_keys_;  // Flush scratch
  std::string key_;                 // StateKey scratch
  uint64_t epoch_ = 1;
  uint64_t hits_ = 0;
  uint64_t encoded_hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t loaded_ = 0;   // misses that found a stored state
  uint64_t dropped_ = 0;  // decoded states evicted and not kept encoded
  std::vector<bool> empty_in_store_;  // by partition (SetEmptyInStore)
  uint64_t skipped_reads_ = 0;
  std::string scratch_;
};

}  // namespace epistream
