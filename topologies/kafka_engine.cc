#include "topologies/kafka_engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "engine/byte_codec.h"
#include "engine/changelog_restorer.h"
#include "engine/changelog_writer.h"
#include "engine/kafka_consumer.h"
#include "engine/kafka_producer.h"
#include "engine/event_time_merger.h"
#include "engine/kafka_sink.h"
#include "engine/metrics_registry.h"
#include "engine/pipeline_probe.h"
#include "engine/process_probe.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "engine/table_reader.h"
#include "topologies/cluster_side.h"

namespace epistream {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Forwards to a sink and tells a hook about each record (demo display).
class TeeSink : public RecordSink {
 public:
  TeeSink(RecordSink* inner, std::function<void(std::string_view)> hook)
      : inner_(inner), hook_(std::move(hook)) {}
  Status Write(std::string_view key, std::string_view value) override {
    if (hook_) hook_(value);
    return inner_->Write(key, value);
  }
  Status Flush() override { return inner_->Flush(); }
  std::string Position() const override { return inner_->Position(); }

 private:
  RecordSink* inner_;
  std::function<void(std::string_view)> hook_;
};

constexpr int kTableTimeoutMs = 120000;
// Longest an event waits in the merger for a topic that says nothing.
constexpr int64_t kMergeMaxWaitMs = 3000;
constexpr size_t kMaxBatch = 20000;
// Back-pressure of the repartition edge (Run): while an owned repartition
// partition has more unread frames than this, the loop reads frames before
// it reads more input. Each input event makes about Q frames (broadcast
// kinds) and one loop turn reads up to kMaxBatch of each, so without it
// the cluster side falls behind by Q - 1 frames per event: at Q = 8 (96
// input partitions, 200k persons) the embedded broker's 5 MiB per-partition
// ring (~140k frames) dropped unread frames and the engine took its
// data-loss stop. 20k frames is ~0.7 MB, far from that ring.
constexpr int64_t kClusterLagLimit = 20000;
// Longest one turn of the loop reads frames only (the person consumer must
// still be polled for its group, and checkpoints still be taken).
constexpr auto kClusterDrainBudget = std::chrono::milliseconds(500);
// While this instance's cluster consumer holds no repartition partition (at
// start, and while an eager rebalance of <group>.cluster moves them), input
// waits up to this long per such spell: nobody reads the frames it would
// make. Bounded, because with more instances than repartition partitions
// some instance legitimately holds none.
constexpr auto kClusterGateMax = std::chrono::seconds(15);
constexpr TimestampMs kNoRewind = INT64_MAX;
// Longest one table barrier attempt (TableReader::CatchUp) waits before it
// looks at stop requests and tries again.
constexpr int kTableBarrierTimeoutMs = 2000;
// A KafkaSink position naming no sink partition: recovery reads every sink
// partition from its start.
const std::string kSinkStart = KafkaSink::EncodePosition({});

// Frames of the repartition edge into their chosen partition of the
// repartition topic, through the engine's idempotent producer.
class KafkaFrameSink : public RepartitionFrameSink {
 public:
  KafkaFrameSink(KafkaProducer* producer, std::string topic)
      : producer_(producer), topic_(std::move(topic)) {}
  Status Write(uint16_t q, std::string_view key, std::string_view frame) override {
    ++frames_;
    bytes_ += frame.size();
    return producer_->ProduceToPartition(topic_, q, key, frame);
  }
  // Short enough that a slow broker postpones the checkpoint (Unavailable)
  // rather than stalling the loop.
  Status Flush() override { return producer_->Flush(30000); }
  // Every frame written since start (records, markers, commits, takeovers),
  // across writer resets: the edge's cost for the logs and bench/scale.
  uint64_t frames() const { return frames_; }
  uint64_t bytes() const { return bytes_; }

 private:
  KafkaProducer* producer_;
  std::string topic_;
  uint64_t frames_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

struct KafkaEngine::Impl {
  AppConfig cfg;
  MetricsRegistry* metrics;
  KafkaEngineHooks hooks;
  std::unique_ptr<PipelineProbe> probe;
  std::unique_ptr<ProcessProbe> process_probe;
  std::unique_ptr<RocksKvStore> store;
  std::unique_ptr<KafkaProducer> producer;
  std::unique_ptr<KafkaSink> alerts;
  std::unique_ptr<KafkaSink> alerts_cluster;
  std::unique_ptr<KafkaSink> deadletters;
  std::unique_ptr<TeeSink> alerts_tee;
  std::unique_ptr<TeeSink> alerts_cluster_tee;
  std::unique_ptr<CityPipeline> pipeline;
  std::unique_ptr<TableReader> tables;
  std::unique_ptr<KafkaConsumer> consumer;
  std::map<std::string, EventType, std::less<>> topic_types;
  std::map<int32_t, int> partition_refs;  // assigned topics per partition number
  Status callback_error;                  // from inside consumer callbacks
  // Set when the engine is torn down without a clean stop (a runtime error
  // may have left an event half-applied): revocations then must not
  // checkpoint, the next start replays from the last good checkpoint.
  bool no_checkpoint_on_revoke = false;
  EventTimeMerger merger{3, kMergeMaxWaitMs};  // scans, transport, fever
  std::set<TopicPartition> paused;              // by PauseHeld()
  int64_t last_caught_up_request_ms = 0;        // wall clock
  // Polls of the person consumer so far, and the last one whose table
  // barrier has run: the merger releases only messages of covered polls.
  uint64_t polls = 0;
  uint64_t covered_polls = 0;
  uint64_t events_since_checkpoint = 0;

  // --- scale-out (ScaleOutConfig::enabled) ---
  ScaleOutConfig scale_cfg;
  bool scale_out = false;
  std::unique_ptr<ChangelogWriter> changelog;
  std::unique_ptr<ChangelogRestorer> restorer;
  TableReaderOptions sink_reader;   // for per-partition sink recovery
  std::set<int32_t> taken_over;     // partitions restored in this assignment
  // Sink positions of partitions just taken over, by sink, for RecoverSinks().
  std::map<std::string, std::map<int32_t, std::string>> sink_recovery;
  uint64_t changelog_seq = 0;
  // Lowest stored watermark of the partitions being taken over; applied
  // (CityPipeline::RewindWatermark) before the first of them is added.
  bool rewind_pending = false;
  TimestampMs rewind_to = kNoRewind;
  // Per topic-partition event-time progress stored with partitions being
  // taken over; seeded into the watermark tracker when each is assigned.
  std::map<std::pair<int32_t, EventType>, TimestampMs> seed_progress;

  // --- cluster side (ScaleOutConfig::repartition) ---
  std::unique_ptr<KafkaFrameSink> frame_sink;
  std::unique_ptr<ClusterSide> side;
  std::unique_ptr<KafkaConsumer> cluster_consumer;
  std::unique_ptr<ChangelogWriter> cluster_changelog;
  std::unique_ptr<ChangelogRestorer> cluster_restorer;
  std::set<int32_t> cluster_owned;  // repartition partitions with a runner
  // Cluster-alert sink positions of repartition partitions just taken over.
  std::map<int32_t, std::string> cluster_recovery;
  uint64_t cluster_changelog_seq = 0;
  uint64_t cluster_log_tick = 0;
  size_t cluster_polled = 0;  // frames in the last PollCluster batch
  // Start of the current spell without repartition partitions (kClusterGateMax).
  std::optional<std::chrono::steady_clock::time_point> cluster_empty_since;

