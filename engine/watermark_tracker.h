// WatermarkTracker: event-time progress over the input partitions of a stage.
//
// Watermark = min over assigned, non-idle partitions of (max ts seen -
// out_of_orderness), never moving backwards. A partition that has delivered
// nothing for idle_timeout of wall clock stops holding the watermark back (a
// known Flink pitfall: one quiet partition freezes every timer). An event is
// too late when ts < watermark - allowed_lateness (strictly older).
//
// At the end of a bounded input, AdvanceTo(max ts) lets timers due by then fire.
// State (per-partition max ts and the floor) is encoded into checkpoints so a
// restarted run has the same watermark it had.
//
// Threading: owned by one stage thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/engine_config.h"
#include "engine/event_time.h"
#include "engine/status.h"

namespace epistream {

class WatermarkTracker {
 public:
  explicit WatermarkTracker(const WatermarkConfig& cfg) : cfg_(cfg) {}

  void Assign(int32_t partition, int64_t wall_ms);
  void Revoke(int32_t partition);

  // Records an event time seen on `partition` (at wall clock `wall_ms`).
  void Observe(int32_t partition, TimestampMs ts, int64_t wall_ms);

  // Recomputes the watermark (idle partitions excluded) and returns it.
  TimestampMs Update(int64_t wall_ms);
  TimestampMs current() const { return watermark_; }

  // Raises the watermark floor (end of a bounded input).
  void AdvanceTo(TimestampMs ts);
  // Largest event time seen on any partition (kMinTimestamp if none).
  TimestampMs max_seen() const;
  // Largest event time seen on one partition (kMinTimestamp if none).
  TimestampMs max_ts(int32_t partition) const;
  // Raises a partition's largest event time to `ts` (its progress at a
  // checkpoint taken elsewhere), without touching its idle clock.
  void Seed(int32_t partition, TimestampMs ts);

  bool IsTooLate(TimestampMs ts) const {
    return watermark_ != kMinTimestamp && ts < watermark_ - cfg_.allowed_lateness;
  }

  std::string Encode() const;
  Status Decode(std::string_view bytes);

 private:
  struct PartitionProgress {
    TimestampMs max_ts = kMinTimestamp;
    int64_t last_event_wall_ms = 0;
  };
  WatermarkConfig cfg_;
  std::map<int32_t, PartitionProgress> partitions_;
  TimestampMs floor_ = kMinTimestamp;
  TimestampMs watermark_ = kMinTimestamp;
};

}  // namespace epistream
