#include "engine/rocks_kv_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>
#include <spdlog/spdlog.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "engine/radix_sort.h"
#include "engine/rocksdb_logger.h"
#include "engine/rocksdb_status.h"
#include "engine/state_keys.h"

namespace epistream {
namespace {

// The nice value of the commit thread (WriterLoop says why).
constexpr int kWriterNice = 10;

bool Supported(rocksdb::CompressionType type) {
  const std::vector<rocksdb::CompressionType> all =
      rocksdb::GetSupportedCompressions();
  return std::find(all.begin(), all.end(), type) != all.end();
}

// The family of a state key (engine/state_keys.h): 'P' + be16 partition +
// sub, 'G' + sub, else the first byte. A checkpoint writes each family's keys
// mostly in order (person states sorted per partition, timers by time) but
// interleaved with the other families'; a memtable insert hint per family
// lets each insert start from the previous insert of its family instead of
// walking the skip list down from the top: the checkpoint writer thread's
// CPU 2.94 -> 2.42 s over the first 3M records of the 1M-person city (perf,
// two runs each).
class KeyFamily : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "epistream.KeyFamily"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    size_t n = 1;
    if (key[0] == state_keys::kPartitioned) n = 4;
    if (key[0] == state_keys::kGlobal) n = 2;
    return rocksdb::Slice(key.data(), std::min(n, key.size()));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return !key.empty();
  }
};

// Options shared by the writer and the read-only view.
rocksdb::Options BaseOptions() {
  rocksdb::Options o;
  o.max_background_jobs =
      2;  // the host has 2 cores shared by the whole process
  o.compaction_style = rocksdb::kCompactionStyleLevel;
  o.level_compaction_dynamic_level_bytes = true;
  // LZ4 on every level, the bottom one too: person states are rewritten on
  // most events, so compaction runs all the time, and ZSTD at the bottom cost
  // 13% of file mode's CPU in compression plus its decompression on reads
  // (perf, 1M persons). LZ4 there: -7..15% CPU per event for +12% disk
  // (462 MB vs 411 MB). Debian's librocksdb links LZ4; fall back anyway.
  o.compression = Supported(rocksdb::kLZ4Compression) ? rocksdb::kLZ4Compression
                                                      : rocksdb::kNoCompression;
  o.bottommost_compression = o.compression;
  // But none on L0: its files live only until the next L0 compaction reads
  // them back, and LZ4 shrank a flush by 24% (599 -> 455 MB over the first
  // 5M records of the 1M-person city) for most of the flush thread's CPU
  // (LZ4 compression 1.5 -> 0.4 s, decompression 0.47 -> 0.15 s; flush
  // thread -15..30%). With dynamic level bytes, entry 0 is L0 and entry i
  // the i-th level from the base level down.
  o.compression_per_level.assign(7, o.compression);
  o.compression_per_level[0] = rocksdb::kNoCompression;
  o.memtable_insert_with_hint_prefix_extractor = std::make_shared<KeyFamily>();
  o.keep_log_file_num = 4;
  // The info log goes to stderr, not to a LOG file on the state disk: see
  // engine/rocksdb_logger.h (a full disk aborted inside RocksDB otherwise).
  o.info_log = NewRocksdbLogger();
  // Point lookups of evicted or new persons dominate reads: a whole-key
  // bloom filter over each memtable lets a Get skip the skiplist walk (cache
  // misses) for keys the memtable does not hold.
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
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
  // Partitioned (4 KiB) index and filter blocks under a pinned top level: a
  // Get loads one small partition. With whole-file filters, a 40 MB table's
  // ~1 MB filter block was evicted by data blocks and read back and
  // checksummed on the next Get: 74% of file-mode CPU (perf) in the first
  // 3M records of a 1M-person city.
  t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  t.partition_filters = true;
  t.metadata_block_size = 4096;
  t.pin_top_level_index_and_filter = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  // A hash index inside each data block: a point lookup finds its key
  // without the binary search over restart points.
  t.data_block_index_type =
      rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  return t;
}

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

