// PersonCache: decoded hot person states in memory in front of the store.
//
// A write-back cache in two tiers. Get returns a mutable state (loaded and
// decoded on a miss, empty for a new person), valid until the next Get or
// Install, and marks it dirty. At most `capacity` states stay decoded: a
// miss first makes room by evicting one (a clock: a state got since the
// hand last passed is spared once). A dirty victim is pruned, encoded and
// kept in the EncodedStateCache behind (encoded_bytes, 0 = none) as a dirty
// entry; Flush, at each checkpoint, stages every dirty state of both tiers
// into the store's batch in key order (PutForCommit: nothing reads them
// before the checkpoint's Commit, and sorted keys make RocksDB's memtable
// inserts sequential) and deletes empty ones.
//
// Why evict at Get and not at Flush: every person touched between two
// checkpoints (~300k at 1M persons) stayed decoded until the flush, ~1-6 KB
// of scattered lists each, so loads decoded into cold memory and the flush
// encoded from it. A small decoded tier stays in the CPU caches; only hot
// persons (several events between checkpoints) are encoded once per
// checkpoint, the others once per event either way.
//
// Memory: besides the entry capacity, an optional byte budget (max_bytes)
// bounds the approximate footprint of the decoded states: each state's
// decoded size (PersonState::MemoryBytes, measured when it is loaded and at
// each flush, so growth between flushes is seen late) plus its slot and
// index, and the allocations that removed slots keep for reuse. Get evicts
// while either bound is reached; Flush evicts while one is exceeded, then
// frees kept allocations while over the budget.
//
// The encoded tier: a miss here looks there before the store, so evicting
// a clean state costs nothing. A clean encoded entry equals the store's
// (staged) value (or, installed by a prefetch, is an empty state where the
// store has none), a dirty one is newer; a decoded state, when present, is
// newer than both (it takes over a dirty entry's write when loaded from it).
// A dirty victim the encoded tier cannot keep (budget) is staged at once.
//
// Threading: owned by the person stage thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
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

  // Runs on every dirty state before it is encoded (eviction and Flush):
  // the owner's retention pruning. Default: none.
  void set_prune(std::function<void(PersonState&)> prune) { prune_ = std::move(prune); }

  // The state of `person` in `partition`, loaded on a miss; marked dirty.
  // Valid until the next Get or Install (which may evict it).
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
  // Memory hints for a coming Get of `person`, whose cold path is two
  // dependent cache misses (the encoded index's bucket, then the entry):
  // PrefetchIndex some events ahead, then PrefetchEntry with the hash it
  // returned a few events later. Hints only: nothing changes.
  uint32_t PrefetchIndex(std::string_view person) const {
    const uint32_t hash = HashOf(person);
    encoded_.PrefetchBucket(hash);
    return hash;
  }
  void PrefetchEntry(uint32_t hash) const { encoded_.PrefetchEntry(hash); }
  // Prefetch: unless `person` may be cached already (MaybeContains), and if
  // `current()` vouches that *state is the person's current stored state
  // (KvStore::UnchangedSince), caches it clean (it is the stored one):
  // encoded (decoded by swapping if the encoded tier cannot keep it). *state
  // comes back cleared, with reusable allocations.
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

  // Stages the dirty states of both tiers (the decoded ones pruned first),
  // then evicts beyond the bounds.
  Status Flush();

  // Whether, right after a Flush, the encoded tier holds every stored state
  // of `partition`: it was empty in the store when taken on
  // (SetEmptyInStore) and no state has left or missed the encoded tier.
  bool HoldsEveryStoredState(uint16_t partition) const {
    return partition < empty_in_store_.size() && empty_in_store_[partition] && dropped_ == 0 &&
           unkept_ == 0 && encoded_.evicted() == 0;
  }
  // Calls fn(partition, person, bytes) for each encoded state, in no
  // order, until it returns false. No other call meanwhile.
  template <typename Fn>
  void ForEachEncoded(Fn&& fn) const {
    encoded_.ForEach(std::forward<Fn>(fn));
  }
  // Replaces a clean person's state (the daily retention sweep, right after
  // a Flush): staged for the store, kept encoded, any decoded copy dropped.
  void Rewrite(uint16_t partition, std::string_view person, std::string_view bytes);

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
    bool referenced = false;  // got since the clock hand last passed
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
  // Before a load: evicts by the clock until one more state fits the bounds,
  // writing dirty victims back (WriteBack, to the encoded tier).
  void MakeRoom();
  // Prunes and encodes a dirty slot: at a checkpoint into the store's batch
  // and a clean encoded entry, else into a dirty encoded entry (the store's
  // batch if not kept). The slot is clean after.
  void WriteBack(uint32_t slot, bool checkpoint);
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
  bool AtBudget() const {
    return live_ >= capacity_ || (max_bytes_ > 0 && live_bytes_ >= max_bytes_);
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
    bool encoded;     // id is an encoded entry, else a slot (first on ties)
    uint64_t prefix;  // state_keys::OrderPrefix of the person id
    uint32_t id;
  };
  // The person of a sort key (an encoded entry no longer dirty: "").
  std::string_view PersonOf(const SortKey& k) const;
  // Sort keys of the dirty encoded entries written since the last Flush
  // (some may be clean again by then: checked when staged).
  std::vector<SortKey> evicted_keys_;
  std::function<void(PersonState&)> prune_;
  size_t hand_ = 0;  // the clock's next candidate slot
  std::vector<SortKey> sort_keys_;     // Flush scratch
  std::vector<SortKey> sort_scratch_;  // RadixSortBy's working space
  std::string key_;                 // StateKey scratch
  uint64_t epoch_ = 1;
  uint64_t hits_ = 0;
  uint64_t encoded_hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t loaded_ = 0;   // misses that found a stored state
  uint64_t dropped_ = 0;  // decoded states evicted and not kept encoded
  uint64_t unkept_ = 0;   // written states the encoded tier did not keep
  std::vector<bool> empty_in_store_;  // by partition (SetEmptyInStore)
  uint64_t skipped_reads_ = 0;
  std::string scratch_;
};

}  // namespace epistream
