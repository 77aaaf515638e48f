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