// Rebuilds *out as `a` then `b` (one batch), in *out's own buffer.
//
// Why in its buffer: the in-flight batch is rebuilt at every checkpoint
// that has both indexed and plain writes, ~20 MB at 100k events/s in Kafka
// mode. Built in a fresh string each time, that cost ~18 ms of the stage
// thread per checkpoint (perf of the latency phase: page faults of the new
// buffer, then the copy) while every arriving event waited. A batch's
// string keeps its capacity through Clear() and moves, so the reused
// in-flight batch stops faulting after the first checkpoint.
//
// A batch's representation is a 12-byte header (8-byte sequence, 4-byte
// little-endian count) followed by its records (rocksdb/db/write_batch.cc),
// so the records of `b` are appended as bytes and the count summed; the
// count is read back as a check of that layout. `out` is neither a nor b.
Status ConcatBatches(const rocksdb::WriteBatch& a, const rocksdb::WriteBatch& b,
                     rocksdb::WriteBatch* out) {
  constexpr size_t kHeader = 12;
  const uint32_t count = a.Count() + b.Count();
  // Data() is the batch's own string (a non-const member, so taking it is
  // defined); the batch is replaced as a whole below.
  std::string rep = std::move(const_cast<std::string&>(out->Data()));
  rep.assign(a.Data());
  rep.append(b.Data(), kHeader, std::string::npos);
  for (int i = 0; i < 4; ++i) {
    rep[8 + i] = static_cast<char>((count >> (8 * i)) & 0xff);
  }
  // Through the constructor: it marks the content flags (HasPut, ...) for
  // recomputation.
  *out = rocksdb::WriteBatch(std::move(rep));
  if (out->Count() != count) {
    return Status::Internal("state commit: unexpected write batch layout");
  }
  return Status::Ok();
}
std::string_view ToView(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

}  // namespace

struct RocksKvStore::InFlight {
  rocksdb::WriteBatch batch;  // reused: its buffer keeps its capacity (ConcatBatches)
  std::unordered_map<std::string, std::optional<std::string>, StringViewHash,
                     std::equal_to<>>
      staged;
  std::string plain_min;
  std::string plain_max;
  // The plain records' key hashes, in write order: read by both threads
  // while in flight, changed by neither.
  std::vector<uint64_t> plain_hashes;
  // A sorted copy of plain_hashes, made by the stage thread on its first
  // lookup (most commits have none: no sort on the stage thread).
  std::vector<uint64_t> plain_sorted;
  bool plain_sorted_ready = false;
  // Whether plain_hashes may hold `hash` (stage thread).
  bool MaybePlain(std::string_view key) {
    if (plain_hashes.empty() || key < plain_min || key > plain_max) return false;
    if (!plain_sorted_ready) {
      plain_sorted.assign(plain_hashes.begin(), plain_hashes.end());
      std::sort(plain_sorted.begin(), plain_sorted.end());
      plain_sorted_ready = true;
    }
    return std::binary_search(plain_sorted.begin(), plain_sorted.end(),
                              std::hash<std::string_view>()(key));
  }
  uint64_t seq = 0;  // the commit's number (RocksKvStore::handed_off_)
  // Every key's hash, sorted: built by the writer thread after the write,
  // kept (retained_hashes_) after Sync for UnchangedSince.
  std::vector<uint64_t> key_hashes;
  std::vector<uint64_t> sort_scratch;  // RadixSortBy's working space
};

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
  // Two memtables (max_write_buffer_number) share the budget: one flushes
  // while the other fills. Half the budget each, not a quarter (which left
  // half of it unused): half as many L0 files, so the L0 -> bottom-level
  // compactions, each of which rewrites the whole bottom level (every file
  // holds keys of every person), run half as often.
  // First 5M records of the 1M-person city: compaction CPU 3.3 -> 2.0 s
  // (perf); person reads (whose block cache now gives up to 128 MiB, not
  // 64, to memtables) unchanged within noise; memtable inserts +5%.
  // The alternative of 8 L0 files before a compaction (instead of 4) saved
  // as much compaction but made every person read probe twice as many L0
  // files: +0.9 s of reads.
  options.write_buffer_size =
      std::clamp<uint64_t>(cfg.write_buffer_bytes / 2, 1ull << 20, 64ull << 20);
  options.max_write_buffer_number = 2;
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
      batch_(std::make_unique<rocksdb::WriteBatch>()),
      plain_(std::make_unique<rocksdb::WriteBatch>()),
      read_only_(read_only),
      sync_(sync) {
  empty_batch_bytes_ = batch_->GetDataSize();
  if (read_only_) {
    write_error_ = Status::InvalidArgument("state store is read-only");
  }
}

