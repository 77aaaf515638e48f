// ClusterSide: the cluster half of one instance in scale-out mode
// (`--repartition`, operators/cluster/README.md "Scale-out"), independent of
// Kafka so the engine wires it and tests drive it directly.
//
//   CityPipeline --edge()--> RepartitionWriter --frames--> sink (producer into
//   epistream.repartition.cluster, partition q chosen by the router)
//   consumer of that topic (group G + ".cluster", range assignor)
//     --OnMessage(q, offset, bytes)--> ClusterPartitionRunner q --> cluster
//     alerts
//
// It owns the writer (person side: give edge() to
// CityPipeline::set_cluster_edge) and one runner per assigned repartition
// partition q. Registrations (epi.persons, read in full by every instance)
// fan out to every runner and are kept as per-community counts under
// GR<community>, so a runner assigned later starts from the instance's view
// of the table (ClusterStage::SetRegisteredCounts), not from deltas it missed.
//
// State: each runner's under Q<be16 q> (stage, per-upstream progress, its
// resume and decided offsets under Q<be16 q>O) plus the cluster-alert sink
// position under Q<be16 q>S and the (Q, N) it was built under under
// Q<be16 q>Z, so partition q's checkpoint is one key range (changelog
// `epistream.changelog.cluster`, partition q). Checkpoint stages
// everything; the owner flushes the sinks and commits the one store
// (CityPipeline::Checkpoint commits it too: call this first), then calls
// AfterCommit so the writer announces what the commit holds.
//
// Exactly-once of cluster alerts: runners apply upstream frames only once
// the upstream checkpoint holding them is committed (commit / takeover
// frames, cluster_partition_runner.h), so a person-side crash changes
// nothing they applied; a replay of q from its stored resume offset
// regenerates the alerts written after q's last checkpoint with the same
// ids, and the cluster-alert sink suppresses them (engine/kafka_sink.h
// Recover), as for the single-process edge.
//
// Threading: every method on the engine thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv_store.h"
#include "engine/record_sink.h"
#include "engine/status.h"
#include "operators/alert.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/cluster/repartition_writer.h"
#include "topologies/cluster_partition_runner.h"

namespace epistream {

inline constexpr std::string_view kRepartitionClusterTopic =
    "epistream.repartition.cluster";
// Compacted changelog of the repartition partitions' ranges, partition q.
inline constexpr std::string_view kClusterChangelogTopic =
    "epistream.changelog.cluster";

// Largest default partition count of kRepartitionClusterTopic.
inline constexpr int32_t kDefaultMaxRepartitionPartitions = 6;

// Q to create kRepartitionClusterTopic with (by the engine or `epistream
// broker`): `configured` (scale_out.repartition_partitions /
// --repartition-partitions) when > 0, else min(inputs, 6) (at least 1).
// Why small: each city-wide count record (RepartitionRouter::IsBroadcast,
// about one per input event) is framed, sent and applied Q times, so the
// edge's cost grows with Q, while Q only bounds how many instances run
// cluster stages (one per repartition partition; the person side still
// spreads over all input partitions). Why 6: the range assignor then gives
// 1, 2, 3 or 6 instances equal shares; with 8 and three instances one held
// 2 partitions, ran ahead and overflowed the others' (bench/scale/README.md).
// At Q = inputs = 96 the bench sent ~90 frames per input event.
int32_t RepartitionPartitionsFor(int32_t configured, int32_t inputs);

struct ClusterSideOptions {
  ClusterStageOptions stage;
  // N: partitions of the person-keyed input topics. Default: 1
  uint16_t upstream_partitions = 1;
  // Q: partitions of epistream.repartition.cluster, independent of N
  // (engine: the topic's count, RepartitionPartitionsFor when it creates
  // it). Default: 1
  uint16_t repartition_partitions = 1;
  // Event time between watermark markers (also sent at every checkpoint):
  // on a 3000-person city 1 min cuts the frames by 41% (markers by 80%)
  // against one marker per advance, delaying cluster evaluations by at most
  // that much event time. Default: 1min
  DurationMs marker_interval = kMinuteMs;
};

class ClusterSide {
 public:
  // Borrowed: store, frame sink, cluster-alert and dead-letter sinks.
  ClusterSide(const ClusterSideOptions& opts, KvStore* store,
              RepartitionFrameSink* frames, RecordSink* cluster_alerts,
              RecordSink* deadletters);

