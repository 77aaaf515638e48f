#include "topologies/city_pipeline.h"

#include <string.h>

#include <algorithm>
#include <chrono>

#include "engine/byte_codec.h"
#include "engine/pipeline_probe.h"
#include "engine/state_keys.h"
#include "operators/dead_letter.h"

namespace epistream {
namespace {

PersonStageOptions StageOptions(const EngineConfig& engine, const RulesConfig& rules) {
  PersonStageOptions o;
  o.rules = rules;
  o.retention = engine.state.retention;
  o.allowed_lateness = engine.watermark.allowed_lateness;
  o.tz_offset_minutes = engine.tz_offset_minutes;
  o.cache_entries = engine.state.cache_entries;
  o.encoded_cache_bytes = engine.state.encoded_cache_bytes;
  return o;
}

// This pipeline's own cluster stage: on the worker thread
// (engine.cluster_thread) it must keep off the store between checkpoints.
ClusterStageOptions OwnClusterOptions(const EngineConfig& engine, const RulesConfig& rules) {
  ClusterStageOptions o = ClusterStageOptionsFor(engine, rules);
  o.detached = engine.cluster_thread;
  return o;
}

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::string kWatermarkKey = state_keys::Meta("watermark");

// The string value of `quoted_key` ("\"name\"") in a JSON object by a plain
// scan: no parse, no unescaping. For look-ahead hints only (a wrong or
// missing one costs a wasted or a plain read, never a wrong result), so
// anything unusual gives up (empty).
std::string_view StringFieldHint(std::string_view json, std::string_view quoted_key) {
  // Also an empty record (a Kafka message without a value: data() null,
  // which memmem must not get).
  if (json.size() < quoted_key.size()) return {};
  const void* hit = ::memmem(json.data(), json.size(), quoted_key.data(), quoted_key.size());
  if (hit == nullptr) return {};
  size_t i = static_cast<size_t>(static_cast<const char*>(hit) - json.data()) + quoted_key.size();
  auto skip_space = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' ||
                               json[i] == '\r')) {
      ++i;
    }
  };
  skip_space();
  if (i >= json.size() || json[i] != ':') return {};
  ++i;
  skip_space();
  if (i >= json.size() || json[i] != '"') return {};
  const size_t start = i + 1;
  const size_t end = json.find('"', start);
  if (end == std::string_view::npos) return {};
  const std::string_view value = json.substr(start, end - start);
  if (value.find('\\') != std::string_view::npos) return {};
  return value;
}

// The person whose state a record will need, if any: scans, transport
// entries and fever visits (not the person registry's records).
std::string_view PersonHint(const PipelineRecord& r) {
  if (r.type.has_value()) {
    if (*r.type == EventType::kPerson || *r.type == EventType::kRiskArea) return {};
  } else if (const std::string_view type = StringFieldHint(r.bytes, "\"type\"");
             type == "person" || type == "risk_area") {
    return {};
  }
  return StringFieldHint(r.bytes, "\"person_id\"");
}

// Memory hints for the person states a run of records [begin, end) will
// use: the index bucket of each record's cached state kIndexAhead records
// ahead, its entry (bytes and record) kEntryAhead ahead, so a state cold in
// memory costs no dependent cache miss when its record comes (perf, 1M
// persons: the two misses were a quarter of the stage thread). person_at(j)
// is record j's person id, or "" (a wrong id only wastes a hint). Not
// `enabled`: no hints.
template <typename PersonAt>
class StateHints {
 public:
  StateHints(const PersonStage& stage, bool enabled, size_t begin, size_t end,
             PersonAt person_at)
      : stage_(stage), enabled_(enabled), end_(end), person_at_(std::move(person_at)) {
    if (!enabled_) return;
    for (size_t j = begin; j < std::min(end, begin + kIndexAhead); ++j) IndexAhead(j);
  }
  // Before record i is applied.
  void Before(size_t i) {
    if (!enabled_) return;
    if (i + kIndexAhead < end_) IndexAhead(i + kIndexAhead);
    const uint32_t hash = hashes_[(i + kEntryAhead) % kRing];
    if (i + kEntryAhead < end_ && hash != 0) stage_.PrefetchEntry(hash);
  }