RocksKvStore::~RocksKvStore() {
  // A commit in flight was accepted: finish it (its failure has no one left
  // to report to; the last durable checkpoint is then the one before).
  if (async_) {
    Sync().IgnoreError();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    writer_.join();
  }
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
  if (MaybeInPlain(key)) EPI_RETURN_IF_ERROR(IndexPlain());
  if (auto it = staged_.find(key); it != staged_.end()) {
    *found = it->second.has_value();
    if (*found) value->assign(*it->second);
    return Status::Ok();
  }
  if (inflight_active_) {
    bool maybe_plain = false;
    const int got = InFlightLookup(key, value, &maybe_plain);
    if (got >= 0) {
      *found = got == 1;
      return Status::Ok();
    }
    if (maybe_plain) EPI_RETURN_IF_ERROR(Sync());  // then the DB has it
  }
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ToSlice(key), value);
  *found = s.ok();
  if (s.IsNotFound()) return Status::Ok();
  return FromRocks(s, "state get");
}

void RocksKvStore::Put(std::string_view key, std::string_view value) {
  if (!write_error_.ok()) return;
  if (MaybeInPlain(key)) {
    write_error_ = IndexPlain();
    if (!write_error_.ok()) return;
  }
  Stage(key, &value);
}

void RocksKvStore::Delete(std::string_view key) {
  if (!write_error_.ok()) return;
  if (MaybeInPlain(key)) {
    write_error_ = IndexPlain();
    if (!write_error_.ok()) return;
  }
  Stage(key, nullptr);
}

void RocksKvStore::Stage(std::string_view key, const std::string_view* value) {
  write_error_ =
      value != nullptr
          ? FromRocks(batch_->Put(ToSlice(key), ToSlice(*value)), "state put")
          : FromRocks(batch_->Delete(ToSlice(key)), "state delete");
  if (!write_error_.ok()) return;
  auto it = staged_.find(key);
  if (it == staged_.end())
    it = staged_.emplace(std::string(key), std::nullopt).first;
  if (value == nullptr) {
    it->second.reset();
  } else if (it->second.has_value()) {
    it->second->assign(*value);
  } else {
    it->second.emplace(*value);
  }
}

Status RocksKvStore::DeleteRange(std::string_view begin, std::string_view end) {
  EPI_RETURN_IF_ERROR(write_error_);
  EPI_RETURN_IF_ERROR(DeleteEachKeyIn(begin, end));
  return write_error_;
}

