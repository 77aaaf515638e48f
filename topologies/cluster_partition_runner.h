// ClusterPartitionRunner: the cluster side of repartition partition q in
// scale-out mode (operators/cluster/README.md, "Scale-out"). Owns one
// ClusterStage whose keys live under q's own prefix (Q<be16 q>), fed by the
// frames of partition q of `epistream.repartition.cluster`, which N upstream
// (input) partitions write (frame types: repartition_frame.h).
//
// Exactly-once (README "Commits and takeovers"): per upstream p it keeps the
// current owner generation, the seq up to which p's frames are applied, and
// the pending record and watermark frames of that generation (by seq).
//   - A commit C(p, S) of the current generation applies the pending frames
//     with seq <= S in seq order; of another generation it is ignored (a
//     fenced-off owner's).
//   - A takeover T(p, S) of a new generation applies the pending frames with
//     seq <= S (committed by the dead owner's checkpoint, whose commit frame
//     may never have come), drops the rest (its uncommitted output, which the
//     new owner replays) and makes the new generation current.
//   - Data frames of another generation, or with seq <= applied, are dropped.
// So what reaches the stage from p is exactly what p's checkpoints hold, in
// each checkpoint's own order, whatever order a replay made after a crash.
// The stage's watermark is the minimum over all N upstream partitions of
// their latest applied marker (one that has sent none holds it at the
// minimum). A frame that does not decode, names p >= N or carries a record
// the stage would reject is a dead letter (reason returned, counted), never
// an error.
//
// Restart of the runner itself: pending frames are not in the checkpointed
// state, so Checkpoint stores two offsets, resume = the earliest pending
// frame's (else the next to read) and decided = the next to read. Reading
// again from resume, frames below decided only rebuild the pending sets
// (their commits and takeovers are already in the state, their dead letters
// already written); from decided on, frames are new. Nothing is lost or
// applied twice.
//
// State (all under q's prefix, so q moves as one key range): the stage's,
// <prefix> U be16(p) -> (varint applied seq, ordered i64 marker, varint
// generation), <prefix> O -> (be64 resume, be64 decided). Staged by
// Checkpoint (the caller commits).
//
// Lifecycle: construct, Open, then OnFrame / OnRegistration; Checkpoint
// before each commit. Threading: one thread (the engine thread).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv_store.h"
#include "engine/status.h"
#include "operators/alert.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/cluster/repartition_frame.h"

namespace epistream {

class ClusterPartitionRunner {
 public:
  // `stage_options.key_prefix` is replaced by q's prefix. upstream_count N
  // is the number of input partitions (>= 1).
  ClusterPartitionRunner(const ClusterStageOptions& stage_options,
                         KvStore* store, uint16_t q, uint16_t upstream_count);

  // Loads the stage, the per-upstream progress and the stored offsets.
  Status Open();
  // The message of partition q at `offset` (offsets increase by call). On
  // bad input *dead_letter_reason is set (and the call still succeeds); it
  // is cleared otherwise. Alerts are appended.
  Status OnFrame(int64_t offset, std::string_view bytes,
                 std::vector<Alert>* alerts, std::string* dead_letter_reason);
  Status OnFrame(int64_t offset, const RepartitionFrame& frame,
                 std::vector<Alert>* alerts, std::string* dead_letter_reason);
  // epi.persons moved a person between communities.
  Status OnRegistration(std::string_view before, std::string_view after) {
    return stage_.OnRegistration(before, after);
  }
  // The instance's view of epi.persons (ClusterStage::SetRegisteredCounts).
  void SetRegisteredCounts(const std::map<std::string, int64_t>& counts) {
    stage_.SetRegisteredCounts(counts);
  }
  // Stages the stage's state, the per-upstream progress and, once a frame
  // was read since Open, the resume and decided offsets (no commit).
  Status Checkpoint();

  // Where to read q from after Open on a store holding `q`'s range: the
  // stored resume offset (nullopt: from the beginning).
  static Result<std::optional<int64_t>> StoredResumeOffset(KvStore* store,
                                                           uint16_t q);
  static std::string OffsetKey(uint16_t q);

  uint16_t q() const { return q_; }
  const std::string& key_prefix() const { return prefix_; }
  TimestampMs watermark() const { return watermark_; }
  // Seq up to which p's frames are applied.
  uint64_t applied_seq(uint16_t p) const {
    return p < upstream_.size() ? upstream_[p].applied : 0;
  }
  uint64_t generation(uint16_t p) const {
    return p < upstream_.size() ? upstream_[p].generation : 0;
  }
  // Offset to resume from if the runner restarted from a checkpoint now.
  int64_t resume_offset() const;
  size_t pending() const;
  uint64_t applied() const { return applied_; }
  uint64_t duplicates() const { return duplicates_; }
  // Data frames voided: uncommitted at a takeover, or of a generation
  // that is not current (a fenced-off owner's).
  uint64_t discarded() const { return discarded_; }
  // Takeovers below what was already applied: a checkpoint committed after
  // the new owner restored p (only a live, fenced-off owner can do that);
  // the runner keeps what it applied and drops the new owner's frames up to
  // it, as seq dedupe would.
  uint64_t fence_violations() const { return fence_violations_; }
  uint64_t dead_letters() const { return dead_letters_; }
  const ClusterStage& stage() const { return stage_; }

 private:
  struct Pending {
    RepartitionFrame frame;
    int64_t offset = 0;
  };
  struct Upstream {
    uint64_t applied = 0;
    uint64_t generation = 0;
    TimestampMs marker = kMinTimestamp;
    std::map<uint64_t, Pending> pending;  // by seq, current generation only
    bool dirty = false;
  };
  std::string UpstreamKey(uint16_t p) const;
  static ClusterStageOptions WithPrefix(ClusterStageOptions o, uint16_t q);
  // Applies p's pending frames with seq <= s, in seq order.
  Status Apply(uint16_t p, uint64_t s, std::vector<Alert>* alerts);
  // The record would be rejected by the stage (InvalidArgument).
  static bool Invalid(const ClusterRecord& r);

  uint16_t q_;
  std::string prefix_;
  KvStore* store_;
  ClusterStage stage_;
  std::vector<Upstream> upstream_;
  TimestampMs watermark_ = kMinTimestamp;
  RepartitionFrame frame_;
  int64_t decided_ = 0;  // frames below were processed before the checkpoint
  int64_t next_ = -1;    // next offset to read; -1: none read since Open
  uint64_t applied_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t discarded_ = 0;
  uint64_t fence_violations_ = 0;
  uint64_t dead_letters_ = 0;
};

}  // namespace epistream
