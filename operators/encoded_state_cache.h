// EncodedStateCache: person states in their stored (encoded) form, in memory,
// behind the decoded PersonCache.
//
// A decoded state costs ~3 KB of memory (its lists, strings and the
// capacity a reused slot keeps), its encoding ~260 bytes. So the decoded
// cache holds the hot persons, and the bytes each checkpoint writes are kept
// here too, where a whole city's working set fits in a few hundred MiB: a
// miss of the decoded cache decodes them from memory (~0.3 us) instead of
// reading RocksDB (~5 us: block cache misses, LZ4, checksums).
//
// A clean entry is exactly the bytes the store holds (or has staged) for
// the person, so using one is the same as reading the store; the owner keeps
// it so (Put with every write, Erase with every delete, DropPartition on
// revocation). A dirty entry (Put with dirty = true: a decoded state evicted
// between checkpoints) is newer than the store: the owner, which keeps the
// list of them, stages each at the next checkpoint (DirtyEntry, MarkClean,
// then Staged). Dirty entries are never evicted, so until then the cache
// may exceed its budget by what they hold.
//
// An EncodedRef names one version of one entry: the slot and the stamp of
// the Put that wrote it (stamps are never reused). Holders of a ref check it
// with Current() instead of a lookup by id: one record read, no hashing, no
// id or bytes compare (the caches' hot path is memory-bound).
//
// Layout: each entry is one allocation (a header with the sizes and the
// stamp, the person id, the bytes) and a record in a slot array; the index
// keeps the allocation's address with the hash, so a lookup reads the
// bucket and then the allocation (two dependent misses on a cold entry, not
// three: the record is read only to change the entry).
//
// Memory: at most about max_bytes (one allocation per entry with the id and
// the bytes, its record and its index share); beyond that, entries go in the
// order of a clock hand sweeping the slots (roughly oldest first; a cache of
// the whole working set rarely evicts). max_bytes == 0 keeps nothing.
//
// Threading: owned by the person stage thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/prefetch.h"
#include "engine/slot_index.h"

namespace epistream {

struct EncodedRef {
  uint32_t id = 0;
  uint64_t stamp = 0;  // 0: no entry
};

class EncodedStateCache {
 public:
  explicit EncodedStateCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // `hash` is the caller's 32-bit hash of `person`, the same for every call.
  // The bytes of `person` (valid until the next change) and their ref, or
  // false if absent.
  bool Find(std::string_view person, uint32_t hash, std::string_view* bytes,
            EncodedRef* ref) const;
  // Whether `ref` still names the current bytes of its entry.
  bool Current(EncodedRef ref) const {
    return ref.stamp != 0 && ref.id < entries_.size() && entries_[ref.id].stamp == ref.stamp;
  }
  // Cache hints for a coming Find of a person with hash `hash`: first its
  // index bucket, then (once that has arrived) the start of its entry and
  // its record.
  void PrefetchBucket(uint32_t hash) const { index_.Prefetch(hash); }
  void PrefetchEntry(uint32_t hash) const;
  // Whether some entry has hash `hash` (may be another person: hints only).
  bool MaybeContains(uint32_t hash) const { return index_.ContainsHash(hash); }
  // Keeps `bytes` as the state of `person` in `partition`, replacing any;
  // *ref (in: the person's entry as last seen, if Current found without a
  // lookup; out: the new version, or no entry if not kept). `dirty`: the
  // store does not have these bytes yet (see the file comment).
  void Put(uint16_t partition, std::string_view person, uint32_t hash,
           std::string_view bytes, EncodedRef* ref, bool dirty = false);
  // If `ref` is current and dirty, marks it clean: the caller took over
  // writing it (it decoded the entry to change it).
  void TakeDirty(EncodedRef ref);
  void Erase(std::string_view person, uint32_t hash);
  void DropPartition(uint16_t partition);

