// CityPipeline: the person topology of one process, independent of where its
// records come from (files or Kafka):
//
//   bytes -> EventParser -> dead letters (bad input, too_late)
//                        -> risk-area / person tables (global)
//                        -> PersonStage (keyed by person) -> person alerts
//                              | ClusterRecords (in memory, in order)
//                              v
//                           ClusterStage (venue / community / clinic) -> cluster alerts
//
// On each watermark advance the person stage's timers fire first (their
// records reach the cluster stage), then the cluster stage's, so an
// evaluation at time a sees every record stamped <= a.
//
// It owns the watermark, the global tables and the checkpoint: Checkpoint()
// stages the dirty state, the watermark and every source position consumed
// so far, flushes the sinks, records their positions, and commits all of it
// in one write batch. A restart opens the same store, asks StoredOffset() for
// each source partition and resumes there: each event is applied once.
//
// Threading: every method on one thread (the stage thread). OnMessages runs
// helper threads, idle between calls: one (PersonPrefetcher) reads the
// store's committed data ahead of use (KvStore's concurrent reads), one
// (ParseAhead, engine.parse_thread) parses the next batch of a call's
// records while the stage thread applies the batch before. With
// engine.cluster_thread the cluster stage runs on a thread of its own
// (ClusterWorker): the stage thread queues its calls, and a public method
// that queued a watermark (or made a person alert) returns only once the
// worker applied them, with the alerts of both stages emitted in the
// single-threaded order (AlertSequencer); Checkpoint and EndOfInput always
// wait. Records and registrations alone may stay queued until then. No exception
// escapes; bad input never fails a call, only runtime faults (disk, sinks) do.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/capturing_kv_store.h"
#include "engine/engine_config.h"
#include "engine/kv_store.h"
#include "engine/pseudonymizer.h"
#include "engine/record_sink.h"
#include "engine/status.h"
#include "engine/watermark_tracker.h"
#include "operators/alert.h"
#include "operators/cluster/cluster_edge.h"
#include "operators/cluster/cluster_record.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/cluster/cluster_worker.h"
#include "operators/event_parser.h"
#include "operators/person_registry.h"
#include "operators/person_prefetcher.h"
#include "operators/person_stage.h"
#include "operators/risk_area_table.h"
#include "operators/rules_config.h"
#include "topologies/alert_sequencer.h"
#include "topologies/parse_ahead.h"
#include "topologies/pipeline_record.h"

namespace epistream {

class PipelineProbe;

// Look-ahead loading of person states (operators/person_prefetcher.h).
struct PrefetchOptions {
  // Load the states of upcoming records' persons on a helper thread (stores
  // with KvStore::SupportsConcurrentReads only). Default: true
  bool enabled = true;
  // Records per look-ahead batch: while the stage thread processes one
  // batch, the helper loads the next. Default: 1024
  size_t batch_records = 1024;
};

struct PipelineCounters {
  uint64_t records = 0;
  uint64_t events = 0;
  uint64_t alerts = 0;
  uint64_t deadletters = 0;
  uint64_t duplicates = 0;
  uint64_t checkpoints = 0;
};

// The cluster stage's options from the config, as every cluster stage of
// the process gets them (this pipeline's own, and the repartition runners
// of topologies/cluster_side.h): rules, lateness, timezone, retention and
// rules.cluster_evaluation_delay (kDeterministicEvaluationDelay: the allowed
// lateness + 1 ms).
ClusterStageOptions ClusterStageOptionsFor(const EngineConfig& engine, const RulesConfig& rules);

class CityPipeline {
 public:
  // Records per parse-ahead batch in a call of at most
  // PrefetchOptions::batch_records records when states are not loaded ahead
  // (else batch_records): a call's first batch is parsed on the stage
  // thread, the rest on the parse thread (engine.parse_thread). Small, so
  // that a loop turn of a few hundred records (Kafka mode at a steady rate)
  // is parsed mostly on the helper: with 1,024 the stage thread parsed every
  // such turn itself, 12% of its time at 100k events/s. Not for larger
  // calls (file mode, a backlog): there the extra hand-overs cost ~4% of
  // file mode's wall time (parse thread +0.5-0.9 s CPU, more futex waits).
  static constexpr size_t kParseOnlyStep = 128;

  // Sinks and probe are borrowed; probe may be null. `cluster_alerts` may be
  // the same sink as `alerts` (file mode: one alerts file).
  CityPipeline(const EngineConfig& engine, const RulesConfig& rules, KvStore* store,
               RecordSink* alerts, RecordSink* cluster_alerts, RecordSink* deadletters,
               PipelineProbe* probe);

  // Loads the global tables and the watermark from the store.
  Status Open();
  // Takes ownership of an input partition (loads its timers); idempotent.
  // `type` is the topic's type on Kafka (each topic-partition then holds the
  // watermark back on its own), nullopt for a file (one ordered source).
  Status AddPartition(int32_t partition, std::optional<EventType> type, int64_t wall_ms);
  // Forgets a topic-partition after its final checkpoint (rebalance); the
  // state of the partition goes when `last_of_partition`.
  void RemovePartition(int32_t partition, std::optional<EventType> type, bool last_of_partition);

