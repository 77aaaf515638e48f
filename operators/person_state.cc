#include "operators/person_state.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <string_view>

#include "engine/byte_codec.h"
#include "operators/person_state_layout.h"

namespace epistream {
namespace {

constexpr uint8_t kVersion = kPersonStateVersion;
constexpr uint8_t kVersionWithoutPresence = 1;
constexpr uint8_t kVersionInlineStrings = 2;  // strings in place, span start first

// Up to this many trail visits and spans, a state's strings are interned by a
// linear scan (the usual person has ~9 of them, ~4 distinct).
constexpr size_t kLinearLimit = 16;

template <typename T, typename Pred>
void EraseIf(std::vector<T>* v, Pred pred) {
  v->erase(std::remove_if(v->begin(), v->end(), pred), v->end());
}

}  // namespace

uint64_t EventIdHash(EventType type, std::string_view event_id) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  mix(static_cast<uint8_t>(type));
  for (char c : event_id) mix(static_cast<uint8_t>(c));
  return h;
}

bool PersonState::HasExposure(std::string_view area) const {
  return std::any_of(exposures.begin(), exposures.end(),
                     [&](const ExposureRecord& e) { return e.area == area; });
}

bool PersonState::MarkSeen(uint64_t hash, TimestampMs ts) {
  for (const SeenEvent& s : seen) {
    if (s.hash == hash) return false;
  }
  seen.push_back({hash, ts});
  return true;
}

bool PersonState::TestAndSetDayFlag(int64_t day, uint8_t flag) {
  for (DayFlags& d : day_flags) {
    if (d.day == day) {
      if (d.flags & flag) return false;
      d.flags |= flag;
      return true;
    }
  }
  day_flags.push_back({day, flag});
  return true;
}

void PersonState::Prune(TimestampMs retention_horizon,
                        TimestampMs trail_horizon) {
  EraseIf(&entries,
          [&](const EntryRecord& e) { return e.ts < retention_horizon; });
  EraseIf(&exposures, [&](const ExposureRecord& e) {
    return e.entry_ts < retention_horizon;
  });
  EraseIf(&trail, [&](const VisitRecord& v) { return v.ts < trail_horizon; });
  EraseIf(&fevers,
          [&](const FeverRecord& f) { return f.ts < retention_horizon; });
  EraseIf(&tests, [&](TimestampMs t) { return t < retention_horizon; });
  EraseIf(&quarantines,
          [&](const QuarantineRecord& q) { return q.end < retention_horizon; });
  // A local day ends at most 14 h after its UTC-midnight day number; keep a
  // day's flags while any of it is within the horizon.
  EraseIf(&day_flags, [&](const DayFlags& d) {
    return (d.day + 2) * kDayMs < retention_horizon;
  });
  EraseIf(&seen, [&](const SeenEvent& s) { return s.ts < retention_horizon; });
}

size_t PersonState::MemoryBytes() const {
  // Heap strings only beyond the small-string buffer (15 bytes in libstdc++).
  auto str = [](const std::string& s) {
    return s.size() > 15 ? s.capacity() + 1 : 0;
  };
  size_t n = sizeof(PersonState);
  n += entries.capacity() * sizeof(EntryRecord);
  for (const EntryRecord& e : entries) {
    n += str(e.event_id) + str(e.hub_id) +
         e.regions.capacity() * sizeof(std::string);
    for (const std::string& r : e.regions) n += str(r);
  }
  n += exposures.capacity() * sizeof(ExposureRecord);
  for (const ExposureRecord& x : exposures)
    n += str(x.area) + str(x.entry_event_id) + str(x.listing_event_id);
  n += trail.capacity() * sizeof(VisitRecord);
  for (const VisitRecord& v : trail) n += str(v.venue_id);
  n += fevers.capacity() * sizeof(FeverRecord);
  for (const FeverRecord& f : fevers) n += str(f.event_id) + str(f.clinic_id);
  n += tests.capacity() * sizeof(TimestampMs);
  n += quarantines.capacity() * sizeof(QuarantineRecord);
  for (const QuarantineRecord& q : quarantines) n += str(q.entry_event_id);
  n += day_flags.capacity() * sizeof(DayFlags);
  n += seen.capacity() * sizeof(SeenEvent);
  n += presence.capacity() * sizeof(presence[0]);
  return n;
}

bool PersonState::Empty() const {
  return entries.empty() && exposures.empty() && trail.empty() &&
         fevers.empty() && tests.empty() && quarantines.empty() &&
         day_flags.empty() && seen.empty() && presence.empty() &&
         presence_timer == kNoPresenceTimer;
}

