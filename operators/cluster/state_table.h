// StateTable<T>: every state of one kind of cluster key (venues,
// communities, clinics, venue activity), held in memory in full and written
// back to the store at Flush (dirty ones only; empty ones deleted).
//
// Cluster keys are few next to persons (venues, communities, clinics of one
// city: 1e4..1e6) and each state is small once pruned, so the whole table is
// loaded at Open and never evicted. T needs Encode(std::string*) const,
// Status Decode(std::string_view) and bool Empty() const.
//
// Threading: owned by the cluster stage thread.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/kv_store.h"
#include "engine/status.h"

namespace epistream {

template <typename T>
class StateTable {
 public:
  StateTable(KvStore* store, std::string prefix)
      : store_(store), prefix_(std::move(prefix)) {}

  Status Load() {
    map_.clear();
    Status decode_error;
    EPI_RETURN_IF_ERROR(store_->Scan(
        prefix_, PrefixEnd(prefix_),
        [&](std::string_view k, std::string_view v) {
          Slot slot;
          Status st = slot.state.Decode(v);
          if (!st.ok()) {
            decode_error = st;
            return false;
          }
          map_.emplace(std::string(k.substr(prefix_.size())), std::move(slot));
          return true;
        }));
    return decode_error;
  }

  // The state of `key`, created empty if absent; marked dirty.
  T& Get(const std::string& key) {
    Slot& slot = map_[key];
    slot.dirty = true;
    return slot.state;
  }
  // The state of `key` or null; marked dirty when found (the caller may change
  // it).
  T* Find(const std::string& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    it->second.dirty = true;
    return &it->second.state;
  }

  // fn(key, state) for every state (unordered: fn must not depend on the
  // order).
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const auto& [k, slot] : map_) fn(k, slot.state);
  }
  // fn(key, state) may change the state; every state is marked dirty.
  template <typename Fn>
  void Update(Fn fn) {
    for (auto& [k, slot] : map_) {
      fn(k, slot.state);
      slot.dirty = true;
    }
  }

  // Stages the dirty states, after prune(state) ran on each; deletes (and
  // forgets) the empty ones. In key order, as writes nothing reads before
  // the commit (KvStore::PutForCommit: no batch index, cheap memtable
  // inserts).
  template <typename Prune>
  void Flush(Prune prune) {
    dirty_.clear();
    for (auto it = map_.begin(); it != map_.end(); ++it) {
      if (it->second.dirty) dirty_.push_back(it);
    }
    std::sort(dirty_.begin(), dirty_.end(),
              [](const auto& a, const auto& b) { return a->first < b->first; });
    for (auto it : dirty_) {
      Slot& slot = it->second;
      prune(slot.state);
      key_.assign(prefix_).append(it->first);
      if (slot.state.Empty()) {
        store_->DeleteForCommit(key_);
        map_.erase(it);  // other iterators stay valid
        continue;
      }
      slot.state.Encode(&scratch_);
      store_->PutForCommit(key_, scratch_);
      slot.dirty = false;
    }
    dirty_.clear();
  }

  size_t size() const { return map_.size(); }

 private:
  struct Slot {
    T state;
    bool dirty = false;
  };
  KvStore* store_;
  std::string prefix_;
  using Map = std::unordered_map<std::string, Slot>;
  Map map_;
  std::vector<typename Map::iterator> dirty_;  // Flush's scratch
  std::string key_;
  std::string scratch_;
};

}  // namespace epistream
