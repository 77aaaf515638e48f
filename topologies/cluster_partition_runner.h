// ClusterPartitionRunner: the cluster side of repartition partition q in
// scale-out mode (operators/cluster/README.md, "Scale-out"). Owns one
// ClusterStage whose keys live under q's own prefix (Q<be16 q>), fed by the
// frames of partition q of `epistream.repartition.cluster`, which N upstream
// (input) partitions write.
//
// Per upstream partition p it keeps the last record seq applied and the
// latest watermark marker: a record with seq <= the last one applied is a
// replay (a person-side restart) and is dropped; the stage's watermark is the
// minimum over all N upstream partitions of their latest marker (a p that
// has sent no marker yet holds it at the minimum), so an evaluation at time
// a runs only once every p has fired its person timers <= a and sent their
// records. A frame that does not decode, names p >= N or carries a record
// the stage rejects as invalid is a dead letter (reason returned, counted),
// never an error.
//
// State: the stage's, plus <prefix> U be16(p) -> (varint last seq, ordered
// i64 marker), all under q's prefix so q moves as one key range; staged by
// Checkpoint (the caller adds its own offsets and commits).
//
// Lifecycle: construct, Open, then OnFrame / OnRegistration; Checkpoint
// before each commit. Threading: one thread (the engine thread).
#pragma once

#include <cstdint>
#include <map>
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

  // Loads the stage and the per-upstream progress.
  Status Open();
  // One message of partition q. On bad input *dead_letter_reason is set (and
  // the call still succeeds); it is cleared otherwise. Alerts are appended.
  Status OnFrame(std::string_view bytes, std::vector<Alert>* alerts,
                 std::string* dead_letter_reason);
  Status OnFrame(const RepartitionFrame& frame, std::vector<Alert>* alerts,
                 std::string* dead_letter_reason);
  // epi.persons moved a person between communities.
  Status OnRegistration(std::string_view before, std::string_view after) {
    return stage_.OnRegistration(before, after);
  }
  // The instance's view of epi.persons (ClusterStage::SetRegisteredCounts).
  void SetRegisteredCounts(const std::map<std::string, int64_t>& counts) {
    stage_.SetRegisteredCounts(counts);
  }
  // Stages the stage's state and the per-upstream progress (no commit).
  Status Checkpoint();

  uint16_t q() const { return q_; }
  const std::string& key_prefix() const { return prefix_; }
  TimestampMs watermark() const { return watermark_; }
  uint64_t last_seq(uint16_t p) const {
    return p < upstream_.size() ? upstream_[p].last_seq : 0;
  }
  uint64_t applied() const { return applied_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t dead_letters() const { return dead_letters_; }
  const ClusterStage& stage() const { return stage_; }

 private:
  struct Upstream {
    uint64_t last_seq = 0;
    TimestampMs marker = kMinTimestamp;
    bool dirty = false;
  };
  std::string UpstreamKey(uint16_t p) const;
  static ClusterStageOptions WithPrefix(ClusterStageOptions o, uint16_t q);

  uint16_t q_;
  std::string prefix_;
  KvStore* store_;
  ClusterStage stage_;
  std::vector<Upstream> upstream_;
  TimestampMs watermark_ = kMinTimestamp;
  RepartitionFrame frame_;
  uint64_t applied_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t dead_letters_ = 0;
};

}  // namespace epistream
