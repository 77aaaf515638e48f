// PersonState::Encode writes the current (v2) layout byte for byte as the
// reference ByteWriter encoder below does (equal states encode equally), and
// Decode into a used state is exact.
#include <gtest/gtest.h>

#include <string>

#include "engine/byte_codec.h"
#include "operators/person_state.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr uint8_t kVersion = 2;

// The v2 encoder written with ByteWriter (the reference).
void ReferenceEncode(const PersonState& st, std::string* out) {
  out->clear();
  ByteWriter w(out);
  w.U8(kVersion);
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

PersonState Full() {
  PersonState s;
  s.last_ts = 1663603200000;
  EntryRecord e;
  e.ts = s.last_ts - 5000;
  e.event_id = "t1-123456-9";
  e.hub_id = "hub-rail-0";
  e.mode = TransportMode::kAir;
  e.category = TravelCategory::kInboundReleased;
  e.regions = {"420106", "420106001", "a-region-code-longer-than-sso"};
  s.entries.push_back(e);
  s.exposures.push_back({"4201", e.ts, e.event_id, RiskLevel::kHigh,
                         "risk7-list", e.ts - 86400000});
  for (int i = 0; i < 40; ++i) {
    s.trail.push_back({s.last_ts - i * 3600000, "rst-" + std::to_string(i),
                       VenueKind::kRestaurant});
    s.seen.push_back({0x9e3779b97f4a7c15ull * (i + 1), s.last_ts - i * 1000});
  }
  s.fevers.push_back({s.last_ts - 7, "f3-123456-1", "fc-2", 38.4, true});
  s.tests = {s.last_ts - 1, s.last_ts - 86400000LL * 30};
  s.quarantines.push_back({e.ts, e.ts + 7 * 86400000LL, e.event_id});
  s.day_flags = {{19255, kFlagBreach | kFlagCodeRed}, {-3, kFlagCodeYellow}};
  PresenceSpan span;
  span.key = "rst-12";
  span.start = s.last_ts - 3 * 86400000LL;
  span.last = s.last_ts - 2000;
  span.track = 2;
  s.presence = {span, PresenceSpan()};
  s.presence_timer = s.last_ts + 14 * 86400000LL;
  return s;
}

TEST(PersonStateEncodingTest, SameBytesAsTheReferenceEncoder) {
  for (const PersonState& s : {PersonState(), Full()}) {
    std::string want;
    ReferenceEncode(s, &want);
    std::string got = "previous contents are replaced";
    s.Encode(&got);
    EXPECT_EQ(got, want);
  }
}

TEST(PersonStateEncodingTest, DecodeIntoAUsedStateIsExact) {
  std::string full;
  Full().Encode(&full);
  std::string empty;
  PersonState().Encode(&empty);
  PersonState s = Full();
  ASSERT_OK(s.Decode(empty));
  EXPECT_TRUE(s.Empty());
  ASSERT_OK(s.Decode(full));
  std::string again;
  s.Encode(&again);
  EXPECT_EQ(again, full);
  EXPECT_FALSE(s.Decode(full.substr(0, full.size() - 1)).ok());
  EXPECT_TRUE(s.Empty());
}

}  // namespace
}  // namespace epistream
