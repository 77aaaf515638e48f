#include "engine/event_time.h"

#include <gtest/gtest.h>

namespace epistream {
namespace {

class EventTimeTest : public ::testing::Test {};

TEST_F(EventTimeTest, ParsesUtcWithMillis) {
  auto t = ParseRfc3339("2022-09-20T00:15:03.123Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 1663632903123);
}

TEST_F(EventTimeTest, OffsetsDenoteTheSameInstant) {
  auto a = ParseRfc3339("2022-09-20T08:15:03.123+08:00");
  auto b = ParseRfc3339("2022-09-20T00:15:03.123Z");
  auto c = ParseRfc3339("2022-09-19T19:45:03.123-04:30");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*c, *b);
}

TEST_F(EventTimeTest, FractionsAreTruncatedToMillis) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00.9999Z"), 999);
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00.5Z"), 500);
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:01Z"), 1000);
}

TEST_F(EventTimeTest, LeapDays) {
  EXPECT_TRUE(ParseRfc3339("2024-02-29T12:00:00Z").has_value());
  EXPECT_TRUE(ParseRfc3339("2000-02-29T12:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2023-02-29T12:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("1900-02-29T12:00:00Z").has_value());
  EXPECT_EQ(*ParseRfc3339("2024-03-01T00:00:00Z") - *ParseRfc3339("2024-02-28T00:00:00Z"),
            2 * kDayMs);
}

TEST_F(EventTimeTest, RejectsGarbage) {
  for (const char* s : {"", "2022-09-20", "2022-09-20T08:15:03", "2022-13-01T00:00:00Z",
                        "2022-09-31T00:00:00Z", "2022-09-20T24:00:00Z", "2022-09-20T08:60:00Z",
                        "2022-09-20T08:15:60Z", "2022-09-20T08:15:03+0800",
                        "2022-09-20T08:15:03.Z", "2022-09-20T08:15:03Zjunk", "abcd-ef-ghTij:kl:mnZ",
                        "2022-09-20T08:15:03+24:00", "2022-09-20X08:15:03Z"}) {
    EXPECT_FALSE(ParseRfc3339(s).has_value()) << s;
  }
}

TEST_F(EventTimeTest, FormatRoundTripsInAnyOffset) {
  const TimestampMs t = 1663632903123;
  EXPECT_EQ(FormatRfc3339(t, 0), "2022-09-20T00:15:03.123Z");
  EXPECT_EQ(FormatRfc3339(t, 480), "2022-09-20T08:15:03.123+08:00");
  EXPECT_EQ(FormatRfc3339(t, -270), "2022-09-19T19:45:03.123-04:30");
  for (int off : {0, 480, -270, 345}) EXPECT_EQ(*ParseRfc3339(FormatRfc3339(t, off)), t);
  EXPECT_EQ(FormatRfc3339(-1, 0), "1969-12-31T23:59:59.999Z");
}

TEST_F(EventTimeTest, LocalDayFollowsTheOffset) {
  // 23:30 and 00:30 local (+08:00) are different local days, the same UTC day.
  const TimestampMs late = *ParseRfc3339("2022-09-20T23:30:00+08:00");
  const TimestampMs early = *ParseRfc3339("2022-09-21T00:30:00+08:00");
  EXPECT_EQ(LocalDay(early, 480), LocalDay(late, 480) + 1);
  EXPECT_EQ(LocalDay(early, 0), LocalDay(late, 0));
  EXPECT_EQ(FormatLocalDate(LocalDay(late, 480)), "2022-09-20");
  EXPECT_EQ(LocalDayStart(LocalDay(late, 480), 480), *ParseRfc3339("2022-09-20T00:00:00+08:00"));
}

TEST_F(EventTimeTest, ParsesTimezoneOffsets) {
  EXPECT_EQ(ParseTzOffset("+08:00"), 480);
  EXPECT_EQ(ParseTzOffset("-05:30"), -330);
  EXPECT_EQ(ParseTzOffset("Z"), 0);
  EXPECT_FALSE(ParseTzOffset("+8").has_value());
  EXPECT_FALSE(ParseTzOffset("+08:61").has_value());
}

}  // namespace
}  // namespace epistream