  // One input record. `type` is the topic's type on Kafka, nullopt for files.
  // `wall_ms` drives idle-partition detection only (pass 0 for files).
  Status OnMessage(std::string_view bytes, std::optional<EventType> type,
                   const SourcePosition& pos, int64_t wall_ms);

  // The same as OnMessage for each record in order, with the persons of
  // upcoming records loaded ahead on a helper thread (PrefetchOptions), so
  // the stage thread rarely waits for a state read. Look-ahead starts once
  // the person cache may miss stored states (PersonStage::PrefetchUseful):
  // while every person ever seen is cached it would only find new ones. Same outputs, same
  // state as the OnMessage calls; stops at the first failure. No look-ahead
  // outlives the call (partitions may change between calls). `applied`, if
  // set, is called with each record's index right after it was applied.
  Status OnMessages(std::span<const PipelineRecord> records, int64_t wall_ms,
                    const std::function<void(size_t)>& applied = {});
  // Before the first OnMessages.
  void set_prefetch(const PrefetchOptions& opts) { prefetch_opts_ = opts; }
  // The person stage's prefetch and cache counters (tests, summaries).
  const PrefetchCounters& prefetch_counters() const { return stage_->prefetch_counters(); }
  // CPU time of the parse-ahead thread so far (0 without one).
  double parse_cpu_seconds() const {
    return parse_ahead_ != nullptr ? parse_ahead_->cpu_seconds() : 0;
  }
  // CPU time of the look-ahead thread so far (0 without one).
  double prefetch_cpu_seconds() const {
    return prefetcher_ != nullptr ? prefetcher_->cpu_seconds() : 0;
  }
  uint64_t cache_hits() const { return stage_->cache_hits(); }
  uint64_t cache_misses() const { return stage_->cache_misses(); }
  uint64_t cache_encoded_hits() const { return stage_->cache_encoded_hits(); }
  // CPU time of the cluster stage's thread so far (0 without one).
  double cluster_cpu_seconds() const {
    return cluster_worker_ != nullptr ? cluster_worker_->cpu_seconds() : 0;
  }
  // Times the stage thread waited for the cluster thread so far.
  uint64_t cluster_waits() const { return cluster_waits_; }

  // Idle-partition check without input (Kafka mode, called periodically).
  Status Tick(int64_t wall_ms);

  // End of a bounded input: the watermark advances to the largest ts seen.
  Status EndOfInput();
  // The same to at least `ts` (a partition of a larger input whose other
  // partitions ran further: scale-out tests).
  Status EndOfInputAt(TimestampMs ts);

  // Scale-out (--repartition): the person stage's cluster records, the
  // watermark advances and the registrations go to `edge` (borrowed; a
  // RepartitionWriter) instead of the in-process cluster stage, which then
  // stays idle. Set before the first call; null (default) = in process.
  void set_cluster_edge(ClusterEdge* edge);

  // Stages state, watermark and positions, flushes sinks, commits atomically.
  Status Checkpoint();
  // Runs inside Checkpoint() after everything is staged and the sinks are
  // flushed, right before the store commit; a failure skips the commit
  // (scale-out: the changelog is written there, engine/changelog_writer.h).
  void set_before_commit(std::function<Status()> hook) { before_commit_ = std::move(hook); }
  // Scale-out, with no partition assigned (after an eager rebalance revoked
  // them all): restarts event time at `to`, the lowest watermark stored
  // with the partitions about to be assigned. A partition taken over from
  // an instance that was behind this one then replays at its own pace: its
  // events are not too_late and its timers fire in event order. The person
  // stage is recreated (it holds no partition then; its timers are stored).
  void RewindWatermark(TimestampMs to);
  // Scale-out: the largest event time seen on one topic-partition, stored
  // with the partition so that its new owner resumes with that progress
  // (SeedProgress after AddPartition), as a restarted instance does.
  TimestampMs Progress(int32_t partition, std::optional<EventType> type) const;
  void SeedProgress(int32_t partition, std::optional<EventType> type, TimestampMs ts);
  // Kafka mode: the topic-partition was confirmed at its end at wall_ms
  // (KafkaConsumer's kCaughtUp). From the first confirmation on, a quiet
  // partition counts as idle only while such confirmations are fresh
  // (WatermarkTracker::MarkCaughtUp), so an unreachable one holds the
  // watermark instead of letting timers pass its unread events.
  void MarkCaughtUp(int32_t partition, std::optional<EventType> type, int64_t wall_ms);
  // Stops checkpointing the position of a source partition no longer owned
  // (its stored offset stays; a new owner may be advancing it elsewhere).
  void ForgetPosition(std::string_view source, int32_t partition);