Status RocksKvStore::Scan(std::string_view begin, std::string_view end,
                          const ScanFn& fn) {
  if (plain_->Count() > 0) EPI_RETURN_IF_ERROR(IndexPlain());
  if (inflight_active_) EPI_RETURN_IF_ERROR(Sync());
  // Staged keys in range, sorted (scans are rare: a listing, a daily sweep,
  // a partition load), merged with the DB's; a staged entry wins.
  using StagedRef =
      std::pair<std::string_view, const std::optional<std::string>*>;
  std::vector<StagedRef> staged;
  for (const auto& [k, v] : staged_) {
    if (k >= begin && (end.empty() || k < end)) staged.emplace_back(k, &v);
  }
  std::sort(
      staged.begin(), staged.end(),
      [](const StagedRef& a, const StagedRef& b) { return a.first < b.first; });
  rocksdb::ReadOptions ro;
  // Scans (a daily retention sweep over every person, partition loads) would
  // evict the point lookups' hot blocks: read around the block cache.
  ro.fill_cache = false;
  const rocksdb::Slice upper = ToSlice(end);  // must outlive the iterator
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  it->Seek(ToSlice(begin));
  size_t si = 0;
  for (;;) {
    const bool db_ok = it->Valid();
    const bool st_ok = si < staged.size();
    if (!db_ok && !st_ok) break;
    const std::string_view db_key =
        db_ok ? ToView(it->key()) : std::string_view();
    if (st_ok && (!db_ok || staged[si].first <= db_key)) {
      const StagedRef& ref = staged[si++];
      if (db_ok && ref.first == db_key)
        it->Next();  // shadowed by the staged entry
      if (ref.second->has_value() && !fn(ref.first, **ref.second)) break;
      continue;
    }
    if (!fn(db_key, ToView(it->value()))) break;
    it->Next();
  }
  return FromRocks(it->status(), "state scan");
}

namespace {

// Forwards a write batch's records to a KvStore::StagedFn.
class StagedVisitor : public rocksdb::WriteBatch::Handler {
 public:
  explicit StagedVisitor(const KvStore::StagedFn& fn) : fn_(fn) {}
  rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    const std::string_view v(value.data(), value.size());
    fn_(std::string_view(key.data(), key.size()), &v);
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& key) override {
    fn_(std::string_view(key.data(), key.size()), nullptr);
    return rocksdb::Status::OK();
  }

 private:
  const KvStore::StagedFn& fn_;
};

}  // namespace

Status RocksKvStore::ForEachStaged(const StagedFn& fn) const {
  StagedVisitor visitor(fn);
  EPI_RETURN_IF_ERROR(FromRocks(batch_->Iterate(&visitor), "staged writes"));
  return FromRocks(plain_->Iterate(&visitor), "staged writes");
}

Status RocksKvStore::Commit() {
  EPI_RETURN_IF_ERROR(write_error_);
  if (inflight_active_) EPI_RETURN_IF_ERROR(Sync());
  rocksdb::WriteBatch* indexed = batch_.get();
  const uint32_t plain_count = plain_->Count();
  if (indexed->Count() == 0 && plain_count == 0) return Status::Ok();
  if (async_) {
    // Hand the batch over with what reads need to see through it.
    if (!inflight_) inflight_ = std::make_unique<InFlight>();
    InFlight& f = *inflight_;
    if (plain_count == 0) {
      std::swap(f.batch, *batch_);
    } else if (indexed->Count() == 0) {
      std::swap(f.batch, *plain_);
    } else {
      EPI_RETURN_IF_ERROR(ConcatBatches(*indexed, *plain_, &f.batch));
    }
    f.staged.swap(staged_);
    f.plain_min.swap(plain_min_);
    f.plain_max.swap(plain_max_);
    f.plain_hashes.swap(plain_hashes_);
    f.plain_sorted_ready = false;
    batch_->Clear();
    staged_.clear();
    ClearPlain();
    f.seq = ++handed_off_;
    inflight_active_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ready_ = true;
      job_done_ = false;
    }
    cv_.notify_all();
    return Status::Ok();
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  ++handed_off_;
  Status written;
  if (plain_count == 0) {
    written = FromRocks(db_->Write(wo, indexed), "state commit");
  } else if (indexed->Count() == 0) {
    written = FromRocks(db_->Write(wo, plain_.get()), "state commit");
  } else {
    // One atomic batch: the indexed records, then the plain ones.
    rocksdb::WriteBatch both;
    EPI_RETURN_IF_ERROR(ConcatBatches(*indexed, *plain_, &both));
    written = FromRocks(db_->Write(wo, &both), "state commit");
  }
  // Counted even when it failed: concurrent reads must treat whatever it
  // may have applied as new.
  completed_.fetch_add(1, std::memory_order_release);
  EPI_RETURN_IF_ERROR(written);
  batch_->Clear();
  staged_.clear();
  ClearPlain();
  return Status::Ok();
}

