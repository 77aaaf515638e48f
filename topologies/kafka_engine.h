// KafkaEngine: the city pipeline on Kafka (CONTRACT.md sections 2, 3, 6, 7).
//
//  - Global tables (risk areas, persons) are read with assign() from their
//    checkpointed offsets to their end before anything else, then followed.
//  - The person-keyed topics are consumed in a group (cooperative-sticky);
//    on assignment each partition starts at the offset stored in RocksDB with
//    its state; on revocation the engine checkpoints first.
//  - Scale-out (ScaleOutConfig::enabled, several instances in one group):
//    the range assignor (eager) gives partition p of the three person topics
//    to one instance. Each checkpoint writes, before the local commit, every
//    staged write under p's prefix, p's offsets, p's sink positions and the
//    watermark to the changelog (engine/changelog_writer.h). On assignment
//    p is restored from the changelog unless the local copy is current,
//    event time restarts at the assignment's lowest stored watermark, and
//    output written after p's checkpoint is read back and suppressed
//    (KafkaSink::AddRecovery). On revocation: checkpoint, drop p's memory
//    (and the local copy if that checkpoint did not commit).
//  - Repartition (ScaleOutConfig::repartition, with enabled): the person
//    side's cluster records go through epistream.repartition.cluster
//    (topologies/cluster_side.h; Q = the input partition count, topic
//    created if missing) instead of the in-process cluster stage. A second
//    consumer (group G + ".cluster", range) owns repartition partitions q;
//    on assignment q's range is restored from epistream.changelog.cluster
//    (unless the local copy is current), its runner opened at q's stored
//    offset, and cluster alerts written after q's checkpoint are read back
//    and suppressed. Every checkpoint stages the cluster side first
//    (ClusterSide::Checkpoint) and writes q's range to its changelog before
//    the one local commit. After a rewind of event time the repartition
//    writer restarts (ClusterSide::ResetWriter) so markers never claim more
//    than the rewound watermark; runners keep each upstream's maximum.
//    Exactly once across clean hand-overs; after a SIGKILL see
//    operators/cluster/README.md (gaps: seq dedup needs p's replayed record
//    stream to repeat the dead owner's).
//  - Alerts and dead letters go through one idempotent producer into
//    KafkaSinks, exactly once across crashes (see engine/kafka_sink.h).
//  - A checkpoint (every checkpoint.interval, or checkpoint.max_events) is
//    the RocksDB batch of state + offsets + sink end offsets; group offsets
//    are committed after it for lag monitoring only. The batch is written by
//    the store's writer thread (RocksKvStore::EnableAsyncCommit) while the
//    loop goes on; revocations and the final stop wait for it (Sync).
//  - Each loop turn: poll; drain and apply what earlier polls' table
//    barriers cover; this poll's table barrier; drain and apply again (a
//    poll that assigned partitions runs its barrier first).
//  - Broker outages: produce waits, a checkpoint whose flush times out is
//    skipped and retried; nothing is committed that was not processed.
//
// Threading: Start/Run/Stop on one thread (the stage thread); RequestStop()
// from any thread or a signal handler (it only sets an atomic flag).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/kafka_consumer.h"
#include "engine/status.h"
#include "topologies/app_config.h"
#include "topologies/city_pipeline.h"

namespace epistream {

class MetricsRegistry;

// A once-a-second view for displays and logs.
struct EngineSnapshot {
  uint64_t records = 0;
  uint64_t events = 0;
  uint64_t alerts = 0;
  uint64_t deadletters = 0;
  uint64_t duplicates = 0;
  double records_per_s = 0;  // over the last second
  TimestampMs watermark = kMinTimestamp;
  int64_t lag = 0;           // total over assigned partitions
  size_t partitions = 0;
  uint64_t checkpoints = 0;
  uint64_t suppressed = 0;   // replayed outputs not re-emitted
  size_t merging = 0;        // consumed, waiting in the event-time merger
};

// Where one turn of the engine loop spent its wall time (bench/e2e latency
// breakdown). A message consumed in one turn waits for the rest of it, and
// for later turns while the merger holds it.
struct LoopTurnTiming {
  double poll_s = 0;        // KafkaConsumer::PollBatch (blocks when idle)
  double tables_s = 0;      // the table barrier (CatchUpTables)
  double apply_s = 0;       // merger drain + applying released events
  double checkpoint_s = 0;  // a checkpoint, if one was taken this turn
  size_t released = 0;      // events released by the merger this turn
};

struct KafkaEngineHooks {
  // Called about once a second on the engine thread.
  std::function<void(const EngineSnapshot&)> on_second;
  // Called for every alert emitted (its JSON), on the engine thread.
  std::function<void(std::string_view alert_json)> on_alert;
  // Optional instrumentation, on the engine thread: each person-topic
  // message right after it was applied (msg.received_ms: when it was
  // consumed; KafkaConsumer::NowMs() clock), and each loop turn's timing.
  // Unset: not measured.
  std::function<void(const KafkaMessage& msg)> on_applied;
  std::function<void(const LoopTurnTiming&)> on_turn;
};

class KafkaEngine {
 public:
  // `scale_out` (engine/engine_config.h): several instances in one group.
  KafkaEngine(const AppConfig& cfg, MetricsRegistry* metrics, KafkaEngineHooks hooks = {},
              ScaleOutConfig scale_out = {});
  ~KafkaEngine();

  // Opens the state, recovers the sinks, loads the global tables, subscribes.
  Status Start();
  // Processes until RequestStop(), then checkpoints and leaves the group.
  Status Run();
  void RequestStop() { stop_.store(true); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace epistream
