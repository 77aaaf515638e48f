// PersonPrefetcher: loads person states ahead of use on a helper thread, so
// the stage thread finds them in its PersonCache instead of paying for a
// RocksDB point lookup (block read, decompression, decode) per cache miss.
//
// The stage thread looks ahead over the next records, collects the state
// keys of the persons its cache lacks (PersonStage::PlanPrefetch) into a
// PrefetchBatch and Submits it; the helper thread sorts and de-duplicates
// the keys, reads them with one KvStore::MultiGetCommitted (a sorted
// rocksdb::DB::MultiGet) and decodes each state. The stage thread Takes the
// batch back just before processing those records and installs what is
// still current (PersonStage::InstallPrefetched): the helper reads committed
// data only, so the stage thread asks KvStore::UnchangedSince for each key
// (no staged, in-flight or later-committed write) and skips persons already
// cached. A prefetched value therefore never replaces a newer state, and a
// skipped or failed prefetch only means the ordinary cache miss later:
// outputs do not depend on prefetching, its batch sizes or its timing.
//
// Lifecycle (engine/batch_worker.h): construct (starts the thread) on the
// stage thread; Submit and Take in FIFO order; every submitted batch is
// Taken (Drain before giving up on a pipeline run); destroy (joins) before
// the store goes.
//
// Threading: Submit, Take, Drain, Recycle and the destructor on the stage
// thread only; the helper thread touches a batch only between its Submit
// and its Take, and the store only through its thread-safe reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/batch_worker.h"
#include "engine/kv_store.h"
#include "engine/status.h"
#include "operators/person_state.h"

namespace epistream {

// One look-ahead: keys in, decoded states out. Buffers are reused (Recycle).
struct PrefetchBatch {
  enum Outcome : uint8_t { kNotFound = 0, kFound = 1, kUnusable = 2 };

  // Filled by the stage thread: state keys (PersonCache::StateKey layout),
  // any order, repeats allowed.
  std::vector<std::string> keys;
  // Filled by the helper thread: keys sorted and distinct; for each, the
  // result and (kFound) the decoded state (kNotFound: a cleared state).
  // kUnusable: undecodable; the stage thread's own read reports it.
  std::vector<Outcome> results;
  std::vector<PersonState> states;
  // KvStore::CommittedVersion() taken before the read.
  uint64_t version = 0;
  // A failed read makes the whole batch unusable (the hint is dropped).
  Status read_status;

  void Clear() {
    keys.clear();
    results.clear();
    version = 0;
    read_status = Status::Ok();
  }
};

struct PrefetchCounters {
  uint64_t batches = 0;    // batches taken back
  uint64_t keys = 0;       // distinct keys read
  uint64_t installed = 0;  // states put into the cache
  uint64_t stale = 0;      // skipped: changed since the read
  uint64_t cached = 0;     // skipped: cached by the time of install
  uint64_t failed = 0;     // batches dropped (read error)
};

class PersonPrefetcher {
 public:
  // `store` must support concurrent reads and outlive the prefetcher.
  explicit PersonPrefetcher(KvStore* store);
  PersonPrefetcher(const PersonPrefetcher&) = delete;
  PersonPrefetcher& operator=(const PersonPrefetcher&) = delete;

  // An empty batch to fill (a recycled one when available).
  std::unique_ptr<PrefetchBatch> NewBatch();
  // Queues a batch for the helper thread.
  void Submit(std::unique_ptr<PrefetchBatch> batch) { worker_.Submit(std::move(batch)); }
  // Waits for the oldest submitted batch and returns it; null if none is
  // outstanding.
  std::unique_ptr<PrefetchBatch> Take() { return worker_.Take(); }
  // Gives a taken batch's buffers back for reuse.
  void Recycle(std::unique_ptr<PrefetchBatch> batch) { worker_.Recycle(std::move(batch)); }
  // Takes and recycles every outstanding batch.
  void Drain() { worker_.Drain(); }
  size_t outstanding() const { return worker_.outstanding(); }
  // CPU time of the helper thread so far (summaries, benches).
  double cpu_seconds() const { return worker_.cpu_seconds(); }

 private:
  // Helper thread: sort, read, decode one batch.
  void Load(PrefetchBatch* batch);

  KvStore* store_;
  // Helper thread scratch.
  std::vector<std::string_view> views_;
  std::vector<std::string> values_;
  std::vector<uint8_t> found_;
  BatchWorker<PrefetchBatch> worker_;  // last: its thread uses the members above
};

}  // namespace epistream
