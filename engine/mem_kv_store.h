// MemKvStore: an in-memory KvStore (std::map) for tests and ephemeral runs.
//
// Mirrors RocksKvStore's semantics exactly: writes are staged in a separate
// map until Commit(); reads and scans see staged writes; a store destroyed
// without Commit() loses its staged writes; DeleteRange stages one delete per
// key visible in the range; StagedBytes() grows with every staged operation
// (like a write batch, overwrites are not de-duplicated in the count).
// Nothing is durable: committed data lives as long as the object.
//
// Concurrent reads (KvStore::MultiGetCommitted) are exact: each key remembers
// the commit that last wrote it, so UnchangedSince never says false for an
// unchanged key (tests see every prefetch used that may be).
//
// Threading: one owner thread calls every method, except CommittedVersion
// and MultiGetCommitted (any thread; a mutex orders them with Commit).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/kv_store.h"

namespace epistream {

class MemKvStore final : public KvStore {
 public:
  MemKvStore() = default;

  Status Get(std::string_view key, std::string* value, bool* found) override;
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;
  Status DeleteRange(std::string_view begin, std::string_view end) override;
  // An empty `end` means no upper bound (PrefixEnd of an all-0xff prefix).
  Status Scan(std::string_view begin, std::string_view end,
              const ScanFn& fn) override;
  Status Commit() override;
  // In key order, the latest staged write of each key.
  Status ForEachStaged(const StagedFn& fn) const override;
  bool SupportsConcurrentReads() const override { return true; }
  uint64_t CommittedVersion() const override;
  Status MultiGetCommitted(const std::vector<std::string_view>& keys,
                           std::vector<std::string>* values,
                           std::vector<uint8_t>* found) const override;
  bool UnchangedSince(std::string_view key, uint64_t version) override;
  size_t StagedBytes() const override { return staged_bytes_; }
  uint64_t ApproximateSizeBytes() override { return committed_bytes_; }

 private:
  // The staged entry for `key`, created empty if absent.
  std::optional<std::string>& StagedSlot(std::string_view key);

  // nullopt marks a staged delete.
  std::map<std::string, std::optional<std::string>, std::less<>> staged_;
  std::map<std::string, std::string, std::less<>> committed_;
  // The commit (CommittedVersion) that last wrote each key ever committed.
  std::unordered_map<std::string, uint64_t> written_at_;
  // A mutex that lets the store stay copyable and movable (tests reset
  // stores by assignment; nothing may read a store being copied or moved).
  struct Mutex {
    Mutex() = default;
    Mutex(const Mutex&) {}
    Mutex& operator=(const Mutex&) { return *this; }
    std::mutex m;
  };
  // Guards committed_ and version_ between Commit (owner thread, writes)
  // and MultiGetCommitted (any thread); the owner's own reads need no lock.
  mutable Mutex mu_;
  uint64_t version_ = 0;
  size_t staged_bytes_ = 0;
  uint64_t committed_bytes_ = 0;  // sum of key + value sizes in committed_
};

}  // namespace epistream