  static std::string ClusterMarkKey(int32_t q) {
    return state_keys::Meta("changelog.cluster:" + std::to_string(q));
  }
  // Changelog partition q of a store key: repartition partition q's range
  // (Q + be16 q: runner state, offset, sink position); -1 for the rest.
  static int32_t ClusterRoute(std::string_view key) {
    if (key.size() >= 3 && key[0] == 'Q') {
      return (static_cast<uint8_t>(key[1]) << 8) | static_cast<uint8_t>(key[2]);
    }
    return -1;
  }

  static std::string MarkKey(int32_t p) { return state_keys::Meta("changelog:" + std::to_string(p)); }
  static std::string SinkKey(int32_t p, std::string_view sink) {
    return state_keys::Partitioned(static_cast<uint16_t>(p), 'M', std::string("sink:").append(sink));
  }
  static std::string ProgressKey(int32_t p, EventType type) {
    return state_keys::Partitioned(static_cast<uint16_t>(p), 'M',
                                   "progress:" + std::to_string(static_cast<int>(type)));
  }
  static std::string WatermarkKey(int32_t p) {
    return state_keys::Partitioned(static_cast<uint16_t>(p), 'M', "watermark");
  }
  bool IsPersonTopic(std::string_view topic) const {
    const std::optional<EventType> type = TypeOf(topic);
    return type.has_value() && *type <= EventType::kFever;
  }

  // Changelog partition of a store key: partition p's state ('P' + be16 p)
  // and its input offsets; -1 for the rest (global tables, metadata).
  int32_t Route(std::string_view key) const {
    if (key.size() >= 3 && key[0] == state_keys::kPartitioned) {
      return (static_cast<uint8_t>(key[1]) << 8) | static_cast<uint8_t>(key[2]);
    }
    if (key.size() > 6 && key[0] == state_keys::kOffset) {
      const size_t nul = key.find('\0', 1);
      if (nul == std::string_view::npos || key.size() != nul + 5) return -1;
      if (!IsPersonTopic(key.substr(1, nul - 1))) return -1;
      ByteReader r(key.substr(nul + 1));
      return static_cast<int32_t>(r.BigEndian32());
    }
    return -1;
  }

  // Inside every checkpoint, before the local commit: each owned
  // partition's sink positions, then its changelog records and marker.
  Status BeforeCommit() {
    if (side) EPI_RETURN_IF_ERROR(ClusterBeforeCommit());
    std::set<int32_t> owned;
    for (const auto& [p, refs] : partition_refs) owned.insert(p);
    if (owned.empty()) return Status::Ok();
    std::string wm;
    ByteWriter(&wm).BigEndian64(static_cast<uint64_t>(pipeline->watermark()));
    for (int32_t p : owned) {
      // A partition still replaying output written before its take-over
      // keeps its older position (see KafkaSink::AddRecovery).
      if (alerts->pending_for(p) == 0) store->Put(SinkKey(p, "alerts"), alerts->Position());
      if (deadletters->pending_for(p) == 0) {
        store->Put(SinkKey(p, "deadletters"), deadletters->Position());
      }
      store->Put(WatermarkKey(p), wm);
      for (EventType type : {EventType::kScan, EventType::kTransport, EventType::kFever}) {
        std::string v;
        ByteWriter(&v).BigEndian64(static_cast<uint64_t>(pipeline->Progress(p, type)));
        store->Put(ProgressKey(p, type), v);
      }
    }
    const uint64_t records = changelog->records_written(), bytes = changelog->bytes_written();
    auto marks = changelog->WriteCheckpoint(*store, [this](std::string_view k) { return Route(k); },
                                            owned, ++changelog_seq);
    if (!marks.ok()) return marks.status();
    for (const auto& [p, mark] : *marks) store->Put(MarkKey(p), mark.Encode());
    if (probe) {
      probe->changelog_written(changelog->records_written() - records,
                               changelog->bytes_written() - bytes);
    }
    return Status::Ok();
  }

  // The cluster side's half of BeforeCommit: every owned repartition
  // partition's staged range (ClusterSide::Checkpoint) and its marker.
  Status ClusterBeforeCommit() {
    if (cluster_owned.empty()) return Status::Ok();
    const uint64_t records = cluster_changelog->records_written();
    const uint64_t bytes = cluster_changelog->bytes_written();
    auto marks = cluster_changelog->WriteCheckpoint(*store, &ClusterRoute, cluster_owned,
                                                    ++cluster_changelog_seq);
    if (!marks.ok()) return marks.status();
    for (const auto& [q, mark] : *marks) store->Put(ClusterMarkKey(q), mark.Encode());
    if (probe) {
      probe->changelog_written(cluster_changelog->records_written() - records,
                               cluster_changelog->bytes_written() - bytes);
    }
    return Status::Ok();
  }

  // Repartition partition q assigned: restore its range from
  // epistream.changelog.cluster unless the local copy is current, open its
  // runner, and note its cluster-alert sink position for the read-back.
  Status ClusterTakeOver(int32_t q) {
    const bool batch_empty = store->StagedBytes() == 0;
    auto mark = LoadMark(q, ClusterMarkKey(q));
    if (!mark.ok()) return mark.status();
    auto r = cluster_restorer->Restore(q, *mark, store.get());
    if (!r.ok()) return r.status();
    if (!r->current) {
      store->Put(ClusterMarkKey(q), r->mark.Encode());
      if (batch_empty) EPI_RETURN_IF_ERROR(store->Commit());
      spdlog::info("repartition partition {} restored from {}: {} records, {} bytes, {} checkpoints"
                   " in {:.3f} s ({} records of interrupted checkpoints dropped)",
                   q, kClusterChangelogTopic, r->records, r->bytes, r->checkpoints, r->seconds,
                   r->dropped);
    } else {
      spdlog::info("repartition partition {}: local state current", q);
    }
    if (probe) probe->observe_restore(r->records, r->bytes, r->seconds, r->current);
    EPI_RETURN_IF_ERROR(side->Assign(static_cast<uint16_t>(q)));
    auto pos = side->StoredAlertSinkPosition(static_cast<uint16_t>(q));
    if (!pos.ok()) return pos.status();
    // No position: q never checkpointed; all its alerts came after.
    cluster_recovery[q] = pos->empty() ? kSinkStart : std::move(pos).value();
    cluster_owned.insert(q);
    return Status::Ok();
  }

  // One runner's progress for the logs: " q<q>: wm=... applied=...;".
  std::string RunnerStats(uint16_t q) const {
    const ClusterPartitionRunner* r = side->runner(q);
    if (r == nullptr) return {};
    return fmt::format(" q{}: wm={} applied={} pending={} duplicates={} discarded={}{};", q,
                       r->watermark() == kMinTimestamp ? std::string("-")
                                                       : FormatRfc3339(r->watermark(), 0),
                       r->applied(), r->pending(), r->duplicates(), r->discarded(),
                       r->fence_violations() > 0
                           ? fmt::format(" FENCE_VIOLATIONS={}", r->fence_violations())
                           : std::string());
  }

  // Repartition partition q given up without a committed final checkpoint.
  Status DropClusterCopy(int32_t q) {
    const std::string prefix = ClusterPartitionKeyPrefix(static_cast<uint16_t>(q));
    EPI_RETURN_IF_ERROR(store->DeleteRange(prefix, PrefixEnd(prefix)));
    store->Delete(ClusterMarkKey(q));
    return Status::Ok();
  }

