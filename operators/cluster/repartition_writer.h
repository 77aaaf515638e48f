// RepartitionWriter: the person side of the repartition edge. Frames each
// ClusterRecord of input partition p with (p, generation, seq) and sends it
// to the repartition partitions the RepartitionRouter names; on each
// watermark advance sends WM(p, wm) to every repartition partition for every
// owned p (repartition_frame.h has the frame types).
//
// Exactly-once protocol (operators/cluster/README.md, "Commits and
// takeovers"): AddUpstream(p) draws a new generation for p and sends the
// takeover T(p, S) to every repartition partition, S = the seq of p's
// restored checkpoint; records and markers then take seqs S+1, S+2, ...;
// Flush (inside the checkpoint, before the commit) makes them durable and
// notes each p's seq; OnCommitted (after the commit) sends C(p, seq) for
// every p that moved. Runners apply a frame only when a commit or takeover
// covers it, so what a dead owner sent after its last commit is voided by
// the next owner's takeover and replaced by the replay, in whatever order
// the replay makes it.
//
// State: p's seq counter under P<be16 p>Q (varint), so it moves with p's
// other state (changelog). Registrations are not framed: every instance
// reads epi.persons in full and hands them to its own cluster stages
// (set_registration_listener).
//
// Lifecycle: construct, AddUpstream(p) for each owned input partition (an
// unseen p in OnRecord is added on the fly), OnRecord / OnWatermark, Flush
// before and OnCommitted after each checkpoint commit, RemoveUpstream after
// p's final checkpoint.
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

  using GenerationSource = std::function<uint64_t()>;

  void set_registration_listener(RegistrationListener fn) {
    registration_ = std::move(fn);
  }
  // Where generations come from (default: RandomGeneration). Tests pin them.
  void set_generation_source(GenerationSource fn) {
    generation_source_ = std::move(fn);
  }
  // A fresh owner generation: 64 random bits (random_device mixed with the
  // clock), never 0. Runners compare generations for equality only, so
  // uniqueness is all that matters.
  static uint64_t RandomGeneration();

  // Takes input partition p: loads its committed seq counter, draws a new
  // generation and sends the takeover T(p, seq) to every repartition
  // partition. Idempotent while p is held.
  Status AddUpstream(uint16_t p);
  void RemoveUpstream(uint16_t p) { upstream_.erase(p); }

  Status OnRecord(uint16_t upstream, const ClusterRecord& r) override;
  Status OnWatermark(TimestampMs wm) override;
  Status OnRegistration(std::string_view before,
                        std::string_view after) override;
  Status Flush() override;
  // The checkpoint that Flush prepared was committed: sends C(p, seq at that
  // Flush) to every repartition partition for each p whose seq moved since
  // its last commit frame. Not calling it (a crash, a failed commit) is
  // safe: the next commit or the next owner's takeover covers the frames.
  Status OnCommitted();

  // Last seq used by p (0 if none or not owned).
  uint64_t seq(uint16_t p) const;
  // p's current generation (0 if not owned).
  uint64_t generation(uint16_t p) const;
  uint64_t frames_sent() const { return frames_sent_; }
  uint64_t markers_sent() const { return markers_sent_; }
  uint64_t commits_sent() const { return commits_sent_; }
  static std::string SeqKey(uint16_t p);

 private:
  struct Upstream {
    uint64_t seq = 0;
    uint64_t generation = 0;
    uint64_t flushed = 0;    // seq at the last Flush
    uint64_t committed = 0;  // seq of the last commit / takeover frame sent
    TimestampMs marked = kMinTimestamp;  // last marker sent (not persisted)
    bool dirty = false;
  };
  Status Send(uint16_t q, std::string_view key, const RepartitionFrame& f);
  // One control frame (commit / takeover) of p to every partition.
  Status SendControl(RepartitionFrameType type, uint16_t p, const Upstream& u);
  // Sends WM(p, watermark_) for every p whose last marker is older than
  // watermark_ by at least `min_step` (> 0).
  Status SendMarkers(DurationMs min_step);

  KvStore* store_;
  RepartitionRouter router_;
  RepartitionFrameSink* sink_;
  DurationMs marker_interval_;
  TimestampMs watermark_ = kMinTimestamp;
  RegistrationListener registration_;
  GenerationSource generation_source_;
  std::map<uint16_t, Upstream> upstream_;
  RepartitionFrame frame_;
  std::vector<uint16_t> targets_;
  std::string scratch_;
  uint64_t frames_sent_ = 0;
  uint64_t markers_sent_ = 0;
  uint64_t commits_sent_ = 0;
};

}  // namespace epistream
