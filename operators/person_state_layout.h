// The byte layout of PersonState (current version), written through any
// writer with ByteWriter's interface (engine/byte_codec.h): U8, Varint,
// SignedVarint, Str, Double, BigEndian64.
//
// One definition serves PersonState::Encode (a size-bound pass, then raw
// writes without capacity checks) and the encoding test (ByteWriter, the
// reference): the layout cannot drift between them. Decode lives in
// person_state.cc, and still reads versions 1 and 2.
//
// Version 3 writes each distinct trail venue id and presence key once, in a
// table the records refer to by index: a person revisits a few venues, and
// every venue of the trail is also a presence key. It also writes a span's
// `last` (most often the person's last event) before its start, and packs
// `closed` into the track byte. At the bench's 1M persons (end of run) a
// state is 261 -> 213 bytes; every one of them goes through the WAL, the
// memtable, flushes and compactions, and the encoded cache holds more.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "operators/person_state.h"

namespace epistream {

inline constexpr uint8_t kPersonStateVersion = 3;

// Presence tracks fit in 7 bits: the 8th of the byte is the span's `closed`.
inline constexpr uint8_t kPresenceClosedBit = 0x80;

// The string table of one state's encoding: the distinct trail venue ids and
// presence keys in order of first use (trail, then presence), and each
// record's index into it. Reused between encodings (keeps its capacity).
class PersonStateStrings {
 public:
  void Build(const PersonState& st);
  const std::vector<std::string_view>& strings() const { return strings_; }
  uint32_t trail(size_t i) const { return trail_[i]; }
  uint32_t presence(size_t i) const { return presence_[i]; }

 private:
  uint32_t Intern(std::string_view s);
  std::vector<std::string_view> strings_;
  std::vector<uint32_t> trail_;
  std::vector<uint32_t> presence_;
  // For states with many strings, an open-addressing index of strings_
  // (slot -> string number, or kEmptySlot), at most half full: a person with
  // thousands of venues must not make an encoding quadratic, and a node-based
  // map allocated per string (a week of 21 venues: 1.4 us per encoding).
  static constexpr uint32_t kEmptySlot = UINT32_MAX;
  std::vector<uint32_t> slots_;
};

template <typename W>
void EncodePersonStateLayout(const PersonState& st, const PersonStateStrings& strings,
                              W& w) {
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
  w.Varint(strings.strings().size());
  for (std::string_view s : strings.strings()) w.Str(s);
  w.Varint(st.trail.size());
  for (size_t i = 0; i < st.trail.size(); ++i) {
    rel(st.trail[i].ts);
    w.Varint(strings.trail(i));
    w.U8(static_cast<uint8_t>(st.trail[i].kind));
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
  for (size_t i = 0; i < st.presence.size(); ++i) {
    const PresenceSpan& p = st.presence[i];
    w.U8(static_cast<uint8_t>(p.track | (p.closed ? kPresenceClosedBit : 0)));
    w.Varint(strings.presence(i));
    rel(p.last);
    w.SignedVarint(p.last - p.start);
  }
  w.U8(st.presence_timer == kNoPresenceTimer ? 0 : 1);
  if (st.presence_timer != kNoPresenceTimer) rel(st.presence_timer);
}

}  // namespace epistream