  // Loads the registered counts.
  Status Open();

  // ---- person side ----
  // The edge may change at ResetWriter(): give the new one to the pipeline.
  ClusterEdge* edge() { return writer_.get(); }
  RepartitionWriter& writer() { return *writer_; }
  // The checkpoint whose commit just succeeded held the writer's seqs: sends
  // the commit frames (RepartitionWriter::OnCommitted).
  Status AfterCommit() { return writer_->OnCommitted(); }
  // A fresh writer (no upstreams, no watermark), for when the person side's
  // event time moved back (CityPipeline::RewindWatermark after a
  // rebalance): markers then restart at the rewound watermark instead of
  // the old writer's maximum, which a newly added upstream has not reached.
  // Runners keep each upstream's highest marker, so lower ones are no-ops.
  // Call after a committed checkpoint (the seq counters are in the store),
  // then AddUpstream every owned partition.
  void ResetWriter();

  // ---- cluster side (consumer of the repartition topic) ----
  // Takes repartition partition q: opens its runner on q's stored state.
  // InvalidArgument if that state was built under another repartition or
  // input partition count (Q or N changed: keys would meet the wrong state).
  Status Assign(uint16_t q);
  // Forgets q (after its final checkpoint was committed).
  void Revoke(uint16_t q) { runners_.erase(q); }
  // The offset of q to read from, from q's last checkpoint: its earliest
  // frame still pending then (nullopt: from the beginning).
  Result<std::optional<int64_t>> StoredOffset(uint16_t q);
  // One message of partition q at `offset`: frames to the runner, alerts to
  // the sink, bad frames to the dead-letter sink. Failed only on runtime
  // faults (store, sinks) or an unassigned q (InvalidArgument).
  Status OnMessage(uint16_t q, int64_t offset, std::string_view bytes);
  // Flushes the cluster-alert sink, then stages every runner's state,
  // offsets and the sink's position (under Q<be16 q>S), and the registered
  // counts. A new owner of q recovers the sink's duplicate suppression from
  // StoredAlertSinkPosition(q) (engine/kafka_sink.h Recover).
  Status Checkpoint();
  Result<std::string> StoredAlertSinkPosition(uint16_t q);

  std::vector<uint16_t> assigned() const;
  const ClusterPartitionRunner* runner(uint16_t q) const;
  uint64_t alerts() const { return alerts_; }

 private:
  struct Assigned {
    std::unique_ptr<ClusterPartitionRunner> runner;
  };
  Status OnRegistration(std::string_view before, std::string_view after);
  // q's range records the (Q, N) its state was built under (Q<be16 q>Z,
  // staged on first use): another shape is refused (InvalidArgument).
  Status CheckShape(uint16_t q);
  static std::string SinkPositionKey(uint16_t q);
  static std::string ShapeKey(uint16_t q);

  ClusterSideOptions opts_;
  KvStore* store_;
  RecordSink* alert_sink_;
  RecordSink* deadletter_sink_;
  RepartitionFrameSink* frames_;
  std::unique_ptr<RepartitionWriter> writer_;
  std::map<uint16_t, Assigned> runners_;
  std::map<std::string, int64_t> registered_;
  std::set<std::string> registered_dirty_;
  std::vector<Alert> pending_;
  std::string scratch_;
  std::string dead_reason_;
  uint64_t alerts_ = 0;
};

}  // namespace epistream