  // One poll of the repartition topic: assignments (restores), the
  // read-back of cluster alerts written after the taken-over partitions'
  // checkpoints, then the frames.
  Status PollCluster(std::vector<KafkaMessage>* batch) {
    EPI_RETURN_IF_ERROR(cluster_consumer->PollBatch(0, batch, kMaxBatch));
    if (!callback_error.ok()) return callback_error;
    for (const PartitionEvent& ev : cluster_consumer->TakeEvents()) {
      if (ev.kind == PartitionEvent::Kind::kOffsetGap) {
        return Status::OutOfRange("offset gap on " + ev.tp.topic + "/" +
                                  std::to_string(ev.tp.partition) + ": expected " +
                                  std::to_string(ev.expected) + ", broker has " +
                                  std::to_string(ev.offset));
      }
      if (ev.kind == PartitionEvent::Kind::kError) {
        if (ev.status.code() == StatusCode::kOutOfRange) {
          return Status::OutOfRange("repartition data lost before it was processed (" +
                                    ev.tp.topic + "/" + std::to_string(ev.tp.partition) +
                                    "): " + ev.status.message());
        }
        spdlog::warn("kafka (repartition): {}", ev.status.ToString());
      }
      if (ev.kind == PartitionEvent::Kind::kAssigned) {
        spdlog::info("assigned {}/{} from offset {}", ev.tp.topic, ev.tp.partition, ev.offset);
      }
    }
    if (!cluster_recovery.empty()) {
      const size_t before = alerts_cluster->pending_suppressions();
      EPI_RETURN_IF_ERROR(
          alerts_cluster->AddRecovery(cluster_recovery, sink_reader, kTableTimeoutMs, nullptr));
      if (alerts_cluster->pending_suppressions() > before) {
        spdlog::info("recovery: {} cluster alerts written after the checkpoints of {} repartition"
                     " partitions will not be re-emitted",
                     alerts_cluster->pending_suppressions() - before, cluster_recovery.size());
      }
      cluster_recovery.clear();
    }
    for (const KafkaMessage& msg : *batch) {
      EPI_RETURN_IF_ERROR(
          side->OnMessage(static_cast<uint16_t>(msg.partition), msg.offset, msg.value));
    }
    cluster_polled = batch->size();
    batch->clear();
    return Status::Ok();
  }

  // Input should wait (kClusterGateMax): no repartition partition is held,
  // for less than kClusterGateMax so far.
  bool ClusterGated(std::chrono::steady_clock::time_point now) {
    if (!cluster_owned.empty()) {
      cluster_empty_since.reset();
      return false;
    }
    if (!cluster_empty_since) cluster_empty_since = now;
    return now - *cluster_empty_since < kClusterGateMax;
  }

  // Some owned repartition partition has more than kClusterLagLimit frames
  // unread (from the fetcher's cached high watermarks).
  bool ClusterBehind() const {
    for (const PartitionLag& lag : cluster_consumer->Lags()) {
      if (lag.lag > kClusterLagLimit) return true;
    }
    return false;
  }

  Result<std::optional<ChangelogMark>> LoadMark(int32_t p) { return LoadMark(p, MarkKey(p)); }
  Result<std::optional<ChangelogMark>> LoadMark(int32_t p, const std::string& key) {
    std::string value;
    bool found = false;
    EPI_RETURN_IF_ERROR(store->Get(key, &value, &found));
    if (!found) return std::optional<ChangelogMark>();
    std::optional<ChangelogMark> mark = ChangelogMark::Decode(value);
    if (!mark) return Status::Corruption("changelog mark of partition " + std::to_string(p));
    return mark;
  }

  // A partition assigned to this instance: bring its state up to the
  // changelog's last complete checkpoint (unless the local copy is current),
  // then read back the output written after that checkpoint so that the
  // replay does not emit it again.
  Status TakeOver(int32_t p) {
    const bool batch_empty = store->StagedBytes() == 0;
    auto mark = LoadMark(p);
    if (!mark.ok()) return mark.status();
    auto r = restorer->Restore(p, *mark, store.get());
    if (!r.ok()) return r.status();
    if (!r->current) {
      store->Put(MarkKey(p), r->mark.Encode());
      // Commit alone only if nothing else is staged (state written since the
      // last checkpoint must not be committed without its offsets).
      if (batch_empty) EPI_RETURN_IF_ERROR(store->Commit());
      spdlog::info("partition {} restored from {}: {} records, {} bytes, {} checkpoints in {:.3f} s"
                   " ({} records of interrupted checkpoints dropped)",
                   p, scale_cfg.changelog_topic, r->records, r->bytes, r->checkpoints,
                   r->seconds, r->dropped);
    } else {
      spdlog::info("partition {}: local state current", p);
    }
    if (probe) probe->observe_restore(r->records, r->bytes, r->seconds, r->current);
    {
      std::string wm;
      bool found = false;
      EPI_RETURN_IF_ERROR(store->Get(WatermarkKey(p), &wm, &found));
      TimestampMs at = kMinTimestamp;
      if (found) {
        ByteReader reader(wm);
        at = static_cast<TimestampMs>(reader.BigEndian64());
        if (!reader.ok()) return Status::Corruption("stored watermark of partition " + std::to_string(p));
      }
      rewind_pending = true;
      rewind_to = std::min(rewind_to, at);
      for (EventType type : {EventType::kScan, EventType::kTransport, EventType::kFever}) {
        EPI_RETURN_IF_ERROR(store->Get(ProgressKey(p, type), &wm, &found));
        if (!found) continue;
        ByteReader reader(wm);
        const auto ts = static_cast<TimestampMs>(reader.BigEndian64());
        if (!reader.ok()) return Status::Corruption("stored progress of partition " + std::to_string(p));
        seed_progress[{p, type}] = ts;
      }
    }
    for (const char* name : {"alerts", "deadletters"}) {
      std::string pos;
      bool found = false;
      EPI_RETURN_IF_ERROR(store->Get(SinkKey(p, name), &pos, &found));
      // No position: p was never checkpointed (its owner died before its
      // first checkpoint), so everything of p in the topic came after it.
      sink_recovery[name][p] = found && !pos.empty() ? std::move(pos) : kSinkStart;
    }
    taken_over.insert(p);
    return Status::Ok();
  }

