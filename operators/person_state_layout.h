// The byte layout of PersonState (current version), written through any
// writer with ByteWriter's interface (engine/byte_codec.h): U8, Varint,
// SignedVarint, Str, Double, BigEndian64.
//
// One definition serves PersonState::Encode (a size-bound pass, then raw
// writes without capacity checks) and the encoding test (ByteWriter, the
// reference): the layout cannot drift between them. Decode lives in
// person_state.cc.
#pragma once

#include <cstdint>

#include "operators/person_state.h"

namespace epistream {

inline constexpr uint8_t kPersonStateVersion = 2;

template <typename W>
void EncodePersonStateLayout(const PersonState& st, W& w) {
  w.U8(kPersonStateVersion);
  w.SignedVarint(st.last_ts);
  // Times are written relative to last_ts: small varints for recent data.
  auto rel = [&](TimestampMs t) { w.SignedVarint(st.last_ts - t); };
  w.Varint(st.entries.size());
  for (const EntryRecord& e : st.entries) {
    rel(e.ts);
    w.Str(e.event_id);
    w.Str(e.hub_id);
    w.U8(static_cast<uint8_t>(e.mode));
    w.U8(static_cast<uint8_t>(e.category));
    w.Varint(e.regions.size());
    for (const std::string& r : e.regions) w.Str(r);
  }
  w.Varint(st.exposures.size());
  for (const ExposureRecord& x : st.exposures) {
    w.Str(x.area);
    rel(x.entry_ts);
    w.Str(x.entry_event_id);
    w.U8(static_cast<uint8_t>(x.level));
    w.Str(x.listing_event_id);
    rel(x.listed_at);
  }
  w.Varint(st.trail.size());
  for (const VisitRecord& v : st.trail) {
    rel(v.ts);
    w.Str(v.venue_id);
    w.U8(static_cast<uint8_t>(v.kind));
  }
  w.Varint(st.fevers.size());
  for (const FeverRecord& f : st.fevers) {
    rel(f.ts);
    w.Str(f.event_id);
    w.Str(f.clinic_id);
    w.Double(f.temp_c);
    w.U8(f.returnee_alerted ? 1 : 0);
  }
  w.Varint(st.tests.size());
  for (TimestampMs t : st.tests) rel(t);
  w.Varint(st.quarantines.size());
  for (const QuarantineRecord& q : st.quarantines) {
    rel(q.start);
    rel(q.end);
    w.Str(q.entry_event_id);
  }
  w.Varint(st.day_flags.size());
  for (const DayFlags& d : st.day_flags) {
    w.SignedVarint(d.day);
    w.U8(d.flags);
  }
  w.Varint(st.seen.size());
  for (const SeenEvent& s : st.seen) {
    w.BigEndian64(s.hash);
    rel(s.ts);
  }
  w.Varint(st.presence.size());
  for (const PresenceSpan& p : st.presence) {
    w.U8(p.track);
    w.Str(p.key);
    rel(p.start);
    w.SignedVarint(p.last - p.start);
    w.U8(p.closed ? 1 : 0);
  }
  w.U8(st.presence_timer == kNoPresenceTimer ? 0 : 1);
  if (st.presence_timer != kNoPresenceTimer) rel(st.presence_timer);
}

}  // namespace epistream
