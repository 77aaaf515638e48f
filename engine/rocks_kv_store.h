// RocksKvStore: the durable KvStore, RocksDB with a staged write batch (and a
// hash index of its latest values, for read-your-writes) in front of it.
//
// Lifecycle: Open() creates (if missing) and opens the DB read-write; it also
// creates the process's block cache (LRU, StateConfig::block_cache_bytes) and a
// WriteBufferManager (StateConfig::write_buffer_bytes) charged to that cache,
// both owned by the store: open one read-write store per process, so RocksDB
// memory is bounded by those two figures (plus iterators and the staged
// batch). Destroying the store closes the DB; staged writes not yet committed
// are lost, which is what makes a checkpoint atomic: state and source offsets
// Put before one Commit() land in one write batch, or not at all.
//
// OpenReadOnly() opens a secondary instance (OpenAsSecondary, with a private
// temporary directory removed on destruction) that works while another process
// has the DB open read-write; it sees what the primary had committed when it
// was opened or at the last CatchUp(). Its Put/Delete are refused: Commit()
// and DeleteRange() return InvalidArgument. It has its own small block cache
// (32 MiB) and no write buffers.
//
// Threading: not thread-safe; one owner thread calls every method (RocksDB's
// own background threads flush and compact; after EnableAsyncCommit() the
// store's writer thread runs each commit's DB::Write, touching nothing the
// owner thread changes until Sync()), except CommittedVersion and
// MultiGetCommitted: any thread (a prefetcher), concurrently.
//
// Concurrent reads (KvStore::UnchangedSince): a commit is numbered when it
// is handed to the DB and counted in CommittedVersion once DB::Write
// returned. UnchangedSince(key, v) looks for the key among the staged
// writes, the commit in flight and, for commits counted after v, the key
// hashes of the last synced async commit (kept until the next Sync, built
// on the writer thread); a commit after v it cannot see into (a synchronous
// one, or an older async one) makes it answer false.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/engine_config.h"
#include "engine/kv_store.h"
#include "engine/status.h"
#include "engine/string_hash.h"

namespace rocksdb {
class Cache;
class DB;
class Env;
class WriteBatch;
class WriteBufferManager;
}  // namespace rocksdb

namespace epistream {

class RocksKvStore final : public KvStore {
 public:
  // Opens (creating if missing) the DB in `dir`; cfg.dir is not consulted
  // (the caller resolves an empty dir to a temporary one). Errors (directory
  // not creatable, DB locked by another writer, corruption) come back as
  // Status. `env` replaces RocksDB's default Env (tests inject disk faults with
  // it); it must outlive the store.
  static Result<std::unique_ptr<RocksKvStore>> Open(
      const std::string& dir, const StateConfig& cfg,
      rocksdb::Env* env = nullptr);
  // Read-only view of an existing DB, safe while a writer has it open.
  static Result<std::unique_ptr<RocksKvStore>> OpenReadOnly(
      const std::string& dir);

  RocksKvStore(const RocksKvStore&) = delete;
  RocksKvStore& operator=(const RocksKvStore&) = delete;
  ~RocksKvStore() override;

  Status Get(std::string_view key, std::string* value, bool* found) override;
  // A Put/Delete the batch cannot take (read-only store, key over 4 GiB) is
  // not staged; the error is kept, later writes are dropped, and every later
  // Commit() returns it (the batch would no longer be a consistent checkpoint).
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;
  // Staged in a plain (unindexed) write batch that Commit() appends after the
  // indexed one. Reads stay exact: a Get of, or an indexed Put/Delete to, a
  // key that may be in the plain batch (inside its key range, then by hash),
  // and any Scan, first moves the plain batch into the index, in order. So
  // for each key the plain write is always the later one, and Commit()'s
  // "indexed, then plain" order is the order of the calls.
  void PutForCommit(std::string_view key, std::string_view value) override;
  void DeleteForCommit(std::string_view key) override;
  // Scans [begin, end) and stages one Delete per key: O(keys in the range),
  // because the staged reads (Get, Scan) do not interpret range tombstones.
  Status DeleteRange(std::string_view begin, std::string_view end) override;
  // An empty `end` means no upper bound (PrefixEnd of an all-0xff prefix).
  Status Scan(std::string_view begin, std::string_view end,
              const ScanFn& fn) override;
  // Writes the staged batch (WriteOptions::sync = StateConfig::sync) and clears
  // it. On failure returns the Status and leaves the batch staged (reads still
  // see it). After a WAL write error RocksDB refuses further writes until the
  // store is reopened: treat a failed Commit as fatal to the stage and resume
  // from the last committed checkpoint.
  Status Commit() override;
  // The indexed batch, then the plain one (call order per key, see
  // PutForCommit). Not with an async commit in flight's writes: they are
  // no longer staged.
  Status ForEachStaged(const StagedFn& fn) const override;
  // Async commit (file mode): Commit() hands the batch to a writer thread
  // and returns at once; the next Commit() or Sync() waits for it and
  // returns its failure (after which the store refuses writes, as after a
  // failed synchronous Commit). Reads see the batch in flight: a Get finds
  // its staged value or, for a key that may be in its plain part, waits for
  // the write; a Scan waits. So a checkpoint's RocksDB write (WAL and
  // memtable inserts) overlaps the processing of the next batch; durability
  // lags by one checkpoint until Sync().
  void EnableAsyncCommit();
  // Waits for the commit in flight, if any; its status.
  Status Sync();
  bool SupportsConcurrentReads() const override { return true; }
  uint64_t CommittedVersion() const override;
  // One sorted rocksdb::DB::MultiGet (fill_cache on: the values are about to
  // be used).
  Status MultiGetCommitted(const std::vector<std::string_view>& keys,
                           std::vector<std::string>* values,
                           std::vector<uint8_t>* found) const override;
  bool UnchangedSince(std::string_view key, uint64_t version) override;
  // Bytes of the staged write batch, excluding its fixed header.
  size_t StagedBytes() const override;
  // SST files plus memtables.
  uint64_t ApproximateSizeBytes() override;