  // After a rebalance, before any message of it: reads back, in one pass per
  // sink, the output written after each taken-over partition's checkpoint.
  Status RecoverSinks() {
    for (auto& [name, positions] : sink_recovery) {
      KafkaSink* sink = name == "alerts" ? alerts.get() : deadletters.get();
      std::function<bool(int32_t, std::string_view)> keep;
      if (sink == deadletters.get()) {
        // Dead letters name their source position: each partition keeps its own.
        keep = [this](int32_t p, std::string_view key) {
          const size_t last = key.rfind(':');
          if (last == std::string_view::npos || last == 0) return false;
          const size_t mid = key.rfind(':', last - 1);
          if (mid == std::string_view::npos) return false;
          return IsPersonTopic(key.substr(0, mid)) &&
                 key.substr(mid + 1, last - mid - 1) == std::to_string(p);
        };
      }
      const size_t before = sink->pending_suppressions();
      const auto start = std::chrono::steady_clock::now();
      EPI_RETURN_IF_ERROR(sink->AddRecovery(positions, sink_reader, kTableTimeoutMs, keep));
      if (sink->pending_suppressions() > before) {
        spdlog::info("recovery: {} {} records written after the checkpoints of {} assigned partitions"
                     " will not be re-emitted ({:.3f} s)",
                     sink->pending_suppressions() - before, name, positions.size(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
    sink_recovery.clear();
    return Status::Ok();
  }

  // A partition given up without a committed final checkpoint: the local
  // copy may hold state the changelog does not have, so it goes (the next
  // take-over restores from the changelog).
  Status DropLocalCopy(int32_t p) {
    const std::string prefix = state_keys::PartitionPrefix(static_cast<uint16_t>(p));
    EPI_RETURN_IF_ERROR(store->DeleteRange(prefix, PrefixEnd(prefix)));
    for (const std::string* topic : {&cfg.topics.scans, &cfg.topics.transport, &cfg.topics.fever}) {
      store->Delete(state_keys::Offset(*topic, p));
    }
    store->Delete(MarkKey(p));
    return Status::Ok();
  }

  // True when replayed output is still expected but every assigned
  // partition is at its end.
  bool ReplayCaughtUp() const {
    if (alerts->pending_suppressions() + deadletters->pending_suppressions() == 0) return false;
    const std::vector<PartitionLag> lags = consumer->Lags();
    if (lags.empty()) return false;
    for (const PartitionLag& l : lags) {
      if (l.lag != 0) return false;
    }
    return true;
  }

  // The merger's memory bound: a partition holding too much while it waits
  // for one of its topics stops fetching its other topics until it drains
  // (instead of releasing out of event-time order).
  // While the input is gated (`gated`), every assigned input partition is
  // paused: the gated turn still polls (for the group) but takes no more
  // input than was fetched before.
  void PauseHeld(bool gated) {
    std::set<TopicPartition> want;
    if (gated) {
      for (const TopicPartition& tp : consumer->Assignment()) want.insert(tp);
    }
    for (const EventTimeMerger::Held& held : merger.Blocked()) {
      for (int s : held.full) {
        for (const auto& [topic, t] : topic_types) {
          if (static_cast<int>(t) == s) want.insert({topic, held.partition});
        }
      }
    }
    std::vector<TopicPartition> pause;
    std::vector<TopicPartition> resume;
    std::set_difference(want.begin(), want.end(), paused.begin(), paused.end(), std::back_inserter(pause));
    std::set_difference(paused.begin(), paused.end(), want.begin(), want.end(), std::back_inserter(resume));
    if (pause.empty() && resume.empty()) return;
    spdlog::info("{}: {} messages held; pausing {} and resuming {} input partitions",
                 gated ? "input gated (no repartition partition)" : "merger", merger.queued(),
                 pause.size(), resume.size());
    Status st = consumer->SetPaused(pause, true);
    if (st.ok()) st = consumer->SetPaused(resume, false);
    // Not fatal: the merger's hard bound still holds memory.
    if (!st.ok()) spdlog::warn("merger: {}", st.ToString());
    paused = std::move(want);
  }

  std::optional<EventType> TypeOf(std::string_view topic) const {
    auto it = topic_types.find(topic);
    if (it == topic_types.end()) return std::nullopt;
    return it->second;
  }

  Status Apply(const KafkaMessage& m, int64_t wall) {
    SourcePosition pos{*m.topic, m.partition, m.offset};
    return pipeline->OnMessage(m.value, TypeOf(*m.topic), pos, wall);
  }

  // The table barrier, after each poll that fetched stream messages or
  // assigned partitions and before any of it is applied: applies every
  // table record the broker had appended before the poll. Without it the
  // table reader's fetches, answered on their own schedule, could bring a
  // risk area's `low` record after an arrival produced later, and the
  // arrival joined a listing that had ended (an extra returnee_risk_area;
  // issue 8's "extra findings after rebalances", possible with one instance
  // too); likewise a taken-over partition's arrivals are checked against
  // every listing when it is added. A table leader that cannot be read now
  // (broker down) is not fatal: the loop waits here, retrying, and nothing
  // of the poll is applied meanwhile; *done stays false only if `stop` was
  // requested first (what was polled is fetched again at the next start).
  Status CatchUpTables(const std::atomic<bool>& stop, bool* done) {
    *done = false;
    std::optional<std::chrono::steady_clock::time_point> last_warning;
    while (true) {
      const int64_t wall = WallMs();
      Status st = tables->CatchUp([&](const KafkaMessage& msg) { return Apply(msg, wall); },
                                  kTableBarrierTimeoutMs);
      for (const PartitionEvent& ev : tables->TakeEvents()) {
        if (ev.kind == PartitionEvent::Kind::kError) {
          spdlog::warn("kafka (tables): {}", ev.status.ToString());
        }
      }
      if (st.ok()) {
        *done = true;
        return st;
      }
      if (st.code() != StatusCode::kUnavailable) return st;
      const auto now = std::chrono::steady_clock::now();
      if (!last_warning || now - *last_warning > std::chrono::seconds(10)) {
        spdlog::warn("stream events held back until the global tables are read: {}",
                     st.message());
        last_warning = now;
      }
      if (stop.load()) return Status::Ok();
    }
  }

  // A checkpoint; Unavailable (broker down, flush timed out) is not fatal:
  // nothing is committed and the next attempt includes everything.
  // Keeps the first error raised inside a consumer callback (they cannot
  // return one); Run() returns it after the poll.
  void KeepCallbackError(const Status& st) {
    if (!st.ok() && callback_error.ok()) callback_error = st;
  }

  // The checkpoint before partitions are revoked (none when they are lost or
  // the engine is torn down after a failure); true if it committed, so the
  // local copy of what is revoked is current.
  bool CheckpointBeforeRevoke(bool lost) {
    const uint64_t checkpoints = pipeline->counters().checkpoints;
    if (!lost && !no_checkpoint_on_revoke) {
      KeepCallbackError(Checkpoint());
      // Durable before the partitions go: their local copy is then current.
      KeepCallbackError(store->Sync());
    }
    return pipeline->counters().checkpoints > checkpoints;
  }

  Status Checkpoint() {
    // The cluster side stages its ranges first: the pipeline's commit (and
    // BeforeCommit's changelog) takes them with the person state.
    Status st = side ? side->Checkpoint() : Status::Ok();
    if (st.ok()) st = pipeline->Checkpoint();
    // Committed: the runners may apply the frames it holds.
    if (st.ok() && side) st = side->AfterCommit();
    if (st.code() == StatusCode::kUnavailable) {
      spdlog::log(alerts->pending_suppressions() > 0 ? spdlog::level::debug : spdlog::level::warn,
                  "checkpoint postponed: {}", st.message());
      return Status::Ok();
    }
    if (!st.ok()) return st;
    events_since_checkpoint = 0;
    std::map<TopicPartition, int64_t> commit;
    for (const auto& [key, next] : pipeline->positions()) {
      if (TypeOf(key.first).has_value() && *TypeOf(key.first) <= EventType::kFever) {
        commit[TopicPartition{key.first, key.second}] = next;
      }
    }
    if (!commit.empty()) consumer->CommitOffsets(commit).IgnoreError();  // lag monitoring only
    return Status::Ok();
  }
};

KafkaEngine::KafkaEngine(const AppConfig& cfg, MetricsRegistry* metrics, KafkaEngineHooks hooks,
                         ScaleOutConfig scale_out)
    : impl_(std::make_unique<Impl>()) {
  impl_->cfg = cfg;
  impl_->scale_cfg = std::move(scale_out);
  impl_->metrics = metrics;
  impl_->hooks = std::move(hooks);
}

KafkaEngine::~KafkaEngine() {
  // Leave the group while every member the revoke callback uses is alive
  // (member destruction order would otherwise free them first).
  if (impl_ && impl_->consumer) {
    impl_->no_checkpoint_on_revoke = true;
    impl_->consumer->Close().IgnoreError();
  }
  if (impl_ && impl_->cluster_consumer) {
    impl_->no_checkpoint_on_revoke = true;
    impl_->cluster_consumer->Close().IgnoreError();
  }
}

Status KafkaEngine::Start() {
  Impl& m = *impl_;
  const TopicsConfig& t = m.cfg.topics;
  m.topic_types = {{t.scans, EventType::kScan},         {t.transport, EventType::kTransport},
                   {t.fever, EventType::kFever},        {t.risk_areas, EventType::kRiskArea},
                   {t.persons, EventType::kPerson}};
  if (m.metrics != nullptr) {
    m.probe = std::make_unique<PipelineProbe>(
        *m.metrics, std::vector<std::string>{"scan", "transport", "fever", "risk_area", "person"});
    m.process_probe = std::make_unique<ProcessProbe>(*m.metrics);
  }
  const std::string dir = m.cfg.engine.state.dir.empty() ? "epistream-state" : m.cfg.engine.state.dir;
  auto store = RocksKvStore::Open(dir, m.cfg.engine.state);
  if (!store.ok()) return store.status();
  m.store = std::move(store).value();
  // A checkpoint's RocksDB write (WAL + memtable inserts of the whole batch)
  // runs on the store's writer thread while the loop goes on: it was
  // 20-100 ms of every checkpoint's pause at 30k events/s (100k persons),
  // and every event that arrives during the pause waits for it. Exactly
  // once holds as before: the batch (state + offsets + sink positions) is
  // atomic, and a crash before it lands is a crash before the checkpoint
  // (replay from the previous one; KafkaSink's read-back suppresses the
  // repeated output). Reads see the batch in flight; a failed write fails
  // the next checkpoint. Revocations and the final stop Sync() first.
  m.store->EnableAsyncCommit();

  KafkaProducerOptions popts;
  popts.brokers = m.cfg.engine.kafka.brokers;
  popts.properties = m.cfg.engine.kafka.properties;
  popts.queue_full_timeout_ms = 10 * 60 * 1000;  // a broker outage waits, it does not fail
  auto producer = KafkaProducer::Create(popts);
  if (!producer.ok()) return producer.status();
  m.producer = std::move(producer).value();
  m.alerts = std::make_unique<KafkaSink>(m.producer.get(), t.alerts_person, &KafkaSink::AlertIdOf);
  m.alerts_cluster = std::make_unique<KafkaSink>(m.producer.get(), t.alerts_cluster, &KafkaSink::AlertIdOf);
  m.deadletters = std::make_unique<KafkaSink>(m.producer.get(), t.deadletter, &KafkaSink::KeyOf);

  TableReaderOptions ropts;
  ropts.brokers = m.cfg.engine.kafka.brokers;
  ropts.properties = m.cfg.engine.kafka.properties;
  m.scale_out = m.scale_cfg.enabled;
  if (m.scale_cfg.repartition && !m.scale_out) {
    return Status::InvalidArgument("repartition needs scale-out (--scale-out)");
  }
  const bool repartition = m.scale_out && m.scale_cfg.repartition;
  m.sink_reader = ropts;
  auto apos = CityPipeline::StoredSinkPosition(m.store.get(), "alerts");
  if (!apos.ok()) return apos.status();
  spdlog::debug("start: state open, producer up");
  // Scale-out: person alerts and dead letters are recovered per partition
  // when it is assigned (TakeOver), from that partition's positions.
  EPI_RETURN_IF_ERROR(m.alerts->Recover(m.scale_out ? std::string() : *apos, ropts, kTableTimeoutMs));
  auto cpos = CityPipeline::StoredSinkPosition(m.store.get(), "alerts_cluster");
  if (!cpos.ok()) return cpos.status();
  // Repartition: per repartition partition when it is assigned.
  EPI_RETURN_IF_ERROR(
      m.alerts_cluster->Recover(repartition ? std::string() : *cpos, ropts, kTableTimeoutMs));
  auto dpos = CityPipeline::StoredSinkPosition(m.store.get(), "deadletters");
  if (!dpos.ok()) return dpos.status();
  EPI_RETURN_IF_ERROR(
      m.deadletters->Recover(m.scale_out ? std::string() : *dpos, ropts, kTableTimeoutMs));
  if (m.alerts->pending_suppressions() > 0) {
    spdlog::info("recovery: {} alerts written after the last checkpoint will not be re-emitted",
                 m.alerts->pending_suppressions());
  }

  spdlog::debug("start: sinks recovered");
  RecordSink* alert_sink = m.alerts.get();
  RecordSink* cluster_sink = m.alerts_cluster.get();
  if (m.hooks.on_alert) {
    m.alerts_tee = std::make_unique<TeeSink>(m.alerts.get(), m.hooks.on_alert);
    alert_sink = m.alerts_tee.get();
    m.alerts_cluster_tee = std::make_unique<TeeSink>(m.alerts_cluster.get(), m.hooks.on_alert);
    cluster_sink = m.alerts_cluster_tee.get();
  }
  m.pipeline = std::make_unique<CityPipeline>(m.cfg.engine, m.cfg.rules, m.store.get(), alert_sink,
                                              cluster_sink, m.deadletters.get(), m.probe.get());
  EPI_RETURN_IF_ERROR(m.pipeline->Open());
  if (m.scale_out) {
    ChangelogOptions clopts;
    clopts.brokers = m.cfg.engine.kafka.brokers;
    clopts.properties = m.cfg.engine.kafka.properties;
    clopts.topic = m.scale_cfg.changelog_topic;
    clopts.timeout_ms = kTableTimeoutMs;
    auto writer = ChangelogWriter::Create(clopts);
    if (!writer.ok()) return writer.status();
    m.changelog = std::move(writer).value();
    auto restorer = ChangelogRestorer::Create(clopts);
    if (!restorer.ok()) return restorer.status();
    m.restorer = std::move(restorer).value();
    int32_t inputs = 0;
    for (const std::string* topic : {&t.scans, &t.transport, &t.fever}) {
      auto n = m.producer->PartitionCount(*topic);
      if (!n.ok()) return n.status();
      if (inputs != 0 && *n != inputs) {
        // The range assignor co-assigns partition p of every topic only when
        // the counts are equal; person state of p must meet all three.
        return Status::InvalidArgument("scale-out needs equal partition counts on the person topics");
      }
      inputs = *n;
    }
    auto cl = m.changelog->EnsureTopic(inputs);
    if (!cl.ok()) return cl.status();
    if (m.probe) m.probe->EnableScaleOut(*m.metrics);
    Impl* self = &m;
    m.pipeline->set_before_commit([self] { return self->BeforeCommit(); });
    spdlog::info("scale-out: changelog {} ({} partitions)", clopts.topic, *cl);
    if (!repartition) {
      spdlog::warn("scale-out without repartition: cluster alerts see this instance's partitions only");
    } else {
      const std::string rtopic(kRepartitionClusterTopic);
      // Q is independent of the input count (RepartitionPartitionsFor); an
      // existing topic's count wins, whatever this instance would create.
      const int32_t want_q =
          RepartitionPartitionsFor(m.scale_cfg.repartition_partitions, inputs);
      auto q_count = m.producer->EnsureTopic(rtopic, want_q, kTableTimeoutMs);
      if (!q_count.ok() && q_count.status().code() == StatusCode::kInvalidArgument) {
        // It exists with fewer partitions than want_q: use them.
        q_count = m.producer->PartitionCount(rtopic, kTableTimeoutMs);
      }
      if (!q_count.ok()) return q_count.status();
      if (*q_count < 1 || *q_count > 65535) {
        return Status::InvalidArgument(fmt::format("topic {} has {} partitions (1..65535 usable)",
                                                   rtopic, *q_count));
      }
      if (*q_count != want_q) {
        spdlog::warn("repartition: topic {} exists with {} partitions, {} {}; using the topic's {}",
                     rtopic, *q_count, want_q,
                     m.scale_cfg.repartition_partitions > 0
                         ? "configured (repartition_partitions)"
                         : "by default (min(input partitions, 6))",
                     *q_count);
      }
      ChangelogOptions ccl = clopts;
      ccl.topic = std::string(kClusterChangelogTopic);
      auto cw = ChangelogWriter::Create(ccl);
      if (!cw.ok()) return cw.status();
      m.cluster_changelog = std::move(cw).value();
      auto cr = ChangelogRestorer::Create(ccl);
      if (!cr.ok()) return cr.status();
      m.cluster_restorer = std::move(cr).value();
      auto ccount = m.cluster_changelog->EnsureTopic(*q_count);
      if (!ccount.ok()) return ccount.status();
      ClusterSideOptions so;
      so.stage = ClusterStageOptionsFor(m.cfg.engine, m.cfg.rules);
      so.upstream_partitions = static_cast<uint16_t>(inputs);
      so.repartition_partitions = static_cast<uint16_t>(*q_count);
      m.frame_sink = std::make_unique<KafkaFrameSink>(m.producer.get(), rtopic);
      m.side = std::make_unique<ClusterSide>(so, m.store.get(), m.frame_sink.get(), cluster_sink,
                                             m.deadletters.get());
      EPI_RETURN_IF_ERROR(m.side->Open());
      m.pipeline->set_cluster_edge(m.side->edge());
      spdlog::info("repartition: {} ({} partitions, {} input partitions), cluster changelog {} ({}"
                   " partitions)",
                   rtopic, *q_count, inputs, ccl.topic, *ccount);
    }
  }

  // The group consumers subscribe before the tables load: the group join
  // (3 s on the embedded broker, the coordinator's initial rebalance delay)
  // overlaps the load. Their rebalance callbacks run only inside PollBatch,
  // so no partition is assigned, looked up or revoked before the tables are
  // loaded.
  KafkaConsumerOptions copts;
  copts.brokers = m.cfg.engine.kafka.brokers;
  copts.group = m.cfg.engine.kafka.group;
  // A crashed instance's partitions move after session.timeout.ms; 10 s (the
  // Kafka Streams default before 3.0) rather than librdkafka's 45 s, unless
  // the config says otherwise.
  // auto.offset.reset=error: a position the broker no longer has (retention
  // deleted unread data) must stop the engine loudly, never skip silently to
  // the new start of the log (CONTRACT 5; found by the soak against the
  // mock's 5 MiB per-partition limit: 4.26M of 12M records skipped).
  copts.properties = {{"session.timeout.ms", "10000"},
                      {"heartbeat.interval.ms", "1000"},
                      {"auto.offset.reset", "error"}};
  for (const auto& [k, v] : m.cfg.engine.kafka.properties) copts.properties[k] = v;
  if (m.scale_out) {
    // Partition p of the three person topics to one instance (equal
    // partition counts): the state of partition p meets all of its events.
    auto it = copts.properties.find("partition.assignment.strategy");
    if (it != copts.properties.end() && it->second != "range") {
      spdlog::warn("scale-out: partition.assignment.strategy {} replaced by range", it->second);
    }
    copts.properties["partition.assignment.strategy"] = "range";
  }
  copts.topics = {t.scans, t.transport, t.fever};
  Impl* impl = impl_.get();
  auto lookup = [impl](const std::string& topic, int32_t partition) -> std::optional<int64_t> {
    if (impl->scale_out && impl->taken_over.count(partition) == 0) {
      Status st = impl->TakeOver(partition);
      if (!st.ok()) {
        impl->callback_error = st;
        return std::nullopt;
      }
    }
    auto off = impl->pipeline->StoredOffset(topic, partition);
    if (!off.ok()) {
      impl->callback_error = off.status();
      return std::nullopt;
    }
    return *off;
  };
  auto on_revoke = [impl](const std::vector<TopicPartition>& parts, bool lost) {
    const bool committed = impl->CheckpointBeforeRevoke(lost);
    for (const TopicPartition& tp : parts) {
      const bool last = --impl->partition_refs[tp.partition] <= 0;
      if (last) impl->partition_refs.erase(tp.partition);
      const std::optional<EventType> type = impl->TypeOf(tp.topic);
      if (type) impl->merger.DropSource(static_cast<int>(*type), tp.partition);
      impl->paused.erase(tp);
      impl->pipeline->RemovePartition(tp.partition, type, last);
      if (impl->scale_out) {
        // Another instance may advance this position now: never write it again.
        impl->pipeline->ForgetPosition(tp.topic, tp.partition);
        if (last) {
          if (impl->side) impl->side->writer().RemoveUpstream(static_cast<uint16_t>(tp.partition));
          impl->taken_over.erase(tp.partition);
          for (auto& [name, positions] : impl->sink_recovery) positions.erase(tp.partition);
          if (!committed) {
            impl->KeepCallbackError(impl->DropLocalCopy(tp.partition));
          }
        }
      }
    }
    if (impl->scale_out && impl->partition_refs.empty()) {
      // Nothing held: an event-time rewind still pending from a take-over
      // revoked before its assignment was applied (KafkaConsumer drops those
      // events) is not carried into the next assignment, which sets its own.
      impl->rewind_pending = false;
      impl->rewind_to = kNoRewind;
    }
  };
  auto consumer = KafkaConsumer::Create(copts, lookup, on_revoke);
  if (!consumer.ok()) return consumer.status();
  m.consumer = std::move(consumer).value();
  if (m.side) {
    // The cluster side: its own group on the repartition topic (range:
    // partition q to one instance), offsets from q's checkpointed range.
    KafkaConsumerOptions ccopts = copts;
    ccopts.group = copts.group + ".cluster";
    ccopts.topics = {std::string(kRepartitionClusterTopic)};
    auto cluster_lookup = [impl](const std::string& /*topic*/,
                                 int32_t q) -> std::optional<int64_t> {
      if (impl->cluster_owned.count(q) == 0) {
        Status st = impl->ClusterTakeOver(q);
        if (!st.ok()) {
          impl->callback_error = st;
          return std::nullopt;
        }
      }
      auto off = impl->side->StoredOffset(static_cast<uint16_t>(q));
      if (!off.ok()) {
        impl->callback_error = off.status();
        return std::nullopt;
      }
      return *off;
    };
    auto cluster_revoke = [impl](const std::vector<TopicPartition>& parts, bool lost) {
      const bool committed = impl->CheckpointBeforeRevoke(lost);
      for (const TopicPartition& tp : parts) {
        spdlog::info("repartition runner revoked:{}",
                     impl->RunnerStats(static_cast<uint16_t>(tp.partition)));
        impl->side->Revoke(static_cast<uint16_t>(tp.partition));
        // Another instance reports q's lag from now on.
        if (impl->probe) impl->probe->set_consumer_lag(tp.topic, tp.partition, 0);
        impl->cluster_owned.erase(tp.partition);
        impl->cluster_recovery.erase(tp.partition);
        if (!committed) {
          impl->KeepCallbackError(impl->DropClusterCopy(tp.partition));
        }
      }
    };
    auto cc = KafkaConsumer::Create(ccopts, cluster_lookup, cluster_revoke);
    if (!cc.ok()) return cc.status();
    m.cluster_consumer = std::move(cc).value();
  }

  // Global tables first, to their end, from the checkpointed offsets.
  std::map<TopicPartition, int64_t> table_start;
  for (const std::string& topic : {t.risk_areas, t.persons}) {
    auto offs = m.pipeline->StoredOffsets(topic);
    if (!offs.ok()) return offs.status();
    for (const auto& [p, next] : *offs) table_start[TopicPartition{topic, p}] = next;
  }
  ropts.topics = {t.risk_areas, t.persons};
  auto tables = TableReader::Open(ropts, table_start);
  if (!tables.ok()) return tables.status();
  m.tables = std::move(tables).value();
  spdlog::debug("start: table reader open");
  const int64_t wall = WallMs();
  EPI_RETURN_IF_ERROR(m.tables->ReadToEnd([&](const KafkaMessage& msg) { return m.Apply(msg, wall); },
                                          kTableTimeoutMs));
  EPI_RETURN_IF_ERROR(m.Checkpoint());
  if (m.metrics != nullptr) {
    m.metrics->health().set_max_stall(m.cfg.engine.http.ready_max_stall);
    m.metrics->health().set_tables_loaded(true);
  }
  spdlog::info("global tables loaded; group {} joined or joining", m.cfg.engine.kafka.group);

  return Status::Ok();
}

Status KafkaEngine::Run() {
  Impl& m = *impl_;
  std::vector<KafkaMessage> batch;
  std::vector<KafkaMessage> table_batch;
  std::vector<EventTimeMerger::Item> released;
  std::vector<PipelineRecord> records;
  std::vector<KafkaMessage> cluster_batch;
  auto last_checkpoint = std::chrono::steady_clock::now();
  auto last_second = last_checkpoint;
  uint64_t records_at_last_second = 0;
  const auto interval = std::chrono::milliseconds(m.cfg.engine.checkpoint.interval);
  while (!stop_.load()) {
    // Tables first: a listing is applied before events polled after it.
    EPI_RETURN_IF_ERROR(m.tables->PollBatch(0, &table_batch, 1000));
    const int64_t wall = WallMs();
    for (const KafkaMessage& msg : table_batch) EPI_RETURN_IF_ERROR(m.Apply(msg, wall));
    table_batch.clear();
    // Back-pressure: no repartition partition here yet (or in a rebalance
    // of <group>.cluster): input is not applied, and its partitions are
    // paused (PauseHeld), while the turn reads frames and checkpoints.
    // The person consumer is still polled: its group's rebalances must be
    // served within the rebalance timeout, or the group moves this
    // instance's partitions while it goes on checkpointing them (the
    // embedded broker elects without a member that has not rejoined after
    // session.timeout.ms - 1 s).
    const bool gated = m.cluster_consumer && m.ClusterGated(std::chrono::steady_clock::now());

    const bool timed = static_cast<bool>(m.hooks.on_turn);
    LoopTurnTiming turn;
    auto lap_start = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    auto lap = [&](double* acc) {
      if (!timed) return;
      const auto t = std::chrono::steady_clock::now();
      *acc += std::chrono::duration<double>(t - lap_start).count();
      lap_start = t;
    };
    EPI_RETURN_IF_ERROR(m.consumer->PollBatch(m.merger.queued() > 0 ? 10 : 100, &batch, kMaxBatch));
    lap(&turn.poll_s);
    if (!m.callback_error.ok()) return m.callback_error;
    // Events and messages in the order they happened: an end-of-partition
    // event before message i has batch_index i.
    std::vector<PartitionEvent> events = m.consumer->TakeEvents();
    const bool assigned =
        std::any_of(events.begin(), events.end(), [](const PartitionEvent& ev) {
          return ev.kind == PartitionEvent::Kind::kAssigned;
        });
    const uint64_t poll_seq = ++m.polls;
    const bool polled = !batch.empty();
    // This poll's barrier runs after what earlier polls brought is applied
    // (below); its ListOffsets request goes out now, captured after the
    // poll as the barrier requires, and its round trip overlaps that work.
    if (polled && !assigned) m.tables->StartCatchUp(kTableBarrierTimeoutMs);
    // The table barrier of this poll. Not in the way of what earlier polls
    // brought: those are covered by their own barrier, so (unless this poll
    // assigned partitions, whose arrivals must meet every listing when they
    // are added) they are drained and applied first and the barrier runs
    // after, then what it covers is drained (one round trip less between an
    // event waiting for a caught-up snapshot and its release).
    auto barrier = [&](bool* done) -> Status {
      *done = true;
      if (!polled && !assigned) return Status::Ok();
      EPI_RETURN_IF_ERROR(m.CatchUpTables(stop_, done));
      if (*done) m.covered_polls = poll_seq;
      return Status::Ok();
    };
    if (assigned) {
      bool done = false;
      EPI_RETURN_IF_ERROR(barrier(&done));
      if (!done) {  // stopping while the tables cannot be read
        batch.clear();
        break;
      }
    }
    if (batch.empty() && m.merger.queued() == 0 && m.ReplayCaughtUp()) {
      // Caught up with every partition, yet some output written before the
      // crash was not regenerated (it came from input that no longer gives
      // it): it stays in the topic once; stop waiting for it.
      const size_t n = m.alerts->ForgetPending() + m.deadletters->ForgetPending();
      spdlog::warn("replay caught up; {} earlier output records were not regenerated", n);
    }
    lap(&turn.tables_s);
    if (!m.sink_recovery.empty()) EPI_RETURN_IF_ERROR(m.RecoverSinks());
    size_t next_event = 0;
    auto apply_events_until = [&](size_t index) -> Status {
      for (; next_event < events.size() && events[next_event].batch_index <= index; ++next_event) {
        const PartitionEvent& ev = events[next_event];
        const std::optional<EventType> type = m.TypeOf(ev.tp.topic);
        switch (ev.kind) {
          case PartitionEvent::Kind::kAssigned:
            spdlog::info("assigned {}/{} from offset {}", ev.tp.topic, ev.tp.partition, ev.offset);
            if (m.rewind_pending && m.partition_refs.empty()) {
              m.pipeline->RewindWatermark(m.rewind_to);
              if (m.side) {
                m.side->ResetWriter();
                m.pipeline->set_cluster_edge(m.side->edge());
              }
              spdlog::info("event time restarts at {} for the new assignment",
                           m.rewind_to == kMinTimestamp ? std::string("the beginning")
                                                        : FormatRfc3339(m.rewind_to, 0));
            }
            m.rewind_pending = false;
            m.rewind_to = kNoRewind;
            ++m.partition_refs[ev.tp.partition];
            EPI_RETURN_IF_ERROR(m.pipeline->AddPartition(ev.tp.partition, type, wall));
            if (type) {
              auto seed = m.seed_progress.find({ev.tp.partition, *type});
              if (seed != m.seed_progress.end()) {
                m.pipeline->SeedProgress(ev.tp.partition, type, seed->second);
                m.seed_progress.erase(seed);
              }
            }
            // The merger waits for this topic of the partition from now on,
            // not only once its first fetch arrives: a slow first fetch of
            // one topic must not let the other topics' later events pass.
            if (type) m.merger.Assign(static_cast<int>(*type), ev.tp.partition);
            if (m.side) {
              EPI_RETURN_IF_ERROR(m.side->writer().AddUpstream(static_cast<uint16_t>(ev.tp.partition)));
            }
            break;
          case PartitionEvent::Kind::kCaughtUp:
            // Fresh (not a past end of partition): see engine/event_time_merger.h.
            if (type) {
              m.merger.SetCaughtUpAsOf(static_cast<int>(*type), ev.tp.partition, ev.as_of_ms);
              // as_of_ms is on the consumer's steady clock; the tracker's
              // is wall time.
              m.pipeline->MarkCaughtUp(ev.tp.partition, type,
                                       WallMs() - (KafkaConsumer::NowMs() - ev.as_of_ms));
            }
            break;
          case PartitionEvent::Kind::kOffsetGap:
            // Data between the checkpoint and what the broker still has is
            // gone: continuing would silently skip events. Stop loudly.
            return Status::OutOfRange("offset gap on " + ev.tp.topic + "/" +
                                      std::to_string(ev.tp.partition) + ": expected " +
                                      std::to_string(ev.expected) + ", broker has " +
                                      std::to_string(ev.offset));
          case PartitionEvent::Kind::kError:
            if (ev.status.code() == StatusCode::kOutOfRange) {
              return Status::OutOfRange("input data lost before it was processed (" +
                                        ev.tp.topic + "/" + std::to_string(ev.tp.partition) +
                                        "): " + ev.status.message() +
                                        "; stopping rather than skipping it");
            }
            spdlog::warn("kafka: {}", ev.status.ToString());
            break;
          default:
            break;
        }
      }
      return Status::Ok();
    };
    for (size_t i = 0; i < batch.size(); ++i) {
      EPI_RETURN_IF_ERROR(apply_events_until(i));
      KafkaMessage& msg = batch[i];
      const std::optional<EventType> type = m.TypeOf(*msg.topic);
      if (!type) continue;
      EventTimeMerger::Item item;
      item.ts = EventTimeMerger::PeekTs(msg.value);
      item.batch = poll_seq;
      item.msg = std::move(msg);
      m.merger.Push(static_cast<int>(*type), std::move(item));
    }
    EPI_RETURN_IF_ERROR(apply_events_until(SIZE_MAX));
    batch.clear();
    auto drain_and_apply = [&]() -> Status {
      released.clear();
      if (gated) return Status::Ok();
      m.merger.Drain(wall, &released, m.covered_polls);
      // Before applying (the snapshot's request time bounds what it can
      // release): when the merger waits, and at least every second anyway,
      // as the watermark treats a quiet partition as idle only while its
      // last confirmation is fresh (WatermarkTracker::kCaughtUpFreshMs).
      if (m.merger.WantsSnapshot() || wall - m.last_caught_up_request_ms >= 1000) {
        m.consumer->RequestCaughtUp();
        m.last_caught_up_request_ms = wall;
      }
      if (released.empty()) return Status::Ok();
      const int64_t bwall = WallMs();
      // One call for the whole release: person states load ahead of use.
      // epistream_event_to_alert_seconds counts from when each event was
      // consumed (received_ms, the steady clock), merger wait included.
      records.clear();
      for (const EventTimeMerger::Item& item : released) {
        const KafkaMessage& msg = item.msg;
        records.push_back({msg.value, m.TypeOf(*msg.topic), {*msg.topic, msg.partition, msg.offset},
                           std::chrono::steady_clock::time_point(
                               std::chrono::milliseconds(msg.received_ms))});
      }
      std::function<void(size_t)> applied;
      if (m.hooks.on_applied) applied = [&](size_t i) { m.hooks.on_applied(released[i].msg); };
      EPI_RETURN_IF_ERROR(m.pipeline->OnMessages(records, bwall, applied));
      m.events_since_checkpoint += released.size();
      turn.released += released.size();
      return Status::Ok();
    };
    lap(&turn.apply_s);
    EPI_RETURN_IF_ERROR(drain_and_apply());
    if (!assigned && polled) {
      lap(&turn.apply_s);
      bool done = false;
      EPI_RETURN_IF_ERROR(barrier(&done));
      lap(&turn.tables_s);
      if (!done) break;  // stopping while the tables cannot be read
      EPI_RETURN_IF_ERROR(drain_and_apply());
    }
    if (gated || !m.paused.empty() || m.merger.queued() > EventTimeMerger::kMaxHeldPerPartition) {
      m.PauseHeld(gated);
    }
    if (turn.released == 0 && !gated) EPI_RETURN_IF_ERROR(m.pipeline->Tick(wall));
    if (m.cluster_consumer) {
      EPI_RETURN_IF_ERROR(m.PollCluster(&cluster_batch));
      // Back-pressure (kClusterLagLimit): this instance's input waits while
      // its own repartition partitions are far behind.
      const auto drain_until = std::chrono::steady_clock::now() + kClusterDrainBudget;
      while (m.cluster_polled > 0 && !stop_.load() && m.ClusterBehind() &&
             std::chrono::steady_clock::now() < drain_until) {
        EPI_RETURN_IF_ERROR(m.PollCluster(&cluster_batch));
      }
    }
    lap(&turn.apply_s);
    const auto now = std::chrono::steady_clock::now();
    if (m.metrics != nullptr) m.metrics->health().MarkProgress(now);
    if (now - last_checkpoint >= interval ||
        m.events_since_checkpoint >= m.cfg.engine.checkpoint.max_events) {
      EPI_RETURN_IF_ERROR(m.Checkpoint());
      last_checkpoint = now;
      lap(&turn.checkpoint_s);
    }
    if (timed) m.hooks.on_turn(turn);
    if (now - last_second >= std::chrono::seconds(1)) {
      const PipelineCounters& c = m.pipeline->counters();
      EngineSnapshot s;
      s.records = c.records;
      s.events = c.events;
      s.alerts = c.alerts;
      s.deadletters = c.deadletters;
      s.duplicates = c.duplicates;
      s.checkpoints = c.checkpoints;
      s.records_per_s = static_cast<double>(c.records - records_at_last_second) /
                        std::chrono::duration<double>(now - last_second).count();
      s.watermark = m.pipeline->watermark();
      s.suppressed = m.alerts->suppressed() + m.deadletters->suppressed();
      s.merging = m.merger.queued();
      for (const PartitionLag& lag : m.consumer->Lags()) {
        if (lag.lag > 0) s.lag += lag.lag;
        ++s.partitions;
        if (m.probe) m.probe->set_consumer_lag(lag.tp.topic, lag.tp.partition, std::max<int64_t>(lag.lag, 0));
      }
      if (m.cluster_consumer && m.probe) {
        // The repartition topic's lag too: input counted is not input done
        // while the cluster side still has frames to read (bench/scale).
        for (const PartitionLag& lag : m.cluster_consumer->Lags()) {
          m.probe->set_consumer_lag(lag.tp.topic, lag.tp.partition, std::max<int64_t>(lag.lag, 0));
        }
      }
      if (m.metrics != nullptr) m.metrics->health().set_assigned_partitions(static_cast<int64_t>(s.partitions));
      if (m.probe) m.probe->set_state_stats(m.store->Stats());
      if (m.probe) m.probe->set_state_entries(m.pipeline->cached_persons());
      if (m.process_probe) m.process_probe->Sample().IgnoreError();
      if (m.side && ++m.cluster_log_tick % 10 == 0) {
        std::string runners;
        for (uint16_t q : m.side->assigned()) runners += m.RunnerStats(q);
        spdlog::info("repartition: person watermark {}, frames sent {} (markers {}; all frames since"
                     " start {}, {} bytes), cluster alerts {};{}",
                     s.watermark == kMinTimestamp ? std::string("-") : FormatRfc3339(s.watermark, 0),
                     m.side->writer().frames_sent(), m.side->writer().markers_sent(),
                     m.frame_sink->frames(), m.frame_sink->bytes(), m.side->alerts(), runners);
      }
      records_at_last_second = c.records;
      last_second = now;
      if (m.hooks.on_second) m.hooks.on_second(s);
    }
  }
  // Graceful stop: checkpoint (retrying briefly if the broker is slow), leave.
  if (m.metrics != nullptr) m.metrics->health().set_assigned_partitions(0);  // /readyz: draining
  // (A checkpoint postponed because the broker is down or a replay is still
  // under way is safe to skip: the next start replays from the last one.)
  Status st = m.Checkpoint();
  // The last checkpoint durable (async commit) before the group moves on.
  if (st.ok()) st = m.store->Sync();
  if (m.frame_sink) {
    spdlog::info("repartition: stopping; frames sent since start {} ({} bytes), cluster alerts {}",
                 m.frame_sink->frames(), m.frame_sink->bytes(), m.side->alerts());
  }
  Status close = m.consumer->Close();
  if (m.cluster_consumer) {
    Status cclose = m.cluster_consumer->Close();
    if (close.ok()) close = cclose;
  }
  EPI_RETURN_IF_ERROR(st);
  return close;
}

}  // namespace epistream
