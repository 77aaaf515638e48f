#include "engine/pipeline_probe.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <utility>

#include "engine/event_time.h"

namespace epistream {
namespace {

constexpr std::string_view kOther = "other";

prometheus::Family<prometheus::Counter>& CounterFamily(MetricsRegistry& m,
                                                       const char* name,
                                                       const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(
      m.registry());
}

prometheus::Family<prometheus::Gauge>& GaugeFamily(MetricsRegistry& m,
                                                   const char* name,
                                                   const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(m.registry());
}

prometheus::Counter* Counter(MetricsRegistry& m, const char* name,
                             const char* help) {
  return &CounterFamily(m, name, help).Add({});
}

prometheus::Gauge* Gauge(MetricsRegistry& m, const char* name,
                         const char* help) {
  return &GaugeFamily(m, name, help).Add({});
}

prometheus::Histogram* Histogram(
    MetricsRegistry& m, const char* name, const char* help,
    prometheus::Histogram::BucketBoundaries buckets) {
  return &prometheus::BuildHistogram()
              .Name(name)
              .Help(help)
              .Register(m.registry())
              .Add({}, std::move(buckets));
}

// Latency buckets from 0.1 ms to 10 s, 1-2.5-5 per decade.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
}

// Checkpoints: 1 ms to 60 s.
prometheus::Histogram::BucketBoundaries CheckpointBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,   1.0,    2.5,   5.0,  10.0,  30.0, 60.0};
}

}  // namespace

PipelineProbe::PipelineProbe(MetricsRegistry& m,
                             std::vector<std::string> event_types)
    : events_family_(CounterFamily(m, "epistream_events_total",
                                   "Input events parsed, by type")),
      deadletters_family_(
          CounterFamily(m, "epistream_deadletters_total",
                        "Messages sent to the dead-letter topic, by reason")),
      alerts_family_(CounterFamily(m, "epistream_alerts_total",
                                   "Alerts emitted, by rule and severity")),
      lag_family_(GaugeFamily(
          m, "epistream_consumer_lag",
          "Messages between the consumer position and the partition end")),
      input_bytes_(Counter(m, "epistream_input_bytes_total",
                           "Input message bytes read")),
      duplicates_(
          Counter(m, "epistream_duplicates_total",
                  "Repeated (type, event_id) within the retention, ignored")),
      late_(Counter(m, "epistream_late_events_total",
                    "Events older than watermark minus allowed lateness")),
      checkpoint_failures_(Counter(m, "epistream_checkpoint_failures_total",
                                   "Checkpoints that failed")),
      watermark_(Gauge(m, "epistream_watermark_seconds",
                       "Event-time watermark, seconds since the Unix epoch")),
      checkpoint_bytes_(Gauge(m, "epistream_checkpoint_bytes",
                              "Bytes written by the last checkpoint")),
      state_entries_(
          Gauge(m, "epistream_state_cached_persons",
                "Person states cached in memory in front of RocksDB")),
      event_to_alert_(Histogram(
          m, "epistream_event_to_alert_seconds",
          "Wall-clock seconds from reading an event to emitting its alert",
          LatencyBuckets())),
      processing_(Histogram(m, "epistream_batch_processing_seconds",
                            "Wall-clock seconds to process one input batch",
                            LatencyBuckets())),
      checkpoint_duration_(Histogram(m, "epistream_checkpoint_duration_seconds",
                                     "Wall-clock seconds per checkpoint",
                                     CheckpointBuckets())) {
  events_.reserve(event_types.size());
  for (const std::string& type : event_types) {
    events_.push_back(&events_family_.Add({{"type", type}}));
  }
  struct StateGaugeSpec {
    const char* property;
    const char* name;
    const char* help;
  };
  static constexpr StateGaugeSpec kStateGauges[] = {
      {"rocksdb.total-sst-files-size", "epistream_rocksdb_sst_bytes",
       "Total size of the SST files"},
      {"rocksdb.cur-size-all-mem-tables", "epistream_rocksdb_memtable_bytes",
       "Size of all memtables"},
      {"rocksdb.block-cache-usage", "epistream_rocksdb_block_cache_bytes",
       "Bytes used by the block cache"},
      {"rocksdb.estimate-pending-compaction-bytes",
       "epistream_rocksdb_pending_compaction_bytes",
       "Estimated bytes compaction needs to rewrite"},
      {"rocksdb.estimate-num-keys", "epistream_rocksdb_estimate_keys",
       "Estimated number of keys"},
      {"rocksdb.is-write-stopped", "epistream_rocksdb_write_stopped",
       "1 while RocksDB stops writes (stall)"},
  };
  for (const StateGaugeSpec& g : kStateGauges) {
    state_gauges_.push_back(StateGauge{g.property, Gauge(m, g.name, g.help)});
  }
}

void PipelineProbe::event_in(int type_index) {
  if (type_index >= 0 && static_cast<size_t>(type_index) < events_.size()) {
    events_[static_cast<size_t>(type_index)]->Increment();
    return;
  }
  if (events_other_ == nullptr)
    events_other_ = &events_family_.Add({{"type", std::string(kOther)}});
  events_other_->Increment();
}

