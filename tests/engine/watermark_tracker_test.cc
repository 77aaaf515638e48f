#include "engine/watermark_tracker.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace epistream