namespace {

// Upper bound of what RawWriter writes.
struct BoundWriter {
  size_t size = 0;
  void U8(uint8_t) { size += 1; }
  void Varint(uint64_t) { size += 10; }
  void SignedVarint(int64_t) { size += 10; }
  void Str(std::string_view s) { size += 10 + s.size(); }
  void Double(double) { size += 8; }
  void BigEndian64(uint64_t) { size += 8; }
};

// ByteWriter's encoding (engine/byte_codec.h), call for call, into a buffer
// known to be large enough: no per-byte capacity checks.
struct RawWriter {
  explicit RawWriter(char* out) : p(out) {}
  void U8(uint8_t v) { *p++ = static_cast<char>(v); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
  }
  void SignedVarint(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Str(std::string_view s) {
    Varint(s.size());
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void Double(double v) {
    uint64_t bits;
    static_assert(sizeof bits == sizeof v);
    std::memcpy(&bits, &v, sizeof v);
    BigEndian64(bits);
  }
  void BigEndian64(uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) {
      v = __builtin_bswap64(v);  // one store, not eight (~7 seen hashes a state)
      std::memcpy(p, &v, 8);
      p += 8;
    } else {
      for (int i = 7; i >= 0; --i) *p++ = static_cast<char>(v >> (i * 8));
    }
  }
  char* p;
};

}  // namespace

uint32_t PersonStateStrings::Intern(std::string_view s) {
  const auto next = static_cast<uint32_t>(strings_.size());
  if (slots_.empty()) {
    for (uint32_t i = 0; i < next; ++i) {
      if (strings_[i] == s) return i;
    }
  } else {
    const size_t mask = slots_.size() - 1;
    size_t at = std::hash<std::string_view>()(s) & mask;
    for (; slots_[at] != kEmptySlot; at = (at + 1) & mask) {
      if (strings_[slots_[at]] == s) return slots_[at];
    }
    slots_[at] = next;
  }
  strings_.push_back(s);
  return next;
}

void PersonStateStrings::Build(const PersonState& st) {
  strings_.clear();
  trail_.clear();
  presence_.clear();
  slots_.clear();
  // A linear scan for the usual handful of strings; the index when there
  // may be more than kLinearLimit of them (sized for all, so never full).
  const size_t most = st.trail.size() + st.presence.size();
  if (most > kLinearLimit) slots_.assign(std::bit_ceil(2 * most), kEmptySlot);
  for (const VisitRecord& v : st.trail) trail_.push_back(Intern(v.venue_id));
  for (const PresenceSpan& p : st.presence) presence_.push_back(Intern(p.key));
}

void PersonState::Encode(std::string* out) const {
  // Two passes: an upper bound of the size, then raw writes into a buffer
  // of that size. Same bytes as ByteWriter (person_state_encoding_test).
  thread_local PersonStateStrings strings;
  strings.Build(*this);
  BoundWriter bound;
  EncodePersonStateLayout(*this, strings, bound);
  out->resize(bound.size);
  RawWriter w(out->data());
  EncodePersonStateLayout(*this, strings, w);
  out->resize(static_cast<size_t>(w.p - out->data()));
}

void PersonState::Clear() {
  last_ts = kMinTimestamp;
  entries.clear();
  exposures.clear();
  trail.clear();
  fevers.clear();
  tests.clear();
  quarantines.clear();
  day_flags.clear();
  seen.clear();
  presence.clear();
  presence_timer = kNoPresenceTimer;
}

Status PersonState::Decode(std::string_view bytes) {
  Clear();
  ByteReader r(bytes);
  const uint8_t version = r.U8();
  if (version != kVersion && version != kVersionInlineStrings &&
      version != kVersionWithoutPresence) {
    return Status::Corruption("person state: unknown version");
  }
  // Stored times lie in [kMinTimestamp, -kMinTimestamp] (parsed event times
  // are within years 1970..9999), so rules may add durations to them without
  // overflow; anything else is corruption, not a time (found by fuzzing).
  bool bad_time = false;
  auto in_range = [&](TimestampMs t) {
    if (t < kMinTimestamp || t > -kMinTimestamp) bad_time = true;
    return t;
  };
  last_ts = in_range(r.SignedVarint());
  auto rel = [&]() {
    TimestampMs t = 0;
    if (__builtin_sub_overflow(last_ts, r.SignedVarint(), &t)) bad_time = true;
    return in_range(t);
  };
  // Counts are bounded by the remaining bytes so corrupt input cannot make
  // us allocate gigabytes.
  auto count = [&]() -> size_t {
    const uint64_t n = r.Varint();
    return n > bytes.size() ? 0 : static_cast<size_t>(n);
  };
  entries.resize(count());
  for (EntryRecord& e : entries) {
    e.ts = rel();
    e.event_id = r.Str();
    e.hub_id = r.Str();
    e.mode = static_cast<TransportMode>(std::min<uint8_t>(r.U8(), 4));
    e.category = static_cast<TravelCategory>(std::min<uint8_t>(r.U8(), 1));
    e.regions.resize(count());
    for (std::string& s : e.regions) s = r.Str();
  }
  exposures.resize(count());
  for (ExposureRecord& x : exposures) {
    x.area = r.Str();
    x.entry_ts = rel();
    x.entry_event_id = r.Str();
    x.level = static_cast<RiskLevel>(std::min<uint8_t>(r.U8(), 2));
    x.listing_event_id = r.Str();
    x.listed_at = rel();
  }
  // Version 3's string table: views into `bytes`, used while decoding only.
  thread_local std::vector<std::string_view> strings;
  strings.clear();
  bool bad_index = false;
  auto string_at = [&](uint64_t i) {
    if (i < strings.size()) return strings[i];
    bad_index = true;
    return std::string_view();
  };
  const bool string_table = version > kVersionInlineStrings;
  if (string_table) {
    strings.resize(count());
    for (std::string_view& s : strings) s = r.Str();
  }
  trail.resize(count());
  for (VisitRecord& v : trail) {
    v.ts = rel();
    v.venue_id = string_table ? string_at(r.Varint()) : r.Str();
    v.kind =
        static_cast<VenueKind>(std::min<uint8_t>(r.U8(), kNumVenueKinds - 1));
  }
  fevers.resize(count());
  for (FeverRecord& f : fevers) {
    f.ts = rel();
    f.event_id = r.Str();
    f.clinic_id = r.Str();
    f.temp_c = r.Double();
    f.returnee_alerted = r.U8() != 0;
  }
  tests.resize(count());
  for (TimestampMs& t : tests) t = rel();
  quarantines.resize(count());
  for (QuarantineRecord& q : quarantines) {
    q.start = rel();
    q.end = rel();
    q.entry_event_id = r.Str();
  }
  day_flags.resize(count());
  for (DayFlags& d : day_flags) {
    d.day = r.SignedVarint();
    if (d.day < kMinTimestamp / kDayMs || d.day > -kMinTimestamp / kDayMs)
      bad_time = true;
    d.flags = r.U8();
  }
  seen.resize(count());
  for (SeenEvent& s : seen) {
    s.hash = r.BigEndian64();
    s.ts = rel();
  }
  // A track byte with the closed bit set is corruption in version 2, where
  // it was never written: re-encoded, it would read back as another span.
  bool bad_track = false;
  if (string_table) {
    presence.resize(count());
    for (PresenceSpan& p : presence) {
      const uint8_t track = r.U8();
      p.track = track & ~kPresenceClosedBit;
      p.closed = (track & kPresenceClosedBit) != 0;
      p.key.assign(string_at(r.Varint()));
      p.last = rel();
      TimestampMs start = 0;
      if (__builtin_sub_overflow(p.last, r.SignedVarint(), &start)) {
        bad_time = true;
      }
      p.start = in_range(start);
    }
    if (r.U8() != 0) presence_timer = rel();
  } else if (version == kVersionInlineStrings) {
    presence.resize(count());
    for (PresenceSpan& p : presence) {
      p.track = r.U8();
      if (p.track & kPresenceClosedBit) bad_track = true;
      p.key.assign(r.Str());
      p.start = rel();
      TimestampMs last = 0;
      if (__builtin_add_overflow(p.start, r.SignedVarint(), &last)) {
        bad_time = true;
      }
      p.last = in_range(last);
      p.closed = r.U8() != 0;
    }
    if (r.U8() != 0) presence_timer = rel();
  }
  if (!r.ok() || !r.done()) {
    Clear();
    return Status::Corruption("person state: truncated or trailing bytes");
  }
  if (bad_index || bad_track) {
    Clear();
    return Status::Corruption("person state: string index or track out of range");
  }
  if (bad_time) {
    Clear();
    return Status::Corruption("person state: time out of range");
  }
  return Status::Ok();
}

}  // namespace epistream
