// KvStore: the ordered key-value state store behind every stateful operator.
//
// Writes are staged and become durable together at Commit(): a checkpoint is
// one atomic write batch holding the state changes *and* the source positions
// that produced them (callers Put the offsets like any other key before
// Commit). Reads and scans see staged writes (read-your-writes), so hot keys
// never lose updates between checkpoints.
//
// Threading: not thread-safe; one owner thread (the stage's event loop) calls
// every method. Implementations: MemKvStore (tests, ephemeral runs) and
// RocksKvStore (RocksDB with a WriteBatchWithIndex in front).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

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

  // Bytes staged since the last Commit (to bound checkpoint size).
  virtual size_t StagedBytes() const = 0;
  // Approximate bytes of committed data (metrics, memory bench).
  virtual uint64_t ApproximateSizeBytes() = 0;
};

// Smallest key greater than every key starting with `prefix` (for Scan ends).
std::string PrefixEnd(std::string_view prefix);

}  // namespace epistream