 private:
  static constexpr size_t kIndexAhead = 24, kEntryAhead = 12, kRing = 32;
  void IndexAhead(size_t j) {
    const std::string_view person = person_at_(j);
    hashes_[j % kRing] = person.empty() ? 0 : stage_.PrefetchIndex(person);
  }
  const PersonStage& stage_;
  const bool enabled_;
  const size_t end_;
  PersonAt person_at_;
  uint32_t hashes_[kRing] = {};  // 0: nothing to fetch
};

// Watermark inputs: each Kafka topic-partition separately (topics are read at
// different speeds, so one topic's progress says nothing of another's); a
// file is one ordered source.
int32_t WatermarkSource(int32_t partition, std::optional<EventType> type) {
  return type.has_value() ? (static_cast<int32_t>(*type) << 16) | partition : partition;
}

}  // namespace

ClusterStageOptions ClusterStageOptionsFor(const EngineConfig& engine,
                                          const RulesConfig& rules) {
  ClusterStageOptions o;
  o.rules = rules;
  o.allowed_lateness = engine.watermark.allowed_lateness;
  o.tz_offset_minutes = engine.tz_offset_minutes;
  o.retention = engine.state.retention;
  o.evaluation_delay = rules.cluster_evaluation_delay == kDeterministicEvaluationDelay
                           ? engine.watermark.allowed_lateness + 1
                           : rules.cluster_evaluation_delay;
  return o;
}

CityPipeline::CityPipeline(const EngineConfig& engine, const RulesConfig& rules, KvStore* store,
                           RecordSink* alerts, RecordSink* cluster_alerts, RecordSink* deadletters,
                           PipelineProbe* probe)
    : engine_(engine), rules_(rules), store_(store), alerts_sink_(alerts),
      cluster_sink_(cluster_alerts), deadletter_sink_(deadletters), probe_(probe),
      parser_(engine.max_message_bytes), areas_(store), registry_(store),
      stage_(std::in_place, StageOptions(engine, rules), store, &areas_, &registry_),
      cluster_store_(store),
      cluster_(OwnClusterOptions(engine, rules), &cluster_store_),
      watermark_(engine.watermark) {
  stage_->set_cluster_output(&cluster_records_);
}

Status CityPipeline::Open() {
  // --- privacy.pseudonymize (engine/pseudonymizer.h, config/PRIVACY.md) ---
  if (engine_.privacy.pseudonymize) {
    auto p = Pseudonymizer::FromKeyFile(engine_.privacy.key_file);
    if (!p.ok()) return p.status();
    pseudonymizer_ = std::move(p).value();
  }
  // --- end privacy.pseudonymize ---
  EPI_RETURN_IF_ERROR(areas_.Load());
  EPI_RETURN_IF_ERROR(registry_.Load());
  EPI_RETURN_IF_ERROR(cluster_.Open());
  if (engine_.cluster_thread && cluster_edge_ == nullptr && cluster_worker_ == nullptr) {
    cluster_worker_ = std::make_unique<ClusterWorker>(&cluster_);
    PointClusterOutput();
  }
  std::string wm;
  bool found = false;
  EPI_RETURN_IF_ERROR(store_->Get(kWatermarkKey, &wm, &found));
  if (found) {
    EPI_RETURN_IF_ERROR(watermark_.Decode(wm));
    stage_->ResumeSweepsAt(watermark_.current());
  }
  return Status::Ok();
}

void CityPipeline::set_cluster_edge(ClusterEdge* edge) {
  cluster_edge_ = edge;
  if (edge != nullptr && cluster_worker_ != nullptr) {
    cluster_worker_.reset();  // idle: nothing was queued before the first call
    stage_->set_cluster_output(&cluster_records_);
  }
}

void CityPipeline::PointClusterOutput() {
  stage_->set_cluster_output(cluster_worker_ != nullptr ? cluster_worker_->records()
                                                       : &cluster_records_);
}