void RocksKvStore::EnableAsyncCommit() {
  if (async_ || read_only_) return;
  async_ = true;
  writer_ = std::thread([this] { WriterLoop(); });
  pthread_setname_np(writer_.native_handle(), "epi-commit");
}

void RocksKvStore::WriterLoop() {
  // Niced: nothing waits for a commit until the next checkpoint, while
  // every event that arrives right after one waits for the stage thread,
  // which the commit's memtable inserts (~20% of file mode's CPU) competed
  // with on a 2-core host. Latency phase, 6 + 6 alternating runs at nice
  // 10: consumed -> applied p99 56/61/72/64/66/93 -> 38/74/36/102/33/55 ms
  // (median 65 -> 46.5); file mode 389k/387k -> 397k/395k events/s; Kafka
  // mode within noise (bench/README.md, session 16). Raising one's own nice
  // value needs no privilege; if it fails, the commit runs as before.
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kWriterNice) != 0) {
    spdlog::debug("state commit thread: setpriority failed: {}", std::strerror(errno));
  }
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return job_ready_ || stop_; });
    if (!job_ready_) return;  // stop_
    job_ready_ = false;
    lock.unlock();
    rocksdb::WriteOptions wo;
    wo.sync = sync_;
    Status st = FromRocks(db_->Write(wo, &inflight_->batch), "state commit");
    completed_.fetch_add(1, std::memory_order_release);
    // The commit's key hashes, for UnchangedSince once it is synced (the
    // stage thread only reads staged and plain_hashes while in flight).
    InFlight& f = *inflight_;
    f.key_hashes.clear();
    f.key_hashes.reserve(f.staged.size() + f.plain_hashes.size());
    for (const auto& entry : f.staged) {
      f.key_hashes.push_back(std::hash<std::string_view>()(entry.first));
    }
    f.key_hashes.insert(f.key_hashes.end(), f.plain_hashes.begin(),
                        f.plain_hashes.end());
    // Radix, not std::sort: ~170k random hashes per checkpoint in file mode,
    // where std::sort's mispredicted compares were 1% of all CPU (perf).
    RadixSortBy(&f.key_hashes, &f.sort_scratch, [](uint64_t h) { return h; });
    lock.lock();
    job_status_ = std::move(st);
    job_done_ = true;
    cv_.notify_all();
  }
}

Status RocksKvStore::Sync() {
  if (!inflight_active_) return Status::Ok();
  Status st;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return job_done_; });
    st = std::move(job_status_);
    job_status_ = Status::Ok();
  }
  inflight_active_ = false;
  retained_seq_ = inflight_->seq;
  retained_hashes_.swap(inflight_->key_hashes);
  inflight_->key_hashes.clear();
  inflight_->batch.Clear();
  inflight_->staged.clear();
  inflight_->plain_hashes.clear();
  inflight_->plain_sorted_ready = false;
  if (!st.ok() && write_error_.ok()) write_error_ = st;
  return st;
}

int RocksKvStore::InFlightLookup(std::string_view key, std::string* value,
                                 bool* maybe_plain) {
  InFlight& f = *inflight_;
  if (auto it = f.staged.find(key); it != f.staged.end()) {
    if (!it->second.has_value()) return 0;
    value->assign(*it->second);
    return 1;
  }
  *maybe_plain = f.MaybePlain(key);
  return -1;
}

uint64_t RocksKvStore::CommittedVersion() const {
  return completed_.load(std::memory_order_acquire);
}

Status RocksKvStore::MultiGetCommitted(
    const std::vector<std::string_view>& keys, std::vector<std::string>* values,
    std::vector<uint8_t>* found) const {
  const size_t n = keys.size();
  values->resize(n);
  found->assign(n, 0);
  if (n == 0) return Status::Ok();
  std::vector<rocksdb::Slice> slices;
  slices.reserve(n);
  for (std::string_view k : keys) slices.push_back(ToSlice(k));
  std::vector<rocksdb::PinnableSlice> got(n);
  std::vector<rocksdb::Status> statuses(n);
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), n,
                slices.data(), got.data(), statuses.data(),
                /*sorted_input=*/true);
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) continue;
    EPI_RETURN_IF_ERROR(FromRocks(statuses[i], "state multiget"));
    (*found)[i] = 1;
    (*values)[i].assign(got[i].data(), got[i].size());
  }
  return Status::Ok();
}

