#include "engine/watermark_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

class WatermarkTrackerTest : public ::testing::Test {
 protected:
  WatermarkConfig cfg_;  // 5 min out-of-orderness, 1 h lateness, 30 s idle
};

TEST_F(WatermarkTrackerTest, IsMaxSeenMinusOutOfOrderness) {
  WatermarkTracker wm(cfg_);
  wm.Assign(0, 0);
  EXPECT_EQ(wm.Update(0), kMinTimestamp);
  wm.Observe(0, 10 * kHourMs, 0);
  EXPECT_EQ(wm.Update(0), 10 * kHourMs - 5 * kMinuteMs);
  wm.Observe(0, 9 * kHourMs, 0);  // out of order: never moves back
  EXPECT_EQ(wm.Update(0), 10 * kHourMs - 5 * kMinuteMs);
}

TEST_F(WatermarkTrackerTest, LowestPartitionHoldsItBack) {
  WatermarkTracker wm(cfg_);
  wm.Assign(0, 0);
  wm.Assign(1, 0);
  wm.Observe(0, 10 * kHourMs, 0);
  EXPECT_EQ(wm.Update(0), kMinTimestamp);  // partition 1 has said nothing yet
  wm.Observe(1, 8 * kHourMs, 0);
  EXPECT_EQ(wm.Update(0), 8 * kHourMs - 5 * kMinuteMs);
}

TEST_F(WatermarkTrackerTest, IdlePartitionStopsHoldingItBack) {
  WatermarkTracker wm(cfg_);
  wm.Assign(0, 0);
  wm.Assign(1, 0);
  wm.Observe(0, 10 * kHourMs, 0);
  wm.Observe(1, 8 * kHourMs, 0);
  wm.Observe(0, 11 * kHourMs, 31 * kSecondMs);
  // Partition 1 quiet for 31 s of wall clock: idle.
  EXPECT_EQ(wm.Update(31 * kSecondMs), 11 * kHourMs - 5 * kMinuteMs);
}

// Issue #7: an input outage (then an output outage blocking the loop) left
// every partition quiet for over idle_timeout with events unread; "all idle"
// moved the watermark to the most advanced partition, past them. With
// caught-up confirmations, quiet and unconfirmed (unreachable) is not idle.
TEST_F(WatermarkTrackerTest, QuietPartitionsWithoutFreshCaughtUpHoldTheWatermark) {
  WatermarkTracker wm(cfg_);
  wm.Assign(0, 0);
  wm.Assign(1, 0);
  wm.Observe(0, 10 * kHourMs, 0);
  wm.Observe(1, 8 * kHourMs, 0);
  wm.MarkCaughtUp(0, 0);
  wm.MarkCaughtUp(1, 0);
  const TimestampMs held = 8 * kHourMs - 5 * kMinuteMs;
  ASSERT_EQ(wm.Update(0), held);
  // The broker goes away: no event, no confirmation for 40 s.
  EXPECT_EQ(wm.Update(40 * kSecondMs), held) << "quiet but unreachable partitions counted as idle";
  // Back: partition 0 is confirmed at its end, partition 1 is still behind
  // (no confirmation): 1 holds the watermark, 0 does not.
  wm.MarkCaughtUp(0, 41 * kSecondMs);
  EXPECT_EQ(wm.Update(41 * kSecondMs), held);
  wm.Observe(1, 9 * kHourMs, 42 * kSecondMs);
  EXPECT_EQ(wm.Update(42 * kSecondMs), 9 * kHourMs - 5 * kMinuteMs);
  // Both at their ends and quiet: idle again, timers of a quiet city fire.
  wm.MarkCaughtUp(0, 80 * kSecondMs);
  wm.MarkCaughtUp(1, 80 * kSecondMs);
  EXPECT_EQ(wm.Update(80 * kSecondMs), 10 * kHourMs - 5 * kMinuteMs);
  // A stale confirmation (older than kCaughtUpFreshMs) no longer counts.
  WatermarkTracker stale(cfg_);
  stale.Assign(0, 0);
  stale.Assign(1, 0);
  stale.Observe(0, 10 * kHourMs, 0);
  stale.Observe(1, 8 * kHourMs, 0);
  stale.MarkCaughtUp(1, 40 * kSecondMs - WatermarkTracker::kCaughtUpFreshMs - 1);
  stale.MarkCaughtUp(0, 40 * kSecondMs);
  EXPECT_EQ(stale.Update(40 * kSecondMs), held);
}

