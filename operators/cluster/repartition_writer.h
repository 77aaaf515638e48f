// RepartitionWriter: the person side of the repartition edge. Frames each
// ClusterRecord of input partition p with (p, seq) and sends it to the
// repartition partitions the RepartitionRouter names; on each watermark
// advance sends WM(p, wm) to every repartition partition for every owned p.
//
// State: p's record seq counter under P<be16 p>Q (varint), so it moves with
// p's other state (changelog) and a replay from p's last checkpoint
// regenerates the same numbers for the same records. Flush stages the
// counters and flushes the frame sink; call it before the checkpoint commit.
// Registrations are not framed: every instance reads epi.persons in full and
// hands them to its own cluster stages (set_registration_listener).
//
// Lifecycle: construct, AddUpstream(p) for each owned input partition (an
// unseen p in OnRecord is added on the fly), OnRecord / OnWatermark, Flush at
// checkpoints, RemoveUpstream after p's final checkpoint.
// Threading: the pipeline's stage thread; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv_store.h"
#include "engine/status.h"
#include "operators/cluster/cluster_edge.h"
#include "operators/cluster/repartition_frame.h"
#include "operators/cluster/repartition_router.h"

namespace epistream {

// Where frames go: a Kafka producer writing to partition q of the
// repartition topic, or a test's in-memory queues.
class RepartitionFrameSink {
 public:
  virtual ~RepartitionFrameSink() = default;
  // Queues one frame for repartition partition q (`key`: the record key,
  // empty for markers; informational).
  virtual Status Write(uint16_t q, std::string_view key,
                       std::string_view frame) = 0;
  // Makes every queued frame durable.
  virtual Status Flush() = 0;
};

class RepartitionWriter final : public ClusterEdge {
 public:
  using RegistrationListener =
      std::function<Status(std::string_view before, std::string_view after)>;

  // Borrowed store and sink; q_count >= 1 repartition partitions.
  // `marker_interval`: a watermark marker goes out when the watermark moved
  // at least this much event time since the last one, and at every Flush
  // (checkpoint); 0 = at every advance. Larger saves frames (each marker is
  // N x Q frames), smaller lets cluster evaluations run sooner.
  RepartitionWriter(KvStore* store, uint16_t q_count,
                    RepartitionFrameSink* sink, DurationMs marker_interval = 0);

  void set_registration_listener(RegistrationListener fn) {
    registration_ = std::move(fn);
  }
  // Takes input partition p (loads its seq counter); idempotent.
  Status AddUpstream(uint16_t p);
  void RemoveUpstream(uint16_t p) { upstream_.erase(p); }

  Status OnRecord(uint16_t upstream, const ClusterRecord& r) override;
  Status OnWatermark(TimestampMs wm) override;
  Status OnRegistration(std::string_view before,
                        std::string_view after) override;
  Status Flush() override;

  // Last seq used by p (0 if none or not owned).
  uint64_t seq(uint16_t p) const;
  uint64_t frames_sent() const { return frames_sent_; }
  uint64_t markers_sent() const { return markers_sent_; }
  static std::string SeqKey(uint16_t p);

 private:
  struct Upstream {
    uint64_t seq = 0;
    TimestampMs marked = kMinTimestamp;  // last marker sent (not persisted)
    bool dirty = false;
  };
  Status Send(uint16_t q, std::string_view key, const RepartitionFrame& f);
  // Sends WM(p, watermark_) for every p whose last marker is older than
  // watermark_ by at least `min_step` (> 0).
  Status SendMarkers(DurationMs min_step);

  KvStore* store_;
  RepartitionRouter router_;
  RepartitionFrameSink* sink_;
  DurationMs marker_interval_;
  TimestampMs watermark_ = kMinTimestamp;
  RegistrationListener registration_;
  std::map<uint16_t, Upstream> upstream_;
  RepartitionFrame frame_;
  std::vector<uint16_t> targets_;
  std::string scratch_;
  uint64_t frames_sent_ = 0;
  uint64_t markers_sent_ = 0;
};

}  // namespace epistream