bool RocksKvStore::UnchangedSince(std::string_view key, uint64_t version) {
  if (!write_error_.ok()) return false;
  if (MaybeInPlain(key) || staged_.find(key) != staged_.end()) return false;
  const uint64_t hash = std::hash<std::string_view>()(key);
  uint64_t last_unseen = completed_.load(std::memory_order_acquire);
  if (inflight_active_) {
    InFlight& f = *inflight_;
    if (f.staged.find(key) != f.staged.end()) return false;
    if (f.MaybePlain(key)) return false;
    // The commit in flight (applied or not) has just been looked into.
    last_unseen = std::min(last_unseen, f.seq - 1);
  }
  // Commits version+1 .. last_unseen were applied after the read began.
  if (last_unseen <= version) return true;
  if (last_unseen != version + 1 || retained_seq_ != last_unseen) return false;
  return !std::binary_search(retained_hashes_.begin(), retained_hashes_.end(),
                             hash);
}

size_t RocksKvStore::StagedBytes() const {
  return batch_->GetDataSize() - empty_batch_bytes_ +
         (plain_->GetDataSize() - empty_batch_bytes_);
}

void RocksKvStore::PutForCommit(std::string_view key, std::string_view value) {
  if (!write_error_.ok()) return;
  write_error_ =
      FromRocks(plain_->Put(ToSlice(key), ToSlice(value)), "state put");
  if (write_error_.ok()) NotePlainKey(key);
}

void RocksKvStore::DeleteForCommit(std::string_view key) {
  if (!write_error_.ok()) return;
  write_error_ = FromRocks(plain_->Delete(ToSlice(key)), "state delete");
  if (write_error_.ok()) NotePlainKey(key);
}

void RocksKvStore::NotePlainKey(std::string_view key) {
  if (plain_hashes_.empty()) {
    plain_min_.assign(key);
    plain_max_.assign(key);
  } else if (key < plain_min_) {
    plain_min_.assign(key);
  } else if (key > plain_max_) {
    plain_max_.assign(key);
  }
  plain_hashes_.push_back(std::hash<std::string_view>()(key));
  plain_hashes_sorted_ = false;
}

bool RocksKvStore::MaybeInPlain(std::string_view key) {
  if (plain_hashes_.empty() || key < plain_min_ || key > plain_max_)
    return false;
  if (!plain_hashes_sorted_) {
    std::sort(plain_hashes_.begin(), plain_hashes_.end());
    plain_hashes_sorted_ = true;
  }
  return std::binary_search(plain_hashes_.begin(), plain_hashes_.end(),
                            std::hash<std::string_view>()(key));
}

Status RocksKvStore::IndexPlain() {
  // Replays the plain records into the indexed batch, in their order.
  class Replay : public rocksdb::WriteBatch::Handler {
   public:
    explicit Replay(RocksKvStore* to) : to_(to) {}
    rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& k,
                          const rocksdb::Slice& v) override {
      const std::string_view value = ToView(v);
      to_->Stage(ToView(k), &value);
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& k) override {
      to_->Stage(ToView(k), nullptr);
      return rocksdb::Status::OK();
    }

   private:
    RocksKvStore* to_;
  };
  Replay replay(this);
  EPI_RETURN_IF_ERROR(FromRocks(plain_->Iterate(&replay), "state index"));
  EPI_RETURN_IF_ERROR(write_error_);
  ClearPlain();
  return Status::Ok();
}

void RocksKvStore::ClearPlain() {
  plain_->Clear();
  plain_hashes_.clear();
  plain_hashes_sorted_ = true;
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