Status CityPipeline::AddPartition(int32_t partition, std::optional<EventType> type,
                                  int64_t wall_ms) {
  watermark_.Assign(WatermarkSource(partition, type), wall_ms);
  EPI_RETURN_IF_ERROR(stage_->AddPartition(static_cast<uint16_t>(partition), &pending_alerts_));
  EPI_RETURN_IF_ERROR(EmitAlerts());
  return FinishCall();
}

void CityPipeline::RemovePartition(int32_t partition, std::optional<EventType> type,
                                   bool last_of_partition) {
  watermark_.Revoke(WatermarkSource(partition, type));
  if (last_of_partition) stage_->RemovePartition(static_cast<uint16_t>(partition));
}

Status CityPipeline::DeadLetter(std::string_view reason, std::string_view bytes,
                                const SourcePosition& pos) {
  ++counters_.deadletters;
  if (probe_ != nullptr) probe_->deadletter(reason);
  epistream::DeadLetter dl;
  dl.reason = std::string(reason);
  dl.topic = std::string(pos.topic);
  dl.partition = pos.partition;
  dl.offset = pos.offset;
  dl.original = std::string(bytes.substr(0, std::min<size_t>(bytes.size(), 64 * 1024 + 1)));
  // The key names the source position: unique and deterministic, so a
  // replayed dead letter is recognised (KafkaSink suppression).
  const std::string key = dl.topic + ":" + std::to_string(dl.partition) + ":" + std::to_string(dl.offset);
  return deadletter_sink_->Write(key, DeadLetterToJson(dl));
}

Status CityPipeline::EmitAlerts() {
  if (cluster_worker_ == nullptr) {
    EPI_RETURN_IF_ERROR(EmitAlertList(&pending_alerts_, alerts_sink_));
    return EmitAlertList(&pending_cluster_alerts_, cluster_sink_);
  }
  // The person stage's alerts wait in the sequencer until the worker has
  // made every cluster alert that goes before them.
  for (Alert& a : pending_alerts_) {
    sequencer_.AddOwn(std::move(a), cluster_worker_->watermarks_queued(), receive_time_);
  }
  pending_alerts_.clear();
  if (!sequencer_.has_own() && !cluster_worker_->has_alerts()) return Status::Ok();
  return ReleaseAlerts(false);
}

Status CityPipeline::FinishCall() {
  if (cluster_worker_ == nullptr) return Status::Ok();
  if (!sequencer_.has_own() && cluster_worker_->watermarks_queued() == synced_watermarks_) {
    return Status::Ok();
  }
  return ReleaseAlerts(true);
}

Status CityPipeline::ReleaseAlerts(bool wait) {
  uint64_t done = 0;
  if (wait) {
    ++cluster_waits_;
    EPI_RETURN_IF_ERROR(cluster_worker_->Sync(&worker_alerts_));
    done = cluster_worker_->watermarks_queued();
    synced_watermarks_ = done;
    PointClusterOutput();
  } else {
    EPI_RETURN_IF_ERROR(cluster_worker_->Poll(&worker_alerts_, &done));
  }
  sequencer_.AddCluster(&worker_alerts_);
  if (sequencer_.empty()) return Status::Ok();
  return sequencer_.Release(
      done, [this](const Alert& a, bool cluster, std::chrono::steady_clock::time_point received) {
        return EmitAlert(a, cluster ? cluster_sink_ : alerts_sink_,
                         cluster ? receive_time_ : received);
      });
}

Status CityPipeline::EmitAlertList(std::vector<Alert>* alerts, RecordSink* sink) {
  for (const Alert& a : *alerts) EPI_RETURN_IF_ERROR(EmitAlert(a, sink, receive_time_));
  alerts->clear();
  return Status::Ok();
}