// A restart decodes every partition's max ts, but a partition counts only
// once it is assigned again: before the group hands it back it must neither
// hold the watermark nor, as "idle", let the most advanced one move it
// (found by the crash loop: 45 of 511 alerts lost, 15k events too_late).
TEST_F(WatermarkTrackerTest, RestoredPartitionsWaitForTheirAssignment) {
  WatermarkTracker before(cfg_);
  before.Assign(0, 0);
  before.Assign(1, 0);
  before.Observe(0, 10 * kHourMs, 0);
  before.Observe(1, 30 * kHourMs, 0);
  ASSERT_EQ(before.Update(0), 10 * kHourMs - 5 * kMinuteMs);

  WatermarkTracker wm(cfg_);
  ASSERT_OK(wm.Decode(before.Encode()));
  const TimestampMs restored = wm.current();
  // An hour of wall clock passes before the assignment arrives.
  EXPECT_EQ(wm.Update(kHourMs), restored);
  wm.Assign(0, kHourMs);
  wm.Assign(1, kHourMs);
  EXPECT_EQ(wm.Update(kHourMs + 1), restored);
  wm.Observe(0, 11 * kHourMs, kHourMs + 2);
  wm.Observe(1, 31 * kHourMs, kHourMs + 2);
  EXPECT_EQ(wm.Update(kHourMs + 3), 11 * kHourMs - 5 * kMinuteMs);
}

TEST_F(WatermarkTrackerTest, TooLateIsStrictlyOlderThanLateness) {
  WatermarkTracker wm(cfg_);
  wm.Assign(0, 0);
  EXPECT_FALSE(wm.IsTooLate(0));  // nothing seen: nothing is late
  wm.Observe(0, 10 * kHourMs, 0);
  wm.Update(0);
  const TimestampMs edge = 10 * kHourMs - 5 * kMinuteMs - kHourMs;
  EXPECT_FALSE(wm.IsTooLate(edge));
  EXPECT_TRUE(wm.IsTooLate(edge - 1));
}

TEST_F(WatermarkTrackerTest, AdvanceToRaisesTheFloor) {
  WatermarkTracker wm(cfg_);
  wm.Assign(0, 0);
  wm.Observe(0, 10 * kHourMs, 0);
  wm.Update(0);
  wm.AdvanceTo(wm.max_seen());
  EXPECT_EQ(wm.Update(0), 10 * kHourMs);
}

TEST_F(WatermarkTrackerTest, EncodeDecodeRestoresProgress) {
  WatermarkTracker a(cfg_);
  a.Assign(0, 0);
  a.Assign(3, 0);
  a.Observe(0, 5 * kHourMs, 0);
  a.Observe(3, 7 * kHourMs, 0);
  a.Update(0);
  WatermarkTracker b(cfg_);
  ASSERT_OK(b.Decode(a.Encode()));
  EXPECT_EQ(b.current(), a.current());
  EXPECT_EQ(b.max_seen(), 7 * kHourMs);
  EXPECT_EQ(b.Update(0), a.Update(0));
  EXPECT_FALSE(b.Decode("\x02garbage").ok());
}

// The plain walk over every partition that Update() replaced (its results
// are the contract; the index only makes them cheap).
class ReferenceTracker {
 public:
  explicit ReferenceTracker(const WatermarkConfig& cfg) : cfg_(cfg) {}
  void Assign(int32_t part, int64_t wall) { parts_[part].last = wall; }
  void Revoke(int32_t part) { parts_.erase(part); }
  void Observe(int32_t part, TimestampMs ts, int64_t wall) {
    P& p = parts_[part];
    p.max_ts = std::max(p.max_ts, ts);
    p.last = wall;
  }
  void MarkCaughtUp(int32_t part, int64_t wall) {
    auto it = parts_.find(part);
    if (it == parts_.end()) return;
    confirming_ = true;
    it->second.caught_up = std::max(it->second.caught_up, wall);
  }
  void Seed(int32_t part, TimestampMs ts) {
    auto [it, inserted] = parts_.try_emplace(part);
    if (inserted) it->second.last = INT64_MIN;
    it->second.max_ts = std::max(it->second.max_ts, ts);
  }
  void AdvanceTo(TimestampMs ts) {
    floor_ = std::max(floor_, ts);
    wm_ = std::max(wm_, floor_);
  }
  TimestampMs Update(int64_t wall) {
    TimestampMs low = INT64_MAX;
    bool any = false;
    for (const auto& [part, p] : parts_) {
      if (p.last == INT64_MIN || Idle(p, wall)) continue;
      any = true;
      low = std::min(low, p.max_ts == kMinTimestamp ? kMinTimestamp : p.max_ts - cfg_.out_of_orderness);
    }
    if (!any) {
      low = kMinTimestamp;
      for (const auto& [part, p] : parts_) {
        if (p.last != INT64_MIN && p.max_ts != kMinTimestamp) {
          low = std::max(low, p.max_ts - cfg_.out_of_orderness);
        }
      }
    }
    wm_ = std::max({wm_, low, floor_});
    return wm_;
  }

