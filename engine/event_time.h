// Event time: milliseconds since the Unix epoch (UTC), parsed from RFC 3339
// strings with any offset or from integer epoch milliseconds, exact to the
// millisecond, and mapped to local calendar days in a fixed-offset timezone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace epistream {

using TimestampMs = int64_t;
using DurationMs = int64_t;

inline constexpr DurationMs kSecondMs = 1000;
inline constexpr DurationMs kMinuteMs = 60 * kSecondMs;
inline constexpr DurationMs kHourMs = 60 * kMinuteMs;
inline constexpr DurationMs kDayMs = 24 * kHourMs;

// Lowest representable time; the watermark before any event.
inline constexpr TimestampMs kMinTimestamp = INT64_MIN / 4;

// Parses "YYYY-MM-DDTHH:MM:SS[.fff...]Z|+HH:MM|-HH:MM" ('t', 'z', and ' ' as
// the date-time separator are accepted, as RFC 3339 allows). Fractions beyond
// milliseconds are truncated. Validates calendar dates (leap years) and ranges.
std::optional<TimestampMs> ParseRfc3339(std::string_view s);

// Formats as RFC 3339 with milliseconds in the given offset, e.g.
// "2022-09-20T08:15:03.123+08:00" (offset 0 prints "Z").
std::string FormatRfc3339(TimestampMs ts, int tz_offset_minutes = 0);

// "+08:00", "-05:30", "Z", "UTC" -> offset minutes.
std::optional<int> ParseTzOffset(std::string_view s);

// Days since 1970-01-01 of the local calendar day containing ts.
int64_t LocalDay(TimestampMs ts, int tz_offset_minutes);

// Start (UTC ms) of the local day with the given number.
TimestampMs LocalDayStart(int64_t local_day, int tz_offset_minutes);

// "2022-09-20" for a local day number.
std::string FormatLocalDate(int64_t local_day);

// Civil date <-> day number (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace epistream