Status CityPipeline::EmitAlert(const Alert& a, RecordSink* sink,
                               std::chrono::steady_clock::time_point received) {
  scratch_.clear();
  AlertToJson(a, engine_.tz_offset_minutes, WallNowMs(), &scratch_);
  EPI_RETURN_IF_ERROR(sink->Write(AlertKey(a), scratch_));
  ++counters_.alerts;
  if (probe_ != nullptr) {
    probe_->alert_emitted(a.rule, a.severity);
    if (received.time_since_epoch().count() != 0) {
      probe_->observe_event_to_alert(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
    }
  }
  return Status::Ok();
}

Status CityPipeline::DrainClusterRecords() {
  if (cluster_worker_ != nullptr) {
    // The records are in the worker's batch already (PointClusterOutput).
    cluster_worker_->RecordsAdded();
    PointClusterOutput();
    return Status::Ok();
  }
  for (size_t i = 0; i < cluster_records_.size(); ++i) {
    if (cluster_edge_ != nullptr) {
      EPI_RETURN_IF_ERROR(cluster_edge_->OnRecord(cluster_records_.source(i), cluster_records_[i]));
    } else {
      EPI_RETURN_IF_ERROR(cluster_.OnRecord(cluster_records_[i]));
    }
  }
  cluster_records_.Clear();
  return Status::Ok();
}

// Registered persons per community (the population of fever_cluster's
// community test) follow the registry.
Status CityPipeline::OnRegistration(const Event& rec) {
  std::string before;
  registry_.Apply(rec, &before);
  if (cluster_edge_ != nullptr) return cluster_edge_->OnRegistration(before, rec.community_id);
  if (cluster_worker_ != nullptr) {
    cluster_worker_->QueueRegistration(before, rec.community_id);
    PointClusterOutput();
    return Status::Ok();
  }
  return cluster_.OnRegistration(before, rec.community_id);
}

Status CityPipeline::AdvanceWatermark(int64_t wall_ms) {
  const TimestampMs before = watermark_.current();
  const TimestampMs wm = watermark_.Update(wall_ms);
  if (wm != before && probe_ != nullptr) probe_->set_watermark(wm);
  EPI_RETURN_IF_ERROR(stage_->OnWatermark(wm, &pending_alerts_));
  EPI_RETURN_IF_ERROR(DrainClusterRecords());
  if (cluster_edge_ != nullptr) {
    EPI_RETURN_IF_ERROR(cluster_edge_->OnWatermark(wm));
  } else if (cluster_worker_ != nullptr) {
    cluster_worker_->QueueWatermark(wm);
    PointClusterOutput();
  } else {
    EPI_RETURN_IF_ERROR(cluster_.OnWatermark(wm, &pending_cluster_alerts_));
  }
  return EmitAlerts();
}

Status CityPipeline::OnMessage(std::string_view bytes, std::optional<EventType> type,
                               const SourcePosition& pos, int64_t wall_ms) {
  EPI_RETURN_IF_ERROR(Apply(bytes, type, pos, wall_ms));
  return FinishCall();
}

Status CityPipeline::Apply(std::string_view bytes, std::optional<EventType> type,
                           const SourcePosition& pos, int64_t wall_ms, ParsedRecord* parsed) {
  ++counters_.records;
  // Runs of one partition are the common case: skip the map lookup (and its
  // key allocation) while the topic name pointer and partition repeat.
  if (last_position_ == nullptr || last_topic_ != pos.topic.data() ||
      last_partition_ != pos.partition) {
    last_position_ = &positions_[{std::string(pos.topic), pos.partition}];
    last_topic_ = pos.topic.data();
    last_partition_ = pos.partition;
  }
  *last_position_ = pos.offset + 1;
  if (parsed != nullptr) {  // parsed ahead (ParseAhead): the same result
    if (!parsed->ok) return DeadLetter(parsed->reason, bytes, pos);
  } else if (std::string reason; !parser_.Parse(bytes, type, &event_, &reason)) {
    return DeadLetter(reason, bytes, pos);
  }
  Event& event = parsed != nullptr ? parsed->event : event_;
  // --- privacy.pseudonymize: from here on the person is known only by its
  // pseudonym (state, tables, alerts, evidence); dead letters above keep the
  // original bytes. ---
  if (pseudonymizer_ != nullptr && !event.person_id.empty()) pseudonymizer_->Apply(&event.person_id);
  if (probe_ != nullptr) {
    probe_->event_in(static_cast<int>(event.type));
    probe_->bytes_in(bytes.size());
  }
  switch (event.type) {
    case EventType::kRiskArea:
      if (!areas_.Apply(event)) {
        ++counters_.duplicates;
        if (probe_ != nullptr) probe_->duplicate();
        return Status::Ok();
      }
      EPI_RETURN_IF_ERROR(stage_->OnListing(event, &pending_alerts_));
      EPI_RETURN_IF_ERROR(EmitAlerts());
      return AdvanceWatermark(wall_ms);  // retroactive test deadlines may be due
    case EventType::kPerson:
      return OnRegistration(event);
    default:
      break;
  }
  if (watermark_.IsTooLate(event.ts)) {
    if (probe_ != nullptr) probe_->late();
    return DeadLetter("too_late", bytes, pos);
  }
  ++counters_.events;
  bool duplicate = false;
  EPI_RETURN_IF_ERROR(stage_->OnEvent(event, static_cast<uint16_t>(pos.partition), &duplicate,
                                     &pending_alerts_));
  EPI_RETURN_IF_ERROR(DrainClusterRecords());
  if (duplicate) {
    ++counters_.duplicates;
    if (probe_ != nullptr) probe_->duplicate();
    return Status::Ok();
  }
  EPI_RETURN_IF_ERROR(EmitAlerts());
  watermark_.Observe(WatermarkSource(pos.partition, type), event.ts, wall_ms);
  return AdvanceWatermark(wall_ms);
}

Status CityPipeline::OnMessages(std::span<const PipelineRecord> records, int64_t wall_ms,
                                const std::function<void(size_t)>& applied) {
  auto apply = [&](size_t i, ParsedRecord* parsed) -> Status {
    const PipelineRecord& r = records[i];
    if (r.received.time_since_epoch().count() != 0) receive_time_ = r.received;
    EPI_RETURN_IF_ERROR(Apply(r.bytes, r.type, r.pos, wall_ms, parsed));
    if (applied) applied(i);
    return Status::Ok();
  };
  const bool prefetch = prefetch_opts_.enabled && store_->SupportsConcurrentReads() &&
                        !records.empty() && stage_->PrefetchUseful();
  const size_t batch = std::max<size_t>(1, prefetch_opts_.batch_records);
  // A small call without loading ahead: batches only pace the parsing.
  const size_t step = !prefetch && records.size() <= batch ? std::min(batch, kParseOnlyStep) : batch;
  // Parsing ahead pays for its hand-over only beyond one batch; the first
  // batch is parsed here while the helper parses the second.
  const bool parse = engine_.parse_thread && records.size() > step;
  // The state key is the person id as it appears in the record unless
  // pseudonymized: then no hints.
  const bool hint = pseudonymizer_ == nullptr;
  if (!prefetch && !parse) {
    StateHints hints(*stage_, hint, 0, records.size(),
                     [&](size_t j) { return PersonHint(records[j]); });
    for (size_t i = 0; i < records.size(); ++i) {
      hints.Before(i);
      EPI_RETURN_IF_ERROR(apply(i, nullptr));
    }
    return FinishCall();
  }
  if (prefetch && prefetcher_ == nullptr) prefetcher_ = std::make_unique<PersonPrefetcher>(store_);
  if (parse && parse_ahead_ == nullptr) {
    parse_ahead_ = std::make_unique<ParseAhead>(engine_.max_message_bytes);
  }
  // Batch k+1 is planned (against the cache as it is before batch k runs)
  // and loaded, and parsed, while batch k is processed.
  auto plan = [&](size_t begin) {
    std::unique_ptr<PrefetchBatch> batch = prefetcher_->NewBatch();
    const size_t end = std::min(records.size(), begin + step);
    for (size_t i = begin; i < end; ++i) {
      std::string_view person = PersonHint(records[i]);
      if (person.empty()) continue;
      if (pseudonymizer_ != nullptr) {
        pseudonymizer_->Pseudonymize(person, &hint_scratch_);
        person = hint_scratch_;
      }
      stage_->PlanPrefetch(static_cast<uint16_t>(records[i].pos.partition), person, batch.get());
    }
    prefetcher_->Submit(std::move(batch));
  };
  if (prefetch) plan(0);
  Status st;
  for (size_t begin = 0; begin < records.size() && st.ok(); begin += step) {
    const size_t end = std::min(records.size(), begin + step);
    if (end < records.size()) {
      if (prefetch) plan(end);
      if (parse) parse_ahead_->Submit(records.subspan(end, std::min(records.size(), end + step) - end));
    }
    if (prefetch) {
      std::unique_ptr<PrefetchBatch> batch = prefetcher_->Take();
      stage_->InstallPrefetched(batch.get());
      prefetcher_->Recycle(std::move(batch));
    }
    std::unique_ptr<ParsedBatch> parsed = parse && begin > 0 ? parse_ahead_->Take() : nullptr;
    // The person as parsed ahead, else (the first batch, parsed as it is
    // applied) as it appears in the record.
    StateHints hints(*stage_, hint, begin, end, [&](size_t j) -> std::string_view {
      if (parsed == nullptr) return PersonHint(records[j]);
      const ParsedRecord& pr = parsed->parsed[j - begin];
      return pr.ok ? std::string_view(pr.event.person_id) : std::string_view();
    });
    for (size_t i = begin; i < end && st.ok(); ++i) {
      hints.Before(i);
      st = apply(i, parsed != nullptr ? &parsed->parsed[i - begin] : nullptr);
    }
    if (parsed != nullptr) parse_ahead_->Recycle(std::move(parsed));
  }
  // After a failure: the batches submitted ahead.
  if (prefetch) prefetcher_->Drain();
  if (parse) parse_ahead_->Drain();
  EPI_RETURN_IF_ERROR(st);
  return FinishCall();
}

Status CityPipeline::Tick(int64_t wall_ms) {
  EPI_RETURN_IF_ERROR(AdvanceWatermark(wall_ms));
  return FinishCall();
}

Status CityPipeline::EndOfInput() {
  const TimestampMs max_seen = watermark_.max_seen();
  if (max_seen != kMinTimestamp) watermark_.AdvanceTo(max_seen);
  EPI_RETURN_IF_ERROR(AdvanceWatermark(0));
  return WaitForCluster();
}

Status CityPipeline::EndOfInputAt(TimestampMs ts) {
  watermark_.AdvanceTo(std::max(ts, watermark_.max_seen()));
  EPI_RETURN_IF_ERROR(AdvanceWatermark(0));
  return WaitForCluster();
}

Status CityPipeline::Checkpoint() {
  const auto start = std::chrono::steady_clock::now();
  Status st = [&]() -> Status {
    // The worker applies everything queued and goes idle.
    EPI_RETURN_IF_ERROR(WaitForCluster());
    if (cluster_worker_ != nullptr) {  // never with an edge (set_cluster_edge)
      // Both stages flush at once, the cluster stage on its thread into
      // cluster_store_, whose writes then follow the person stage's: the
      // same batch as one flush after the other, in a shorter pause (every
      // arriving event waits for it). The cluster flush was 7-23 ms of a
      // 30-70 ms checkpoint at 100k events/s (bench/README.md, session 16).
      cluster_store_.Capture();
      cluster_worker_->QueueFlush();
      cluster_worker_->Publish();
      PointClusterOutput();  // the batch handed over is the worker's now
      const Status person = stage_->Flush();
      // Waited for even after a failure: the worker uses cluster_store_.
      const Status cluster = WaitForCluster();
      const Status captured = cluster_store_.Replay();
      EPI_RETURN_IF_ERROR(person);
      EPI_RETURN_IF_ERROR(cluster);
      EPI_RETURN_IF_ERROR(captured);
    } else {
      EPI_RETURN_IF_ERROR(stage_->Flush());
      EPI_RETURN_IF_ERROR(cluster_edge_ != nullptr ? cluster_edge_->Flush() : cluster_.Flush());
    }
    // The checkpoint's own keys are read back only at a start or an
    // assignment: PutForCommit. A Put (indexed batch) made the store rule
    // out the ~380k write-back keys staged just before by sorting their
    // hashes (RocksKvStore::MaybeInPlain: 2% of the stage thread).
    store_->PutForCommit(kWatermarkKey, watermark_.Encode());
    std::string value;
    for (const auto& [key, next] : positions_) {
      value.clear();
      ByteWriter(&value).BigEndian64(static_cast<uint64_t>(next));
      store_->PutForCommit(state_keys::Offset(key.first, key.second), value);
    }
    EPI_RETURN_IF_ERROR(alerts_sink_->Flush());
    if (cluster_sink_ != alerts_sink_) EPI_RETURN_IF_ERROR(cluster_sink_->Flush());
    EPI_RETURN_IF_ERROR(deadletter_sink_->Flush());
    store_->PutForCommit(state_keys::Meta("sink:alerts"), alerts_sink_->Position());
    if (cluster_sink_ != alerts_sink_) {
      store_->PutForCommit(state_keys::Meta("sink:alerts_cluster"), cluster_sink_->Position());
    }
    store_->PutForCommit(state_keys::Meta("sink:deadletters"), deadletter_sink_->Position());
    if (before_commit_) EPI_RETURN_IF_ERROR(before_commit_());
    const size_t bytes = store_->StagedBytes();
    EPI_RETURN_IF_ERROR(store_->Commit());
    ++counters_.checkpoints;
    if (probe_ != nullptr) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      probe_->observe_checkpoint(secs, bytes);
    }
    return Status::Ok();
  }();
  if (!st.ok() && probe_ != nullptr) probe_->checkpoint_failed();
  return st;
}