 private:
  struct P {
    TimestampMs max_ts = kMinTimestamp;
    int64_t last = 0;
    int64_t caught_up = INT64_MIN;
  };
  bool Idle(const P& p, int64_t wall) const {
    if (wall - p.last <= cfg_.idle_timeout) return false;
    return !confirming_ || (p.caught_up != INT64_MIN &&
                            wall - p.caught_up <= WatermarkTracker::kCaughtUpFreshMs);
  }
  WatermarkConfig cfg_;
  std::map<int32_t, P> parts_;
  TimestampMs floor_ = kMinTimestamp;
  TimestampMs wm_ = kMinTimestamp;
  bool confirming_ = false;
};

// Random sequences of every operation, with partitions going quiet, being
// confirmed, going stale, revoked, restored and reassigned, and the wall
// clock now and then going back: the indexed Update() gives the walk's
// watermark after every step.
TEST_F(WatermarkTrackerTest, IndexedUpdateMatchesTheWalk) {
  cfg_.idle_timeout = 40;  // ms: partitions flip between busy and idle often
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](uint32_t n) { return static_cast<int64_t>(rng() % n); };
    WatermarkTracker fast(cfg_);
    ReferenceTracker ref(cfg_);
    int64_t wall = 1'000'000;
    TimestampMs ts = 10 * kHourMs;
    const int32_t parts = 2 + static_cast<int32_t>(seed % 12);
    for (int step = 0; step < 3000; ++step) {
      const int64_t r = pick(100);
      if (r < 2) {
        wall -= 1 + pick(100);  // the clock steps back
      } else if (r < 10) {
        wall += 1000 + pick(WatermarkTracker::kCaughtUpFreshMs + 2000);
      } else {
        wall += pick(25);
      }
      const int32_t part = static_cast<int32_t>(pick(static_cast<uint32_t>(parts)));
      const int64_t op = pick(100);
      if (op < 55) {
        ts += pick(2000) - 300;
        fast.Observe(part, ts, wall);
        ref.Observe(part, ts, wall);
      } else if (op < 75) {
        const int64_t at = wall - pick(8000);  // answers describe the past
        fast.MarkCaughtUp(part, at);
        ref.MarkCaughtUp(part, at);
      } else if (op < 81) {
        fast.Assign(part, wall);
        ref.Assign(part, wall);
      } else if (op < 85) {
        fast.Revoke(part);
        ref.Revoke(part);
      } else if (op < 89) {
        const TimestampMs seeded = ts - pick(kHourMs);
        fast.Seed(part, seeded);
        ref.Seed(part, seeded);
      } else if (op < 90) {
        const TimestampMs floor = ts - 10 * kMinuteMs;
        fast.AdvanceTo(floor);
        ref.AdvanceTo(floor);
      }
      // Not every step is followed by an Update (changes accumulate).
      if (pick(4) != 0) {
        ASSERT_EQ(fast.Update(wall), ref.Update(wall)) << "seed " << seed << " step " << step;
      }
    }
  }
}

// The index survives a copy and a restore: a tracker rebuilt from its
// checkpoint and then assigned gives the walk's results.
TEST_F(WatermarkTrackerTest, IndexedUpdateAfterDecodeMatchesTheWalk) {
  WatermarkTracker a(cfg_);
  for (int32_t p = 0; p < 20; ++p) {
    a.Assign(p, 0);
    a.Observe(p, (10 + p) * kHourMs, 0);
  }
  ASSERT_EQ(a.Update(0), 10 * kHourMs - 5 * kMinuteMs);
  WatermarkTracker b(cfg_);
  ASSERT_OK(b.Decode(a.Encode()));
  ReferenceTracker ref(cfg_);
  for (int32_t p = 0; p < 20; ++p) ref.Seed(p, (10 + p) * kHourMs);
  ref.AdvanceTo(b.current());
  EXPECT_EQ(b.Update(kHourMs), ref.Update(kHourMs));
  for (int32_t p = 19; p >= 0; --p) {
    b.Assign(p, kHourMs);
    ref.Assign(p, kHourMs);
    WatermarkTracker copy = b;  // the originals are not updated here
    ReferenceTracker ref_copy = ref;
    EXPECT_EQ(copy.Update(kHourMs + p), ref_copy.Update(kHourMs + p)) << p;
  }
  b.Observe(0, 40 * kHourMs, kHourMs + 100);
  ref.Observe(0, 40 * kHourMs, kHourMs + 100);
  EXPECT_EQ(b.Update(kHourMs + 100), ref.Update(kHourMs + 100));
  EXPECT_EQ(b.Update(kHourMs + 100), 11 * kHourMs - 5 * kMinuteMs);
}

}  // namespace
}  // namespace epistream
