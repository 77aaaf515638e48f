// Identifiers written by the synthetic city. Person "P<n>"; events
// "<type><day>-<person>-<seq>" with type s (scan), t (transport), f (fever):
// unique because (day, person, seq) is; registry records "reg<n>"; risk-area
// records "risk<n>-list" / "risk<n>-delist"; malformed lines "bad<n>".
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

namespace epistream {

// Appends the decimal form of v.
inline void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

inline std::string PersonId(uint32_t person) {
  std::string s = "P";
  AppendUint(person, &s);
  return s;
}

inline void AppendEventId(char type, int32_t day, uint32_t person, uint8_t seq,
                          std::string* out) {
  out->push_back(type);
  AppendUint(static_cast<uint64_t>(day), out);
  out->push_back('-');
  AppendUint(person, out);
  out->push_back('-');
  AppendUint(seq, out);
}

inline std::string EventId(char type, int32_t day, uint32_t person,
                           uint8_t seq) {
  std::string s;
  AppendEventId(type, day, person, seq, &s);
  return s;
}

}  // namespace epistream
