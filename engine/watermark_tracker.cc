#include "engine/watermark_tracker.h"

#include <algorithm>

#include "engine/byte_codec.h"

namespace epistream {
namespace {
constexpr int64_t kRestoredOnly = INT64_MIN;
}

void WatermarkTracker::Assign(int32_t partition, int64_t wall_ms) {
  // Assigned now: it holds the watermark back (from its checkpointed max ts,
  // if any) until it has been idle for idle_timeout from this moment.
  partitions_[partition].last_event_wall_ms = wall_ms;
}

void WatermarkTracker::Revoke(int32_t partition) { partitions_.erase(partition); }

void WatermarkTracker::Observe(int32_t partition, TimestampMs ts, int64_t wall_ms) {
  PartitionProgress& p = partitions_[partition];
  p.max_ts = std::max(p.max_ts, ts);
  p.last_event_wall_ms = wall_ms;
}

void WatermarkTracker::MarkCaughtUp(int32_t partition, int64_t wall_ms) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;  // not assigned: nothing to hold
  confirming_ = true;
  it->second.caught_up_wall_ms = std::max(it->second.caught_up_wall_ms, wall_ms);
}

bool WatermarkTracker::Idle(const PartitionProgress& p, int64_t wall_ms) const {
  if (wall_ms - p.last_event_wall_ms <= cfg_.idle_timeout) return false;
  // Quiet; with confirmations, also known to have nothing to read (not
  // merely unreachable or stuck).
  return !confirming_ || (p.caught_up_wall_ms != INT64_MIN &&
                          wall_ms - p.caught_up_wall_ms <= kCaughtUpFreshMs);
}

TimestampMs WatermarkTracker::Update(int64_t wall_ms) {
  TimestampMs low = INT64_MAX;
  bool any = false;
  for (const auto& [part, p] : partitions_) {
    if (p.last_event_wall_ms == kRestoredOnly) continue;
    if (Idle(p, wall_ms)) continue;
    any = true;
    low = std::min(low, p.max_ts == kMinTimestamp ? kMinTimestamp : p.max_ts - cfg_.out_of_orderness);
  }
  if (!any) {
    // Every partition idle: the watermark follows the most advanced one, so
    // timers of a quiet city still fire once the data stops.
    low = kMinTimestamp;
    for (const auto& [part, p] : partitions_) {
      if (p.last_event_wall_ms == kRestoredOnly) continue;
      if (p.max_ts != kMinTimestamp) low = std::max(low, p.max_ts - cfg_.out_of_orderness);
    }
  }
  watermark_ = std::max({watermark_, low, floor_});
  return watermark_;
}

void WatermarkTracker::AdvanceTo(TimestampMs ts) {
  floor_ = std::max(floor_, ts);
  watermark_ = std::max(watermark_, floor_);
}

TimestampMs WatermarkTracker::max_seen() const {
  TimestampMs m = kMinTimestamp;
  for (const auto& [part, p] : partitions_) m = std::max(m, p.max_ts);
  return m;
}

TimestampMs WatermarkTracker::max_ts(int32_t partition) const {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? kMinTimestamp : it->second.max_ts;
}

void WatermarkTracker::Seed(int32_t partition, TimestampMs ts) {
  auto [it, inserted] = partitions_.try_emplace(partition);
  if (inserted) it->second.last_event_wall_ms = kRestoredOnly;
  it->second.max_ts = std::max(it->second.max_ts, ts);
}

std::string WatermarkTracker::Encode() const {
  std::string out;
  ByteWriter w(&out);
  w.U8(1);  // version
  w.SignedVarint(floor_);
  w.SignedVarint(watermark_);
  w.Varint(partitions_.size());
  for (const auto& [part, p] : partitions_) {
    w.SignedVarint(part);
    w.SignedVarint(p.max_ts);
  }
  return out;
}

Status WatermarkTracker::Decode(std::string_view bytes) {
  ByteReader r(bytes);
  if (r.U8() != 1) return Status::Corruption("watermark: unknown version");
  // Times outside [kMinTimestamp, -kMinTimestamp] are corruption: the
  // tracker subtracts the lateness and out-of-orderness from them (found by
  // fuzzing). Nothing is changed unless the whole record is valid.
  auto in_range = [](TimestampMs t) { return t >= kMinTimestamp && t <= -kMinTimestamp; };
  const TimestampMs floor = r.SignedVarint();
  const TimestampMs watermark = r.SignedVarint();
  bool bad_time = !in_range(floor) || !in_range(watermark);
  std::map<int32_t, TimestampMs> max_ts;
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const int64_t part = r.SignedVarint();
    const TimestampMs ts = r.SignedVarint();
    if (part < INT32_MIN || part > INT32_MAX || !in_range(ts)) bad_time = true;
    TimestampMs& m = max_ts.try_emplace(static_cast<int32_t>(part), kMinTimestamp).first->second;
    m = std::max(m, ts);
  }
  if (!r.ok() || !r.done()) return Status::Corruption("watermark: truncated record");
  if (bad_time) return Status::Corruption("watermark: time or partition out of range");
  floor_ = floor;
  watermark_ = watermark;
  for (const auto& [part, ts] : max_ts) {
    auto [it, inserted] = partitions_.try_emplace(part);
    if (inserted) it->second.last_event_wall_ms = kRestoredOnly;
    it->second.max_ts = std::max(it->second.max_ts, ts);
  }
  return Status::Ok();
}

}  // namespace epistream