void PipelineProbe::bytes_in(size_t bytes) {
  input_bytes_->Increment(static_cast<double>(bytes));
}

void PipelineProbe::deadletter(std::string_view reason) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (const CachedCounter& c : deadletters_) {
      if (c.label == reason) {
        c.counter->Increment();
        return;
      }
    }
    // Beyond the cap every new value is counted as "other" (cached too).
    if (deadletters_.size() < kMaxLabelValues || reason == kOther) break;
    reason = kOther;
  }
  prometheus::Counter* counter =
      &deadletters_family_.Add({{"reason", std::string(reason)}});
  deadletters_.push_back(CachedCounter{std::string(reason), counter});
  counter->Increment();
}

void PipelineProbe::duplicate() { duplicates_->Increment(); }

void PipelineProbe::late() { late_->Increment(); }

void PipelineProbe::alert_emitted(std::string_view rule,
                                  std::string_view severity) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (const CachedAlert& a : alerts_) {
      if (a.rule == rule && a.severity == severity) {
        a.counter->Increment();
        return;
      }
    }
    if (alerts_.size() < kMaxLabelValues ||
        (rule == kOther && severity == kOther))
      break;
    rule = kOther;
    severity = kOther;
  }
  prometheus::Counter* counter = &alerts_family_.Add(
      {{"rule", std::string(rule)}, {"severity", std::string(severity)}});
  alerts_.push_back(
      CachedAlert{std::string(rule), std::string(severity), counter});
  counter->Increment();
}

void PipelineProbe::set_watermark(int64_t watermark_ms) {
  if (watermark_ms <= kMinTimestamp) return;
  watermark_->Set(static_cast<double>(watermark_ms) / 1000.0);
}

void PipelineProbe::observe_event_to_alert(double seconds) {
  event_to_alert_->Observe(seconds);
}

void PipelineProbe::observe_processing(double seconds) {
  processing_->Observe(seconds);
}

void PipelineProbe::observe_checkpoint(double seconds, uint64_t bytes) {
  checkpoint_duration_->Observe(seconds);
  checkpoint_bytes_->Set(static_cast<double>(bytes));
}

void PipelineProbe::checkpoint_failed() { checkpoint_failures_->Increment(); }

void PipelineProbe::EnableScaleOut(MetricsRegistry& m) {
  if (restores_ != nullptr) return;
  restore_records_ = Counter(m, "epistream_restore_records_total",
                               "State records restored from the changelog");
  restore_bytes_ = Counter(m, "epistream_restore_bytes_total",
                             "State bytes (keys + values) restored from the changelog");
  restores_ = Counter(m, "epistream_restores_total",
                        "Partitions taken over with a changelog restore");
  restores_current_ = Counter(m, "epistream_restores_local_current_total",
                                "Partitions taken over whose local copy was current");
  changelog_records_ = Counter(m, "epistream_changelog_records_total",
                                 "Records (state writes and markers) written to the changelog");
  changelog_bytes_ = Counter(m, "epistream_changelog_bytes_total",
                               "State bytes (keys + values) written to the changelog");
  restore_duration_ = Histogram(m, "epistream_restore_duration_seconds",
                                  "Wall-clock seconds to restore one partition",
                                 {0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0});
}

void PipelineProbe::observe_restore(uint64_t records, uint64_t bytes, double seconds,
                                    bool current) {
  if (restores_ == nullptr) return;
  if (current) {
    restores_current_->Increment();
    return;
  }
  restores_->Increment();
  restore_records_->Increment(static_cast<double>(records));
  restore_bytes_->Increment(static_cast<double>(bytes));
  restore_duration_->Observe(seconds);
}

void PipelineProbe::changelog_written(uint64_t records, uint64_t bytes) {
  if (changelog_records_ == nullptr) return;
  changelog_records_->Increment(static_cast<double>(records));
  changelog_bytes_->Increment(static_cast<double>(bytes));
}

void PipelineProbe::set_consumer_lag(std::string_view topic, int partition,
                                     int64_t lag) {
  const double value = static_cast<double>(lag);
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (const CachedLag& l : lags_) {
      if (l.partition == partition && l.topic == topic) {
        l.gauge->Set(value);
        return;
      }
    }
    if (lags_.size() < kMaxLabelValues || (topic == kOther && partition == -1))
      break;
    topic = kOther;
    partition = -1;
  }
  prometheus::Gauge* gauge =
      &lag_family_.Add({{"topic", std::string(topic)},
                        {"partition", std::to_string(partition)}});
  lags_.push_back(CachedLag{std::string(topic), partition, gauge});
  gauge->Set(value);
}

void PipelineProbe::set_state_stats(
    const std::map<std::string, uint64_t>& properties) {
  for (const StateGauge& g : state_gauges_) {
    auto it = properties.find(g.property);
    if (it != properties.end()) g.gauge->Set(static_cast<double>(it->second));
  }
}

void PipelineProbe::set_state_entries(uint64_t entries) {
  state_entries_->Set(static_cast<double>(entries));
}

}  // namespace epistream