  // Whether entry `id` is dirty, and if so its partition, person and bytes.
  bool DirtyEntry(uint32_t id, uint16_t* partition, std::string_view* person,
                  std::string_view* bytes) const;
  // Cache hints for a coming DirtyEntry(id): the record, then (once it
  // has arrived) the first lines of its bytes.
  void PrefetchRecord(uint32_t id) const {
    if (id < entries_.size()) PrefetchLine(&entries_[id]);
  }
  void PrefetchBytes(uint32_t id) const {
    if (id >= entries_.size()) return;
    const char* p = entries_[id].data.get();
    if (p == nullptr) return;
    PrefetchLine(p);
    PrefetchLine(p + 64);
  }
  // Entry `id` staged by the owner: clean.
  void MarkClean(uint32_t id) {
    if (id < entries_.size()) entries_[id].dirty = false;
  }
  // The owner staged every dirty entry (MarkClean on each): evicts back
  // within the budget.
  void Staged();

  // Calls fn(partition, person, bytes) for each entry, in slot order, until
  // it returns false; fn must not change the cache.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Entry& e : entries_) {
      if (e.data == nullptr) continue;
      if (!fn(e.partition, PersonOf(e), BytesOf(e))) {
        return;
      }
    }
  }

  size_t size() const { return index_.size(); }
  // Approximate bytes held by the live entries (see Footprint).
  size_t bytes() const { return bytes_; }
  // Entries the clock hand dropped to make room.
  uint64_t evicted() const { return evicted_; }

 private:
  // The start of an entry's allocation (then the person id, then the
  // bytes): what a lookup needs without the record.
  struct Header {
    uint32_t person_size;
    uint32_t value_size;
    uint64_t stamp;
  };
  static constexpr size_t kHeader = sizeof(Header);
  struct Entry {
    std::unique_ptr<char[]> data;  // Header, person id, state bytes; null = free
    uint32_t person_size = 0;
    uint32_t value_size = 0;
    uint32_t hash = 0;
    uint16_t partition = 0;
    bool dirty = false;  // newer than the store
    uint64_t stamp = 0;  // of the Put that wrote the bytes; 0 = free
  };
  static std::string_view PersonOf(const Entry& e) {
    return std::string_view(e.data.get() + kHeader, e.person_size);
  }
  static std::string_view BytesOf(const Entry& e) {
    return std::string_view(e.data.get() + kHeader + e.person_size, e.value_size);
  }
  // Writes e's sizes and stamp into its allocation's header.
  static void WriteHeader(Entry& e);
  // The header at the start of an allocation (copied out: the bytes are
  // only char-aligned as far as the type system knows).
  static Header HeaderAt(const char* data) {
    Header h;
    std::memcpy(&h, data, sizeof h);
    return h;
  }
  // The entry of `person`, or kNoEntry; *data (if given): its allocation.
  int64_t Lookup(std::string_view person, uint32_t hash, const char** data = nullptr) const;
  void Remove(uint32_t id);
  static constexpr int64_t kNoEntry = -1;
  // Evicts clean entries until `need` more bytes fit the budget, sparing
  // entry `keep`; gives up after one turn of the hand (all dirty) until an
  // entry is cleaned or removed.
  void MakeRoom(size_t need, int64_t keep);
  // Bytes allocated for an entry's header, id and state: rounded up to 16.
  static size_t Capacity(size_t person_size, size_t value_size) {
    return (kHeader + person_size + value_size + 15) & ~size_t{15};
  }
  static size_t Capacity(const Entry& e) { return Capacity(e.person_size, e.value_size); }
  // The allocation, the record, and two index buckets (load <= 1/2).
  static size_t Footprint(size_t person_size, size_t value_size) {
    return Capacity(person_size, value_size) + sizeof(Entry) + 2 * Index::kBucketBytes;
  }
  static size_t Footprint(const Entry& e) { return Footprint(e.person_size, e.value_size); }

  size_t max_bytes_;
  size_t bytes_ = 0;  // sum of live entries' Footprint
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  using Index = BasicSlotIndex<const char*>;  // payload: the entry's data
  Index index_;
  size_t hand_ = 0;  // next eviction candidate
  // A whole turn of the hand found only dirty entries: MakeRoom gives up at
  // once until something becomes clean or leaves (not a turn per Put).
  bool all_dirty_ = false;
  uint64_t next_stamp_ = 1;
  uint64_t evicted_ = 0;
};

}  // namespace epistream
