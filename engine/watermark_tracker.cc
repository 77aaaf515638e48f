#include "engine/watermark_tracker.h"

#include <algorithm>

#include "engine/byte_codec.h"

namespace epistream {
namespace {
constexpr int64_t kRestoredOnly = INT64_MIN;

// a + b + 1, saturating at INT64_MAX (never reached: no check then).
int64_t After(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum) || sum == INT64_MAX) return INT64_MAX;
  return sum + 1;
}

}  // namespace

void WatermarkTracker::MarkDirty(int32_t partition, PartitionProgress* p) {
  if (p->dirty) return;
  p->dirty = true;
  dirty_.push_back(partition);
}

void WatermarkTracker::MarkAllDirty() {
  for (auto& [part, p] : partitions_) MarkDirty(part, &p);
}

void WatermarkTracker::Unlist(int32_t partition, PartitionProgress* p) {
  if (!p->live) return;
  live_.erase({p->live_key, partition});
  p->live = false;
}

void WatermarkTracker::Evaluate(int32_t partition, PartitionProgress* p, int64_t wall_ms) {
  p->dirty = false;
  if (p->last_event_wall_ms == kRestoredOnly) {
    Unlist(partition, p);
    return;
  }
  const bool live = !Idle(*p, wall_ms);
  const TimestampMs key = Key(*p);
  if (p->live && (!live || p->live_key != key)) Unlist(partition, p);
  if (live && !p->live) {
    live_.emplace(key, partition);
    p->live = true;
    p->live_key = key;
  }
  // The next wall time after wall_ms where Idle() can change with nothing
  // else changing: quiet from last event + idle_timeout + 1; a fresh
  // confirmation goes stale at caught-up + kCaughtUpFreshMs + 1.
  int64_t next = kNoCheck;
  const int64_t quiet_at = After(p->last_event_wall_ms, cfg_.idle_timeout);
  if (quiet_at > wall_ms) next = quiet_at;
  if (confirming_ && p->caught_up_wall_ms != INT64_MIN) {
    const int64_t stale_at = After(p->caught_up_wall_ms, kCaughtUpFreshMs);
    if (stale_at > wall_ms) next = std::min(next, stale_at);
  }
  // An earlier pending check stays: it re-evaluates early, which is harmless.
  if (next != kNoCheck && next < p->check_at) {
    p->check_at = next;
    checks_.emplace(next, partition);
  }
}

void WatermarkTracker::Assign(int32_t partition, int64_t wall_ms) {
  // Assigned now: it holds the watermark back (from its checkpointed max ts,
  // if any) until it has been idle for idle_timeout from this moment.
  PartitionProgress& p = partitions_[partition];
  p.last_event_wall_ms = wall_ms;
  MarkDirty(partition, &p);
}

void WatermarkTracker::Revoke(int32_t partition) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  Unlist(partition, &it->second);
  // Its dirty_ and checks_ entries are skipped once it is gone (or, if it
  // comes back, merely re-evaluate it).
  partitions_.erase(it);
}

void WatermarkTracker::Observe(int32_t partition, TimestampMs ts, int64_t wall_ms) {
  PartitionProgress& p = partitions_[partition];
  p.max_ts = std::max(p.max_ts, ts);
  p.last_event_wall_ms = wall_ms;
  MarkDirty(partition, &p);
}

void WatermarkTracker::MarkCaughtUp(int32_t partition, int64_t wall_ms) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;  // not assigned: nothing to hold
  if (!confirming_) {
    confirming_ = true;  // idleness now needs confirmations: everyone again
    MarkAllDirty();
  }
  it->second.caught_up_wall_ms = std::max(it->second.caught_up_wall_ms, wall_ms);
  MarkDirty(partition, &it->second);
}

bool WatermarkTracker::Idle(const PartitionProgress& p, int64_t wall_ms) const {
  if (wall_ms - p.last_event_wall_ms <= cfg_.idle_timeout) return false;
  // Quiet; with confirmations, also known to have nothing to read (not
  // merely unreachable or stuck).
  return !confirming_ || (p.caught_up_wall_ms != INT64_MIN &&
                          wall_ms - p.caught_up_wall_ms <= kCaughtUpFreshMs);
}

TimestampMs WatermarkTracker::Update(int64_t wall_ms) {
  if (wall_ms < last_update_wall_ms_) {
    // The wall clock went back: the pending checks assumed it would not.
    checks_ = decltype(checks_)();
    for (auto& [part, p] : partitions_) p.check_at = kNoCheck;
    MarkAllDirty();
  }
  last_update_wall_ms_ = wall_ms;
  while (!checks_.empty() && checks_.top().first <= wall_ms) {
    const auto [at, part] = checks_.top();
    checks_.pop();
    auto it = partitions_.find(part);
    if (it == partitions_.end() || it->second.check_at != at) continue;  // stale
    it->second.check_at = kNoCheck;
    MarkDirty(part, &it->second);
  }
  for (const int32_t part : dirty_) {
    auto it = partitions_.find(part);
    if (it != partitions_.end() && it->second.dirty) Evaluate(part, &it->second, wall_ms);
  }
  dirty_.clear();
  TimestampMs low = kMinTimestamp;
  if (!live_.empty()) {
    low = live_.begin()->first;
  } else {
    // Every partition idle: the watermark follows the most advanced one, so
    // timers of a quiet city still fire once the data stops.
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
  MarkDirty(partition, &it->second);
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
    MarkDirty(part, &it->second);
  }
  return Status::Ok();
}

}  // namespace epistream
