#include "engine/rocks_kv_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_buffer_manager.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "engine/rocksdb_logger.h"
#include "engine/rocksdb_status.h"

namespace epistream {
namespace {

bool Supported(rocksdb::CompressionType type) {
  const std::vector<rocksdb::CompressionType> all =
      rocksdb::GetSupportedCompressions();
  return std::find(all.begin(), all.end(), type) != all.end();
}

// Options shared by the writer and the read-only view.
rocksdb::Options BaseOptions() {
  rocksdb::Options o;
  o.max_background_jobs =
      2;  // the host has 2 cores shared by the whole process
  o.compaction_style = rocksdb::kCompactionStyleLevel;
  o.level_compaction_dynamic_level_bytes = true;
  // Hot levels: LZ4 (cheap to decode on every Get); bottom level: ZSTD, where
  // most of the bytes settle. Debian's librocksdb links both; fall back anyway.
  o.compression = Supported(rocksdb::kLZ4Compression) ? rocksdb::kLZ4Compression
                                                      : rocksdb::kNoCompression;
  o.bottommost_compression =
      Supported(rocksdb::kZSTD) ? rocksdb::kZSTD : o.compression;
  o.keep_log_file_num = 4;
  // The info log goes to stderr, not to a LOG file on the state disk: see
  // engine/rocksdb_logger.h (a full disk aborted inside RocksDB otherwise).
  o.info_log = NewRocksdbLogger();
  return o;
}

rocksdb::BlockBasedTableOptions TableOptions(
    std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = std::move(cache);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks count against the cache, so the cache size really
  // bounds read memory; L0's stay pinned as they are probed on every Get.
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  return t;
}

std::unique_ptr<rocksdb::WriteBatchWithIndex> NewBatch() {
  // overwrite_key: one index entry per key, required by NewIteratorWithBase.
  return std::make_unique<rocksdb::WriteBatchWithIndex>(
      rocksdb::BytewiseComparator(), 0,
      /*overwrite_key=*/true);
}

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ToView(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

}  // namespace

Result<std::unique_ptr<RocksKvStore>> RocksKvStore::Open(const std::string& dir,
                                                         const StateConfig& cfg,
                                                         rocksdb::Env* env) {
  rocksdb::Options options = BaseOptions();
  options.create_if_missing = true;
  if (env != nullptr) options.env = env;
  auto cache = rocksdb::NewLRUCache(cfg.block_cache_bytes);
  auto wbm = std::make_shared<rocksdb::WriteBufferManager>(
      cfg.write_buffer_bytes, cache);
  options.write_buffer_manager = wbm;
  // Several memtables fit in the shared budget: one flushes while others fill.
  options.write_buffer_size =
      std::clamp<uint64_t>(cfg.write_buffer_bytes / 4, 1ull << 20, 64ull << 20);
  options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(TableOptions(cache)));

  // Created here so RocksDB does not log a (harmless) NotFound error for a
  // fresh directory; a failure surfaces from DB::Open below.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  rocksdb::DB* raw = nullptr;
  EPI_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(options, dir, &raw), "open state " + dir));
  std::unique_ptr<RocksKvStore> store(new RocksKvStore(
      std::unique_ptr<rocksdb::DB>(raw), /*read_only=*/false, cfg.sync));
  store->block_cache_ = std::move(cache);
  store->write_buffer_manager_ = std::move(wbm);
  return store;
}

Result<std::unique_ptr<RocksKvStore>> RocksKvStore::OpenReadOnly(
    const std::string& dir) {
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  if (ec) {
    return Status::IoError("temp dir for read-only state: " + ec.message());
  }
  std::string secondary = (tmp / "epistream-secondary-XXXXXX").string();
  if (mkdtemp(secondary.data()) == nullptr) {
    return Status::IoError("mkdtemp " + secondary + ": " +
                           std::strerror(errno));
  }
  rocksdb::Options options = BaseOptions();
  options.max_open_files = -1;  // required by secondary instances
  options.create_if_missing = false;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(
      TableOptions(rocksdb::NewLRUCache(32ull << 20))));

  rocksdb::DB* raw = nullptr;
  Status st =
      FromRocks(rocksdb::DB::OpenAsSecondary(options, dir, secondary, &raw),
                "open read-only state " + dir);
  if (!st.ok()) {
    std::filesystem::remove_all(secondary, ec);
    return st;
  }
  std::unique_ptr<RocksKvStore> store(new RocksKvStore(
      std::unique_ptr<rocksdb::DB>(raw), /*read_only=*/true, false));
  store->secondary_dir_ = std::move(secondary);  // the destructor removes it
  EPI_RETURN_IF_ERROR(store->CatchUp());
  return store;
}