  // The next offset to read for a source partition, from the last checkpoint.
  Result<std::optional<int64_t>> StoredOffset(std::string_view source, int32_t partition);
  // Every stored next offset of a source, by partition.
  Result<std::map<int32_t, int64_t>> StoredOffsets(std::string_view source);
  // Next offsets consumed so far (checkpointed or not), by (source, partition).
  const std::map<std::pair<std::string, int32_t>, int64_t>& positions() const { return positions_; }
  // Wall time the current input batch was received (event->alert latency).
  void set_receive_time(std::chrono::steady_clock::time_point t) { receive_time_ = t; }

  // The sink position ("alerts", "alerts_cluster", "deadletters") stored by the last
  // checkpoint; read before the sinks (and so the pipeline) are created.
  static Result<std::string> StoredSinkPosition(KvStore* store, std::string_view name);

  TimestampMs watermark() const { return watermark_.current(); }
  const PipelineCounters& counters() const { return counters_; }
  size_t cached_persons() const { return stage_->cached_persons(); }
  size_t cached_bytes() const { return stage_->cached_bytes(); }
  size_t encoded_persons() const { return stage_->encoded_persons(); }
  size_t encoded_bytes() const { return stage_->encoded_bytes(); }

 private:
  // OnMessage without FinishCall (OnMessages finishes once per call).
  // `parsed`: the record parsed ahead (ParseAhead), null to parse here.
  Status Apply(std::string_view bytes, std::optional<EventType> type,
               const SourcePosition& pos, int64_t wall_ms, ParsedRecord* parsed = nullptr);
  Status DeadLetter(std::string_view reason, std::string_view bytes, const SourcePosition& pos);
  Status EmitAlerts();
  Status EmitAlertList(std::vector<Alert>* alerts, RecordSink* sink);
  Status EmitAlert(const Alert& a, RecordSink* sink,
                   std::chrono::steady_clock::time_point received);
  // With a cluster worker: emits the alerts the sequencer can release now
  // (`wait`: after the worker applied every queued call).
  Status ReleaseAlerts(bool wait);
  // Before a public method that applied input returns: when an alert may be
  // pending (an own alert held, or a watermark queued since the last wait),
  // waits for the cluster worker and emits every alert, so each call's
  // alerts leave with it, as on one thread. Records and registrations alone
  // make no alert: they stay queued (the next wait or checkpoint applies
  // them), so a table load of a million persons waits on nothing. Not
  // waiting after calls without a person alert (the worker overlapping the
  // engine's next fetch) was measured: Kafka mode equal (193.7k vs 192.2k
  // events/s), the p99 of person alerts worse (the wait for one then
  // includes the worker's backlog).
  Status FinishCall();
  // Waits for the cluster worker and emits every alert (no-op without one).
  Status WaitForCluster() { return cluster_worker_ != nullptr ? ReleaseAlerts(true) : Status::Ok(); }
  // The person stage's cluster records go to the worker's current batch.
  void PointClusterOutput();
  // Hands the person stage's cluster records to the cluster stage.
  Status DrainClusterRecords();
  Status OnRegistration(const Event& person_record);
  Status AdvanceWatermark(int64_t wall_ms);

  EngineConfig engine_;
  RulesConfig rules_;
  KvStore* store_;
  RecordSink* alerts_sink_;
  RecordSink* cluster_sink_;
  RecordSink* deadletter_sink_;
  PipelineProbe* probe_;
  EventParser parser_;
  Event event_;
  RiskAreaTable areas_;
  PersonRegistry registry_;
  std::optional<PersonStage> stage_;  // never empty; optional to rebuild in place (RewindWatermark)
  // The cluster stage's store: store_, except while the cluster thread
  // flushes it at a checkpoint (Checkpoint()).
  CapturingKvStore cluster_store_;
  ClusterStage cluster_;
  ClusterRecordBuffer cluster_records_;
  ClusterEdge* cluster_edge_ = nullptr;
  // engine.cluster_thread (created by Open, dropped by set_cluster_edge).
  std::unique_ptr<ClusterWorker> cluster_worker_;
  AlertSequencer sequencer_;
  // ClusterWorker::watermarks_queued() at the last wait for the worker.
  uint64_t synced_watermarks_ = 0;
  uint64_t cluster_waits_ = 0;
  std::vector<SequencedAlert> worker_alerts_;
  // privacy.pseudonymize: set by Open() when on, else null.
  std::unique_ptr<Pseudonymizer> pseudonymizer_;
  WatermarkTracker watermark_;
  std::vector<Alert> pending_alerts_;
  std::vector<Alert> pending_cluster_alerts_;
  std::map<std::pair<std::string, int32_t>, int64_t> positions_;
  int64_t* last_position_ = nullptr;
  const char* last_topic_ = nullptr;
  int32_t last_partition_ = -1;
  std::string scratch_;
  PipelineCounters counters_;
  std::chrono::steady_clock::time_point receive_time_{};
  std::function<Status()> before_commit_;
  PrefetchOptions prefetch_opts_;
  // Created by the first OnMessages that uses it; declared last so it is
  // destroyed (its thread joined) first.
  std::unique_ptr<PersonPrefetcher> prefetcher_;
  std::unique_ptr<ParseAhead> parse_ahead_;  // engine.parse_thread
  std::string hint_scratch_;
};

}  // namespace epistream
