// Regression cases for what tests/fuzz/state_fuzzer found in
// WatermarkTracker::Decode: a stored watermark near INT64_MIN made the first
// IsTooLate after a restart overflow (watermark - allowed lateness).
#include <gtest/gtest.h>

#include <string>

#include "engine/byte_codec.h"
#include "engine/watermark_tracker.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr TimestampMs kT0 = 1663632000000;

class WatermarkDecodeTest : public ::testing::Test {
 protected:
  static std::string Record(int64_t floor, int64_t watermark, int64_t partition, int64_t max_ts) {
    std::string out;
    ByteWriter w(&out);
    w.U8(1);
    w.SignedVarint(floor);
    w.SignedVarint(watermark);
    w.Varint(1);
    w.SignedVarint(partition);
    w.SignedVarint(max_ts);
    return out;
  }
  WatermarkConfig cfg_;
};

TEST_F(WatermarkDecodeTest, ValidRecordDecodes) {
  WatermarkTracker t(cfg_);
  ASSERT_OK(t.Decode(Record(kT0, kT0, 3, kT0 + kMinuteMs)));
  EXPECT_EQ(t.current(), kT0);
  EXPECT_EQ(t.max_seen(), kT0 + kMinuteMs);
  EXPECT_TRUE(t.IsTooLate(kT0 - 2 * kHourMs));
}

TEST_F(WatermarkDecodeTest, TimesOutsideRangeAreCorruptionAndChangeNothing) {
  for (const std::string& bad : {Record(kT0, INT64_MIN + 1, 0, kT0), Record(INT64_MAX, kT0, 0, kT0),
                                 Record(kT0, kT0, 0, INT64_MIN), Record(kT0, kT0, 1ll << 40, kT0)}) {
    WatermarkTracker t(cfg_);
    EXPECT_EQ(t.Decode(bad).code(), StatusCode::kCorruption);
    EXPECT_EQ(t.current(), kMinTimestamp);
    EXPECT_EQ(t.max_seen(), kMinTimestamp);
    EXPECT_FALSE(t.IsTooLate(0));
  }
}

}  // namespace
}  // namespace epistream