RocksKvStore::RocksKvStore(std::unique_ptr<rocksdb::DB> db, bool read_only,
                           bool sync)
    : db_(std::move(db)),
      batch_(NewBatch()),
      read_only_(read_only),
      sync_(sync) {
  empty_batch_bytes_ = batch_->GetDataSize();
  if (read_only_) {
    write_error_ = Status::InvalidArgument("state store is read-only");
  }
}

RocksKvStore::~RocksKvStore() {
  // Staged writes are dropped on purpose: only Commit() makes them durable.
  batch_.reset();
  // Every commit is already in the WAL; a Close failure here has no
  // one left to report to, and reopening recovers from the WAL anyway.
  db_->Close().PermitUncheckedError();
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Status RocksKvStore::Get(std::string_view key, std::string* value,
                         bool* found) {
  rocksdb::Status s = batch_->GetFromBatchAndDB(
      db_.get(), rocksdb::ReadOptions(), ToSlice(key), value);
  *found = s.ok();
  if (s.IsNotFound()) return Status::Ok();
  return FromRocks(s, "state get");
}

void RocksKvStore::Put(std::string_view key, std::string_view value) {
  if (!write_error_.ok()) return;
  write_error_ =
      FromRocks(batch_->Put(ToSlice(key), ToSlice(value)), "state put");
}

void RocksKvStore::Delete(std::string_view key) {
  if (!write_error_.ok()) return;
  write_error_ = FromRocks(batch_->Delete(ToSlice(key)), "state delete");
}

Status RocksKvStore::DeleteRange(std::string_view begin, std::string_view end) {
  EPI_RETURN_IF_ERROR(write_error_);
  std::vector<std::string> keys;
  EPI_RETURN_IF_ERROR(
      Scan(begin, end, [&keys](std::string_view k, std::string_view) {
        keys.emplace_back(k);
        return true;
      }));
  for (const std::string& k : keys) Delete(k);
  return write_error_;
}

Status RocksKvStore::Scan(std::string_view begin, std::string_view end,
                          const ScanFn& fn) {
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper = ToSlice(end);  // must outlive the iterators
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  // The merged iterator owns and deletes the base DB iterator.
  std::unique_ptr<rocksdb::Iterator> it(batch_->NewIteratorWithBase(
      db_->DefaultColumnFamily(), db_->NewIterator(ro), &ro));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    const std::string_view key = ToView(it->key());
    // The staged side is bounded here; the DB side by iterate_upper_bound.
    if (!end.empty() && key >= end) break;
    if (!fn(key, ToView(it->value()))) break;
  }
  return FromRocks(it->status(), "state scan");
}

Status RocksKvStore::Commit() {
  EPI_RETURN_IF_ERROR(write_error_);
  if (batch_->GetWriteBatch()->Count() == 0) return Status::Ok();
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  EPI_RETURN_IF_ERROR(
      FromRocks(db_->Write(wo, batch_->GetWriteBatch()), "state commit"));
  batch_->Clear();
  return Status::Ok();
}

size_t RocksKvStore::StagedBytes() const {
  return batch_->GetDataSize() - empty_batch_bytes_;
}

Status RocksKvStore::IntProperty(const std::string& name, uint64_t* value) {
  if (!db_->GetIntProperty(name, value)) {
    return Status::NotFound("rocksdb property " + name);
  }
  return Status::Ok();
}

uint64_t RocksKvStore::ApproximateSizeBytes() {
  uint64_t sst = 0;
  uint64_t mem = 0;
  // A missing property counts as 0: this figure is for metrics only.
  IntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst).IgnoreError();
  IntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &mem)
      .IgnoreError();
  return sst + mem;
}

std::map<std::string, uint64_t> RocksKvStore::Stats() {
  static const std::string* const kNames[] = {
      &rocksdb::DB::Properties::kTotalSstFilesSize,
      &rocksdb::DB::Properties::kCurSizeAllMemTables,
      &rocksdb::DB::Properties::kBlockCacheUsage,
      &rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
      &rocksdb::DB::Properties::kEstimateNumKeys,
      &rocksdb::DB::Properties::kActualDelayedWriteRate,
      &rocksdb::DB::Properties::kIsWriteStopped,
  };
  std::map<std::string, uint64_t> out;
  for (const std::string* name : kNames) {
    uint64_t v = 0;
    if (IntProperty(*name, &v).ok()) out.emplace(*name, v);
  }
  return out;
}

Status RocksKvStore::CatchUp() {
  if (!read_only_) return Status::Ok();
  return FromRocks(db_->TryCatchUpWithPrimary(), "read-only state catch-up");
}

}  // namespace epistream