TimestampMs CityPipeline::Progress(int32_t partition, std::optional<EventType> type) const {
  return watermark_.max_ts(WatermarkSource(partition, type));
}

void CityPipeline::SeedProgress(int32_t partition, std::optional<EventType> type,
                                TimestampMs ts) {
  if (ts != kMinTimestamp) watermark_.Seed(WatermarkSource(partition, type), ts);
}

void CityPipeline::MarkCaughtUp(int32_t partition, std::optional<EventType> type,
                                int64_t wall_ms) {
  watermark_.MarkCaughtUp(WatermarkSource(partition, type), wall_ms);
}

void CityPipeline::RewindWatermark(TimestampMs to) {
  watermark_ = WatermarkTracker(engine_.watermark);
  if (to != kMinTimestamp) watermark_.AdvanceTo(to);
  stage_.emplace(StageOptions(engine_, rules_), store_, &areas_, &registry_);
  stage_->ResumeSweepsAt(watermark_.current());
  PointClusterOutput();
}

void CityPipeline::ForgetPosition(std::string_view source, int32_t partition) {
  positions_.erase({std::string(source), partition});
  last_position_ = nullptr;  // may have pointed into the erased entry
  last_topic_ = nullptr;
  last_partition_ = -1;
}

Result<std::optional<int64_t>> CityPipeline::StoredOffset(std::string_view source,
                                                          int32_t partition) {
  std::string value;
  bool found = false;
  EPI_RETURN_IF_ERROR(store_->Get(state_keys::Offset(source, partition), &value, &found));
  if (!found) return std::optional<int64_t>();
  ByteReader r(value);
  const auto next = static_cast<int64_t>(r.BigEndian64());
  if (!r.ok()) return Status::Corruption("stored offset undecodable");
  return std::optional<int64_t>(next);
}

Result<std::map<int32_t, int64_t>> CityPipeline::StoredOffsets(std::string_view source) {
  std::map<int32_t, int64_t> out;
  std::string prefix(1, state_keys::kOffset);
  prefix.append(source);
  prefix.push_back('\0');
  bool corrupt = false;
  EPI_RETURN_IF_ERROR(store_->Scan(prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    ByteReader kr(k.substr(prefix.size()));
    ByteReader vr(v);
    const auto partition = static_cast<int32_t>(kr.BigEndian32());
    const auto next = static_cast<int64_t>(vr.BigEndian64());
    if (!kr.ok() || !vr.ok()) {
      corrupt = true;
      return false;
    }
    out[partition] = next;
    return true;
  }));
  if (corrupt) return Status::Corruption("stored offsets undecodable");
  return out;
}

Result<std::string> CityPipeline::StoredSinkPosition(KvStore* store, std::string_view name) {
  std::string value;
  bool found = false;
  EPI_RETURN_IF_ERROR(store->Get(state_keys::Meta(std::string("sink:") + std::string(name)),
                                  &value, &found));
  return value;
}

}  // namespace epistream
