// WatermarkTracker: event-time progress over the input partitions of a stage.
//
// Watermark = min over assigned, non-idle partitions of (max ts seen -
// out_of_orderness), never moving backwards. A partition that has delivered
// nothing for idle_timeout of wall clock stops holding the watermark back (a
// known Flink pitfall: one quiet partition freezes every timer). An event is
// too late when ts < watermark - allowed_lateness (strictly older).
//
// Quiet is not the same as having nothing to read: during an input broker
// outage (or back-to-back outages) every partition goes quiet for over
// idle_timeout while holding unread events, and "all idle" would move the
// watermark to the most advanced partition, past them (issue #7: measured
// 78 events too_late, 36 of 58 alerts lost). So once the owner reports
// caught-up confirmations (MarkCaughtUp: KafkaConsumer's kCaughtUp, a fresh
// ListOffsets answer with the position at the high watermark), a quiet
// partition is idle only if it was confirmed at its end within the last
// kCaughtUpFreshMs of wall clock; unconfirmed (unreachable, or behind) it
// keeps holding the watermark. Without any confirmation (file mode, or an
// owner that does not report them) idleness is wall clock only, as before.
//
// Cost: Update() runs after every event, so it does not walk the partitions
// (640 of them in the full e2e bench: 4-5% of Kafka-mode CPU when it did).
// Non-idle partitions sit in a set ordered by (max ts - out-of-orderness):
// the watermark is its first entry. A partition's idleness is re-evaluated
// when it changes (Observe, Assign, MarkCaughtUp, Seed, Decode) and at the
// wall times where it can flip by itself (quiet after idle_timeout, its
// confirmation going stale), kept in a min-heap: O(log n) per event,
// amortized. Wall clock going backwards between two Update() calls
// re-evaluates every partition, and so does the first confirmation; when
// every partition is idle the most advanced one is found by a walk (a quiet
// city: no events, so no per-event cost). Results are those of the plain
// walk over all partitions (tests/engine/watermark_tracker_test.cc
// compares them on random operation sequences).
//
// At the end of a bounded input, AdvanceTo(max ts) lets timers due by then fire.
// State (per-partition max ts and the floor) is encoded into checkpoints so a
// restarted run has the same watermark it had.
//
// Threading: owned by one stage thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

  // `partition` had nothing left to read at wall clock wall_ms (see above).
  // The first call makes idleness require such confirmations.
  void MarkCaughtUp(int32_t partition, int64_t wall_ms);
  // How recent a confirmation must be for a quiet partition to be idle:
  // a few caught-up probes (KafkaEngine asks every second when quiet).
  static constexpr int64_t kCaughtUpFreshMs = 5000;

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
  static constexpr int64_t kNoCheck = INT64_MAX;
  struct PartitionProgress {
    TimestampMs max_ts = kMinTimestamp;
    int64_t last_event_wall_ms = 0;
    int64_t caught_up_wall_ms = INT64_MIN;  // last MarkCaughtUp
    // Index bookkeeping (see "Cost" above).
    bool live = false;              // in live_, under live_key
    bool dirty = false;             // in dirty_
    TimestampMs live_key = 0;       // its key in live_ while live
    int64_t check_at = kNoCheck;    // wall time of its valid heap entry
  };
  bool Idle(const PartitionProgress& p, int64_t wall_ms) const;
  TimestampMs Key(const PartitionProgress& p) const {
    return p.max_ts == kMinTimestamp ? kMinTimestamp : p.max_ts - cfg_.out_of_orderness;
  }
  void MarkDirty(int32_t partition, PartitionProgress* p);
  // Brings p's place in live_ and its next heap check up to date at wall_ms.
  void Evaluate(int32_t partition, PartitionProgress* p, int64_t wall_ms);
  void Unlist(int32_t partition, PartitionProgress* p);
  void MarkAllDirty();

  WatermarkConfig cfg_;
  std::map<int32_t, PartitionProgress> partitions_;
  TimestampMs floor_ = kMinTimestamp;
  TimestampMs watermark_ = kMinTimestamp;
  bool confirming_ = false;  // MarkCaughtUp was called
  // Assigned partitions that were not idle at their last evaluation, by
  // (Key, partition).
  std::set<std::pair<TimestampMs, int32_t>> live_;
  // Partitions changed since the last Update().
  std::vector<int32_t> dirty_;
  // (wall time, partition): when a partition's idleness may flip by itself.
  // An entry is valid while it equals the partition's check_at.
  std::priority_queue<std::pair<int64_t, int32_t>, std::vector<std::pair<int64_t, int32_t>>,
                      std::greater<>>
      checks_;
  int64_t last_update_wall_ms_ = INT64_MIN;
};

}  // namespace epistream
