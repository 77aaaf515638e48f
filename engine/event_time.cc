#include "engine/event_time.h"

#include <cstdio>

namespace epistream {
namespace {

// Floor division for negative times (before 1970).
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<TimestampMs> ParseRfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (s.size() < 20) return std::nullopt;
  if (!Digits(s, 0, 4, &year) || s[4] != '-' || !Digits(s, 5, 2, &month) || s[7] != '-' ||
      !Digits(s, 8, 2, &day))
    return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (!Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month)))
    return std::nullopt;
  // Leap seconds (":60") are not representable in epoch time; reject them.
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om))
      return std::nullopt;
    if (oh > 23 || om > 59) return std::nullopt;
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60LL;
  return secs * 1000 + millis;
}

std::string FormatRfc3339(TimestampMs ts, int tz_offset_minutes) {
  const TimestampMs local = ts + tz_offset_minutes * kMinuteMs;
  const int64_t days = FloorDiv(local, kDayMs);
  const int64_t ms_of_day = local - days * kDayMs;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const int hh = static_cast<int>(ms_of_day / kHourMs);
  const int mm = static_cast<int>(ms_of_day / kMinuteMs % 60);
  const int ss = static_cast<int>(ms_of_day / kSecondMs % 60);
  const int ms = static_cast<int>(ms_of_day % 1000);
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02d.%03d",
                        static_cast<long long>(y), m, d, hh, mm, ss, ms);
  if (tz_offset_minutes == 0) {
    buf[n++] = 'Z';
    buf[n] = '\0';
  } else {
    const int a = tz_offset_minutes < 0 ? -tz_offset_minutes : tz_offset_minutes;
    std::snprintf(buf + n, sizeof(buf) - n, "%c%02d:%02d", tz_offset_minutes < 0 ? '-' : '+',
                  a / 60, a % 60);
  }
  return buf;
}

std::optional<int> ParseTzOffset(std::string_view s) {
  if (s == "Z" || s == "UTC" || s == "utc" || s == "z") return 0;
  int oh, om;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !Digits(s, 1, 2, &oh) ||
      !Digits(s, 4, 2, &om) || oh > 23 || om > 59)
    return std::nullopt;
  return (oh * 60 + om) * (s[0] == '-' ? -1 : 1);
}

int64_t LocalDay(TimestampMs ts, int tz_offset_minutes) {
  return FloorDiv(ts + tz_offset_minutes * kMinuteMs, kDayMs);
}

TimestampMs LocalDayStart(int64_t local_day, int tz_offset_minutes) {
  return local_day * kDayMs - tz_offset_minutes * kMinuteMs;
}

std::string FormatLocalDate(int64_t local_day) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(local_day, &y, &m, &d);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

}  // namespace epistream
