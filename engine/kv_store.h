// KvStore: the ordered key-value state store behind every stateful operator.
//
// Writes are staged and become durable together at Commit(): a checkpoint is
// one atomic write batch holding the state changes *and* the source positions
// that produced them (callers Put the offsets like any other key before
// Commit). Reads and scans see staged writes (read-your-writes), so hot keys
// never lose updates between checkpoints.
//
// Threading: not thread-safe; one owner thread (the stage's event loop) calls
// every method, except the two marked thread-safe below (CommittedVersion,
// MultiGetCommitted), which another thread may call concurrently with the
// owner's calls (never with the store's destruction). Implementations:
// MemKvStore (tests, ephemeral runs) and RocksKvStore (RocksDB with a staged
// batch in front).
//
// Reads off the owner thread (operators/person_prefetcher.h): a helper
// thread reads committed data ahead of use; the owner thread later asks
// UnchangedSince() whether each value read is still the key's current one
// before using it. The protocol, for a key K:
//   helper: v = CommittedVersion(); MultiGetCommitted({K, ...})
//   owner:  if (UnchangedSince(K, v)) the value read is K's value now.
// UnchangedSince is false when a write of K is staged, in flight, or was
// committed after version v (or the store cannot tell): a prefetched value
// never overwrites a newer one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace epistream {

class KvStore {
 public:
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

  virtual ~KvStore() = default;

  // Sets *found and, when found, *value. Sees staged writes.
  virtual Status Get(std::string_view key, std::string* value, bool* found) = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
  // The same as Put/Delete (same batch, same order, read-your-writes), tuned
  // for a flush of many keys that nothing reads before Commit(): a checkpoint
  // writing back its cache. RocksKvStore keeps them out of its batch index
  // until a read or a write of the same key needs them there; callers that
  // pass keys in ascending order also get cheap memtable inserts.
  virtual void PutForCommit(std::string_view key, std::string_view value) { Put(key, value); }
  virtual void DeleteForCommit(std::string_view key) { Delete(key); }
  // Stages deletion of every key in [begin, end).
  virtual Status DeleteRange(std::string_view begin, std::string_view end) = 0;

  // Visits keys in [begin, end) in byte order, staged writes merged in; stops
  // early when fn returns false. fn must not write to the store.
  virtual Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) = 0;

  // Atomically and durably applies every staged write (one batch).
  virtual Status Commit() = 0;

  // Visits every write staged since the last Commit(), in call order (a key
  // written twice may be visited twice, the later visit wins); `value` is
  // null for a delete. For changelogs (engine/changelog_writer.h): reading
  // the batch at checkpoint time keeps Put/Delete free of any capture cost.
  // Internal from stores that cannot enumerate their batch.
  using StagedFn = std::function<void(std::string_view key, const std::string_view* value)>;
  virtual Status ForEachStaged(const StagedFn& fn) const {
    (void)fn;
    return Status::Internal("this store cannot enumerate staged writes");
  }

  // --- Reads off the owner thread (see the file comment) ---
  // Whether the three calls below work (the defaults do not).
  virtual bool SupportsConcurrentReads() const { return false; }
  // Thread-safe. Counts the commits whose writes reached the committed data;
  // grows by one per commit. The default (0 forever) goes with the defaults
  // below: no concurrent reads.
  virtual uint64_t CommittedVersion() const { return 0; }
  // Thread-safe. Point reads of committed data only (neither staged writes
  // nor a commit still in flight are guaranteed to be seen): for each key,
  // (*found)[i] and, when found, (*values)[i]. Keys sorted ascending and
  // distinct (stores may read them in one sorted pass). Unimplemented by
  // default.
  virtual Status MultiGetCommitted(const std::vector<std::string_view>& keys,
                                   std::vector<std::string>* values,
                                   std::vector<uint8_t>* found) const {
    (void)keys;
    (void)values;
    (void)found;
    return Status::Internal("this store cannot read from another thread");
  }
  // Owner thread. True only if a value MultiGetCommitted read for `key`
  // after CommittedVersion() returned `version` is still its current value:
  // no write of `key` is staged or in flight, and no commit after `version`
  // wrote it. May say false for an unchanged key (then the caller reads it
  // again with Get), never true for a changed one. Default: false.
  virtual bool UnchangedSince(std::string_view key, uint64_t version) {
    (void)key;
    (void)version;
    return false;
  }

  // Bytes staged since the last Commit (to bound checkpoint size).
  virtual size_t StagedBytes() const = 0;
  // Approximate bytes of committed data (metrics, memory bench).
  virtual uint64_t ApproximateSizeBytes() = 0;

 protected:
  // DeleteRange as one staged Delete per key Scan visits in [begin, end):
  // O(keys in the range), because staged reads (Get, Scan) would not
  // interpret a range tombstone.
  Status DeleteEachKeyIn(std::string_view begin, std::string_view end);
};

// Smallest key greater than every key starting with `prefix` (for Scan ends).
std::string PrefixEnd(std::string_view prefix);

}  // namespace epistream