  // RocksDB integer properties for metrics, keyed by property name
  // ("rocksdb.total-sst-files-size", "rocksdb.block-cache-usage", ...);
  // properties the DB cannot report are left out.
  std::map<std::string, uint64_t> Stats();

  // Read-only stores: replays what the primary committed since the last call.
  Status CatchUp();
  bool read_only() const { return read_only_; }

 private:
  RocksKvStore(std::unique_ptr<rocksdb::DB> db, bool read_only, bool sync);
  Status IntProperty(const std::string& name, uint64_t* value);
  // True if `key` may have a write in plain_ (never false for one that has).
  bool MaybeInPlain(std::string_view key);
  // Moves plain_ into batch_ (index), in order, and empties it.
  Status IndexPlain();
  void NotePlainKey(std::string_view key);
  void ClearPlain();
  // Stages a Put (value) or Delete (nullptr) into batch_ and staged_.
  void Stage(std::string_view key, const std::string_view* value);
  // Async commit: the writer thread's loop.
  void WriterLoop();
  // The in-flight commit's value for `key`: 1 staged value, 0 deleted,
  // -1 not in its indexed part (then *maybe_plain says whether its plain
  // part may hold it).
  int InFlightLookup(std::string_view key, std::string* value,
                     bool* maybe_plain);

  // Declared before db_ so they outlive it (the DB's tables reference them).
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffer_manager_;
  // OpenReadOnly's private directory, removed after the DB is closed.
  std::string secondary_dir_;
  std::unique_ptr<rocksdb::DB> db_;
  // Put/Delete writes in call order (what Commit writes), and the latest
  // staged value of each of their keys (nullopt: deleted) for Get and Scan:
  // a hash lookup per Get, the sort deferred to the (rare) Scan.
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  std::unordered_map<std::string, std::optional<std::string>, StringViewHash,
                     std::equal_to<>>
      staged_;
  // PutForCommit/DeleteForCommit writes, not indexed; their key range and
  // key hashes (sorted lazily) answer "may this key be in there?".
  std::unique_ptr<rocksdb::WriteBatch> plain_;
  std::string plain_min_;
  std::string plain_max_;
  std::vector<uint64_t> plain_hashes_;
  bool plain_hashes_sorted_ = true;
  size_t empty_batch_bytes_ = 0;  // WriteBatch header size
  Status write_error_;  // first refused Put/Delete, returned by Commit
  bool read_only_ = false;
  bool sync_ = false;

  // Async commit. The in-flight batch and its lookup structures are only
  // read by both threads while inflight_active_; the stage thread replaces
  // them only after Sync().
  struct InFlight;  // the batch and what reads need (rocks_kv_store.cc)

  bool async_ = false;
  std::unique_ptr<InFlight> inflight_;
  // Commits handed to the DB (stage thread) and applied (CommittedVersion).
  uint64_t handed_off_ = 0;
  std::atomic<uint64_t> completed_{0};
  // The last synced async commit: its number and sorted key hashes.
  uint64_t retained_seq_ = 0;
  std::vector<uint64_t> retained_hashes_;
  bool inflight_active_ = false;  // stage thread's view: a job not yet synced
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool job_ready_ = false;  // guarded by mu_
  bool job_done_ = false;   // guarded by mu_
  bool stop_ = false;       // guarded by mu_
  Status job_status_;       // guarded by mu_
};

}  // namespace epistream
