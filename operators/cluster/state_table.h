// StateTable<T>: every state of one kind of cluster key (venues,
// communities, clinics, venue activity), held in memory in full and written
// back to the store at Flush (dirty ones only; empty ones deleted).
//
// Cluster keys are few next to persons (venues, communities, clinics of one
// city: 1e4..1e6) and each state is small once pruned, so the whole table is
// loaded at Open and never evicted. T needs Encode(std::string*) const,
// Status Decode(std::string_view), bool Empty() const and a default
// constructor giving an empty state.
//
// Layout: slots in a deque (stable addresses: a state reference stays valid
// while other keys are added), found through a SlotIndex of 32-bit key
// hashes, with a list of the slots made dirty since the last Flush. A
// lookup is one index bucket and one slot, both of which Prefetch /
// PrefetchSlot can load ahead of use: with a std::unordered_map (hash,
// bucket array, node) the cluster thread's lookups were 45% of its CPU
// (perf, file mode, 1M persons), and Flush walked every node to find the
// dirty ones.
//
// Threading: owned by the cluster stage thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv_store.h"
#include "engine/prefetch.h"
#include "engine/radix_sort.h"
#include "engine/slot_index.h"
#include "engine/state_keys.h"
#include "engine/status.h"

namespace epistream {

template <typename T>
class StateTable {
 public:
  StateTable(KvStore* store, std::string prefix)
      : store_(store), prefix_(std::move(prefix)) {}

  Status Load() {
    slots_.clear();
    free_.clear();
    dirty_.clear();
    index_ = SlotIndex();
    Status decode_error;
    EPI_RETURN_IF_ERROR(store_->Scan(
        prefix_, PrefixEnd(prefix_),
        [&](std::string_view k, std::string_view v) {
          const std::string_view key = k.substr(prefix_.size());
          Slot& slot = slots_[Add(key, HashOf(key))];
          Status st = slot.state.Decode(v);
          if (!st.ok()) {
            decode_error = st;
            return false;
          }
          return true;
        }));
    return decode_error;
  }

  // The hash the lookups below take (computed once per key by a caller
  // that prefetches).
  static uint32_t HashOf(std::string_view key) {
    return static_cast<uint32_t>(std::hash<std::string_view>()(key));
  }

  // The state of `key`, created empty if absent; marked dirty.
  T& Get(std::string_view key) { return Get(key, HashOf(key)); }
  T& Get(std::string_view key, uint32_t hash) {
    int64_t id = FindSlot(key, hash);
    if (id < 0) id = Add(key, hash);
    Slot& slot = slots_[id];
    MarkDirty(static_cast<uint32_t>(id), slot);
    return slot.state;
  }
  // The state of `key` or null; marked dirty when found (the caller may change
  // it).
  T* Find(std::string_view key) {
    const int64_t id = FindSlot(key, HashOf(key));
    if (id < 0) return nullptr;
    Slot& slot = slots_[id];
    MarkDirty(static_cast<uint32_t>(id), slot);
    return &slot.state;
  }

  // Cache hints for a coming lookup of the key with hash `hash`: first the
  // index bucket, then (once that is loaded) the key's slot if it has one.
  void Prefetch(uint32_t hash) const { index_.Prefetch(hash); }
  // (The slot of the first entry with that hash, unverified: comparing the
  // key would wait for the very line being prefetched.)
  void PrefetchSlot(uint32_t hash) const {
    const int64_t id = index_.Find(hash, [](uint32_t) { return true; });
    if (id >= 0) PrefetchLine(&slots_[id]);
  }

  // fn(key, state) for every state (unordered: fn must not depend on the
  // order).
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Slot& slot : slots_) {
      if (slot.live) fn(slot.key, slot.state);
    }
  }
  // fn(key, state) may change the state; every state is marked dirty.
  template <typename Fn>
  void Update(Fn fn) {
    for (uint32_t id = 0; id < slots_.size(); ++id) {
      Slot& slot = slots_[id];
      if (!slot.live) continue;
      fn(slot.key, slot.state);
      MarkDirty(id, slot);
    }
  }

  // Stages the dirty states, after prune(state) ran on each; deletes (and
  // forgets) the empty ones. In key order, as writes nothing reads before
  // the commit (KvStore::PutForCommit: no batch index, cheap memtable
  // inserts).
  template <typename Prune>
  void Flush(Prune prune) {
    // Sorted on copies of the first 8 key bytes (big-endian: integer order
    // is byte order), the keys themselves read only on ties; as
    // PersonCache::Flush sorts (engine/radix_sort.h).
    order_.clear();
    for (uint32_t id : dirty_) order_.push_back({state_keys::OrderPrefix(slots_[id].key), id});
    RadixSortBy(&order_, &order_scratch_, [](const SortKey& k) { return k.prefix; });
    SortTies(
        &order_, [](const SortKey& a, const SortKey& b) { return a.prefix == b.prefix; },
        [this](const SortKey& a, const SortKey& b) { return slots_[a.id].key < slots_[b.id].key; });
    for (const SortKey& k : order_) {
      Slot& slot = slots_[k.id];
      slot.dirty = false;
      prune(slot.state);
      key_.assign(prefix_).append(slot.key);
      if (slot.state.Empty()) {
        store_->DeleteForCommit(key_);
        Remove(k.id);
        continue;
      }
      slot.state.Encode(&scratch_);
      store_->PutForCommit(key_, scratch_);
    }
    dirty_.clear();
  }

  size_t size() const { return index_.size(); }  // every live slot is indexed

 private:
  struct Slot {
    std::string key;
    T state;
    uint32_t hash = 0;
    bool live = false;
    bool dirty = false;  // listed in dirty_
  };
  struct SortKey {
    uint64_t prefix;
    uint32_t id;
  };
  int64_t FindSlot(std::string_view key, uint32_t hash) const {
    return index_.Find(hash, [&](uint32_t id) { return slots_[id].key == key; });
  }
  // A live, clean, empty slot for `key` (absent), indexed.
  uint32_t Add(std::string_view key, uint32_t hash) {
    const uint32_t id = TakeSlot(free_, slots_);
    Slot& slot = slots_[id];
    slot.key.assign(key);
    slot.hash = hash;
    slot.live = true;
    index_.Insert(hash, id);
    return id;
  }
  void Remove(uint32_t id) {
    Slot& slot = slots_[id];
    index_.Erase(slot.hash, id);
    slot.state = T();  // releases the state's memory
    slot.live = false;
    free_.push_back(id);
  }
  void MarkDirty(uint32_t id, Slot& slot) {
    if (slot.dirty) return;
    slot.dirty = true;
    dirty_.push_back(id);
  }

  KvStore* store_;
  std::string prefix_;
  std::deque<Slot> slots_;
  std::vector<uint32_t> free_;   // dead slots, reused by Add
  std::vector<uint32_t> dirty_;  // slots marked dirty since the last Flush
  SlotIndex index_;
  std::vector<SortKey> order_;          // Flush's scratch
  std::vector<SortKey> order_scratch_;  // RadixSortBy's working space
  std::string key_;
  std::string scratch_;
};

}  // namespace epistream
