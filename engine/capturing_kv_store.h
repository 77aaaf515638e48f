// CapturingKvStore: a KvStore in front of another one that passes every call
// through, or, between Capture() and Replay(), keeps the writes and replays
// them into the other store afterwards, in the order they were made.
//
// Why: RocksKvStore has one owner thread, and the checkpoint's two flushes
// (the person stage's and the cluster stage's) would both write to it. With
// the cluster stage writing through this store, the cluster thread flushes
// into it while the owner thread flushes the person stage into the real
// store, and the owner replays the cluster writes after both are done: the
// same writes, in the same order, as two flushes one after the other
// (CityPipeline::Checkpoint).
//
// While capturing, only writes are possible: Get, Scan, DeleteRange and
// Commit fail with Internal (a flush only writes), and the first such
// failure is also returned by Replay().
//
// Threading: one thread at a time. Another thread may use the store between
// Capture() and Replay() if the owner hands it over with a happens-before
// edge each way (ClusterWorker's queue and Sync).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv_store.h"

namespace epistream {

class CapturingKvStore final : public KvStore {
 public:
  explicit CapturingKvStore(KvStore* target) : target_(target) {}

  // From now on, writes are kept instead of passed on.
  void Capture() { capturing_ = true; }
  bool capturing() const { return capturing_; }
  // Passes the kept writes on to the target, in order, and stops capturing.
  // Returns the first refused call made while capturing, if any.
  Status Replay();

  Status Get(std::string_view key, std::string* value, bool* found) override;
  void Put(std::string_view key, std::string_view value) override {
    Write(Op::kPut, key, value);
  }
  void Delete(std::string_view key) override { Write(Op::kDelete, key, {}); }
  void PutForCommit(std::string_view key, std::string_view value) override {
    Write(Op::kPutForCommit, key, value);
  }
  void DeleteForCommit(std::string_view key) override {
    Write(Op::kDeleteForCommit, key, {});
  }
  Status DeleteRange(std::string_view begin, std::string_view end) override;
  Status Scan(std::string_view begin, std::string_view end,
              const ScanFn& fn) override;
  Status Commit() override;
  Status ForEachStaged(const StagedFn& fn) const override {
    return target_->ForEachStaged(fn);
  }
  size_t StagedBytes() const override { return target_->StagedBytes(); }
  uint64_t ApproximateSizeBytes() override {
    return target_->ApproximateSizeBytes();
  }

 private:
  enum class Op : uint8_t { kPut, kDelete, kPutForCommit, kDeleteForCommit };
  struct Kept {
    Op op;
    uint32_t key_size;
    uint32_t value_size;
  };
  static void Apply(KvStore* to, Op op, std::string_view key,
                    std::string_view value);
  // Passed on, or kept while capturing.
  void Write(Op op, std::string_view key, std::string_view value);
  void Keep(Op op, std::string_view key, std::string_view value);
  Status Refuse(const char* what);

  KvStore* target_;
  bool capturing_ = false;
  std::vector<Kept> writes_;
  std::string bytes_;  // each write's key then value, in order
  Status error_;
};

}  // namespace epistream
