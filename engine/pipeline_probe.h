// Metrics of the stream pipeline, behind named methods (CONTRACT.md section 8).
//
// Callers say what happened (event_in, deadletter, alert_emitted...); the
// probe owns metric names, labels and buckets, so prometheus-cpp stays out of
// operator code. Label values are resolved to metric handles once and cached:
// a prometheus Family::Add costs about 120 ns, a counter increment about
// 5 ns, so the hot path is an index (event_in) or a short scan of a small
// flat cache (deadletter, alert_emitted, set_consumer_lag).
//
// Labels never carry person ids. Label values come from bounded sets (event
// types, reason codes, rule names, severities, topics, partitions); as a
// guard against a caller passing unbounded values, each cache holds at most
// kMaxLabelValues distinct values and maps further ones to "other".
//
// Threading: a PipelineProbe is used by one thread at a time (its caches are
// not synchronised). Several threads use one probe each on the same
// MetricsRegistry: families and label sets are shared, so their counts add
// up. Scrapes from the HTTP threads are always safe.
// Lifecycle: construct after the MetricsRegistry, destroy before it.
// Construction registers the metric families (it throws only on a
// programming error: the same name registered with another type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/metrics_registry.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace epistream {

class PipelineProbe {
 public:
  static constexpr size_t kMaxLabelValues = 256;

  // `event_types` names the type label of event_in(i), e.g. {"scan",
  // "transport", "fever", "risk_area", "person"}; their series start at 0.
  PipelineProbe(MetricsRegistry& metrics, std::vector<std::string> event_types);
  PipelineProbe(const PipelineProbe&) = delete;
  PipelineProbe& operator=(const PipelineProbe&) = delete;

  // A parsed input event of event_types[type_index] ->
  // epistream_events_total{type}. An index outside event_types counts as type
  // "other".
  void event_in(int type_index);
  // Input message bytes read -> epistream_input_bytes_total.
  void bytes_in(size_t bytes);
  // A message sent to the dead-letter topic ->
  // epistream_deadletters_total{reason}.
  void deadletter(std::string_view reason);
  // A repeated (type, event_id), ignored -> epistream_duplicates_total.
  void duplicate();
  // An event older than watermark - allowed lateness ->
  // epistream_late_events_total.
  void late();
  // An alert produced -> epistream_alerts_total{rule,severity}.
  void alert_emitted(std::string_view rule, std::string_view severity);
  // Current event-time watermark (epoch ms) -> epistream_watermark_seconds.
  // Ignored before the first event (watermark at kMinTimestamp).
  void set_watermark(int64_t watermark_ms);
  // Wall-clock seconds from reading the triggering event to emitting its
  // alert -> epistream_event_to_alert_seconds (buckets 0.1 ms .. 10 s).
  void observe_event_to_alert(double seconds);
  // Wall-clock seconds to process one input batch ->
  // epistream_batch_processing_seconds.
  void observe_processing(double seconds);
  // A completed checkpoint -> epistream_checkpoint_duration_seconds and
  // epistream_checkpoint_bytes (bytes written by it).
  void observe_checkpoint(double seconds, uint64_t bytes);
  // A failed checkpoint -> epistream_checkpoint_failures_total.
  void checkpoint_failed();
  // Registers the scale-out metrics (restore, changelog); until then the
  // two calls below do nothing, and single-instance /metrics stays as is.
  void EnableScaleOut(MetricsRegistry& m);
  // A state partition restored from its changelog (scale-out): records and
  // bytes applied, seconds taken; `current` when the local copy needed none.
  void observe_restore(uint64_t records, uint64_t bytes, double seconds, bool current);
  // Records and bytes written to the changelog by a checkpoint.
  void changelog_written(uint64_t records, uint64_t bytes);
  // Messages behind the partition's end ->
  // epistream_consumer_lag{topic,partition}.
  void set_consumer_lag(std::string_view topic, int partition, int64_t lag);
  // RocksDB integer properties by name (as from DB::GetIntProperty):
  // rocksdb.total-sst-files-size, rocksdb.cur-size-all-mem-tables,
  // rocksdb.block-cache-usage, rocksdb.estimate-pending-compaction-bytes,
  // rocksdb.estimate-num-keys, rocksdb.is-write-stopped -> gauges
  // epistream_rocksdb_{sst_bytes, memtable_bytes, block_cache_bytes,
  // pending_compaction_bytes, estimate_keys, write_stopped}. Other names are
  // ignored; absent ones keep their last value.
  void set_state_stats(const std::map<std::string, uint64_t>& properties);
  // Person states cached in memory -> epistream_state_cached_persons.
  void set_state_entries(uint64_t entries);

 private:
  struct CachedCounter {
    std::string label;
    prometheus::Counter* counter;
  };
  struct CachedAlert {
    std::string rule;
    std::string severity;
    prometheus::Counter* counter;
  };
  struct CachedLag {
    std::string topic;
    int partition;
    prometheus::Gauge* gauge;
  };
  struct StateGauge {
    const char* property;
    prometheus::Gauge* gauge;
  };

  prometheus::Family<prometheus::Counter>& events_family_;
  prometheus::Family<prometheus::Counter>& deadletters_family_;
  prometheus::Family<prometheus::Counter>& alerts_family_;
  prometheus::Family<prometheus::Gauge>& lag_family_;

  std::vector<prometheus::Counter*> events_;     // by type index
  prometheus::Counter* events_other_ = nullptr;  // created on first use
  std::vector<CachedCounter> deadletters_;
  std::vector<CachedAlert> alerts_;
  std::vector<CachedLag> lags_;

  prometheus::Counter* input_bytes_;
  prometheus::Counter* duplicates_;
  prometheus::Counter* late_;
  prometheus::Counter* checkpoint_failures_;
  prometheus::Counter* restore_records_ = nullptr;  // scale-out only
  prometheus::Counter* restore_bytes_ = nullptr;
  prometheus::Counter* restores_ = nullptr;
  prometheus::Counter* restores_current_ = nullptr;
  prometheus::Counter* changelog_records_ = nullptr;
  prometheus::Counter* changelog_bytes_ = nullptr;
  prometheus::Histogram* restore_duration_ = nullptr;
  prometheus::Gauge* watermark_;
  prometheus::Gauge* checkpoint_bytes_;
  prometheus::Gauge* state_entries_;
  prometheus::Histogram* event_to_alert_;
  prometheus::Histogram* processing_;
  prometheus::Histogram* checkpoint_duration_;
  std::vector<StateGauge> state_gauges_;
};

}  // namespace epistream
