#include "operators/person_state.h"

#include <algorithm>

#include "engine/byte_codec.h"

namespace epistream {
namespace {

constexpr uint8_t kVersion = 2;
constexpr uint8_t kVersionWithoutPresence = 1;

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

void PersonState::Prune(TimestampMs retention_horizon, TimestampMs trail_horizon) {
  EraseIf(&entries, [&](const EntryRecord& e) { return e.ts < retention_horizon; });
  EraseIf(&exposures, [&](const ExposureRecord& e) { return e.entry_ts < retention_horizon; });
  EraseIf(&trail, [&](const VisitRecord& v) { return v.ts < trail_horizon; });
  EraseIf(&fevers, [&](const FeverRecord& f) { return f.ts < retention_horizon; });
  EraseIf(&tests, [&](TimestampMs t) { return t < retention_horizon; });
  EraseIf(&quarantines, [&](const QuarantineRecord& q) { return q.end < retention_horizon; });
  // A local day ends at most 14 h after its UTC-midnight day number; keep a day's
  // flags while any of it is within the horizon.
  EraseIf(&day_flags, [&](const DayFlags& d) { return (d.day + 2) * kDayMs < retention_horizon; });
  EraseIf(&seen, [&](const SeenEvent& s) { return s.ts < retention_horizon; });
}

bool PersonState::Empty() const {
  return entries.empty() && exposures.empty() && trail.empty() && fevers.empty() &&
         tests.empty() && quarantines.empty() && day_flags.empty() && seen.empty() &&
         presence.empty() && presence_timer == kNoPresenceTimer;
}

void PersonState::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kVersion);
  w.SignedVarint(last_ts);
  // Times are written relative to last_ts: small varints for recent data.
  auto rel = [&](TimestampMs t) { w.SignedVarint(last_ts - t); };
  w.Varint(entries.size());
  for (const EntryRecord& e : entries) {
    rel(e.ts);
    w.Str(e.event_id);
    w.Str(e.hub_id);
    w.U8(static_cast<uint8_t>(e.mode));
    w.U8(static_cast<uint8_t>(e.category));
    w.Varint(e.regions.size());
    for (const std::string& r : e.regions) w.Str(r);
  }
  w.Varint(exposures.size());
  for (const ExposureRecord& x : exposures) {
    w.Str(x.area);
    rel(x.entry_ts);
    w.Str(x.entry_event_id);
    w.U8(static_cast<uint8_t>(x.level));
    w.Str(x.listing_event_id);
    rel(x.listed_at);
  }
  w.Varint(trail.size());
  for (const VisitRecord& v : trail) {
    rel(v.ts);
    w.Str(v.venue_id);
    w.U8(static_cast<uint8_t>(v.kind));
  }
  w.Varint(fevers.size());
  for (const FeverRecord& f : fevers) {
    rel(f.ts);
    w.Str(f.event_id);
    w.Str(f.clinic_id);
    w.Double(f.temp_c);
    w.U8(f.returnee_alerted ? 1 : 0);
  }
  w.Varint(tests.size());
  for (TimestampMs t : tests) rel(t);
  w.Varint(quarantines.size());
  for (const QuarantineRecord& q : quarantines) {
    rel(q.start);
    rel(q.end);
    w.Str(q.entry_event_id);
  }
  w.Varint(day_flags.size());
  for (const DayFlags& d : day_flags) {
    w.SignedVarint(d.day);
    w.U8(d.flags);
  }
  w.Varint(seen.size());
  for (const SeenEvent& s : seen) {
    w.BigEndian64(s.hash);
    rel(s.ts);
  }
  w.Varint(presence.size());
  for (const PresenceSpan& p : presence) {
    w.U8(p.track);
    w.Str(p.key);
    rel(p.start);
    w.SignedVarint(p.last - p.start);
    w.U8(p.closed ? 1 : 0);
  }
  w.U8(presence_timer == kNoPresenceTimer ? 0 : 1);
  if (presence_timer != kNoPresenceTimer) rel(presence_timer);
}

Status PersonState::Decode(std::string_view bytes) {
  *this = PersonState();
  ByteReader r(bytes);
  const uint8_t version = r.U8();
  if (version != kVersion && version != kVersionWithoutPresence) {
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
  trail.resize(count());
  for (VisitRecord& v : trail) {
    v.ts = rel();
    v.venue_id = r.Str();
    v.kind = static_cast<VenueKind>(std::min<uint8_t>(r.U8(), kNumVenueKinds - 1));
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
    if (d.day < kMinTimestamp / kDayMs || d.day > -kMinTimestamp / kDayMs) bad_time = true;
    d.flags = r.U8();
  }
  seen.resize(count());
  for (SeenEvent& s : seen) {
    s.hash = r.BigEndian64();
    s.ts = rel();
  }
  if (version >= 2) {
    presence.resize(count());
    for (PresenceSpan& p : presence) {
      p.track = r.U8();
      p.key = std::string(r.Str());
      p.start = rel();
      p.last = p.start + r.SignedVarint();
      p.closed = r.U8() != 0;
    }
    if (r.U8() != 0) presence_timer = rel();
  }
  if (!r.ok() || !r.done()) {
    *this = PersonState();
    return Status::Corruption("person state: truncated or trailing bytes");
  }
  if (bad_time) {
    *this = PersonState();
    return Status::Corruption("person state: time out of range");
  }
  return Status::Ok();
}

}  // namespace epistream
