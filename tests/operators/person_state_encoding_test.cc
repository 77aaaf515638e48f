// PersonState::Encode (raw writes into a pre-sized buffer) writes the
// current (v3) layout byte for byte as ByteWriter does (equal states encode
// equally), Decode into a used state is exact, and states written in the
// previous layout (v2) still decode.
#include <gtest/gtest.h>

#include <string>

#include "engine/byte_codec.h"
#include "operators/person_state.h"
#include "operators/person_state_layout.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace {

// The reference: the same layout through ByteWriter, whose every call
// checks capacity.
void ReferenceEncode(const PersonState& st, std::string* out) {
  out->clear();
  PersonStateStrings strings;
  strings.Build(st);
  ByteWriter w(out);
  EncodePersonStateLayout(st, strings, w);
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

// One of each record, a venue visited twice, and two presence spans (one
// keyed by a trail venue, one closed): what the golden bytes below hold.
PersonState Small() {
  PersonState s = testing::MakeOneOfEachPersonState();
  s.trail.push_back({s.last_ts - 2 * kHourMs, "venue-9", VenueKind::kSchool});
  s.trail.push_back({s.last_ts - 3 * kHourMs, "venue-7", VenueKind::kRestaurant});
  PresenceSpan venue;
  venue.key = "venue-7";
  venue.start = s.last_ts - 3 * kHourMs;
  venue.last = s.last_ts - kHourMs;
  venue.track = 4;
  PresenceSpan city;
  city.start = s.last_ts - 3 * kHourMs;
  city.last = s.last_ts;
  city.closed = true;
  s.presence = {venue, city};
  s.presence_timer = s.last_ts + 14 * kDayMs;
  return s;
}

// Small() as version 2 wrote it (strings in place, a span's start first):
// what a state directory from before version 3 holds.
constexpr unsigned char kSmallVersion2[] = {
    0x02, 0xa6, 0xaf, 0xfc, 0x83, 0xeb, 0x60, 0x01, 0x80, 0xf0, 0xb2, 0x52, 0x02, 0x74, 0x31,
    0x04, 0x68, 0x75, 0x62, 0x39, 0x01, 0x01, 0x02, 0x02, 0x55, 0x53, 0x06, 0x34, 0x32, 0x30,
    0x31, 0x30, 0x36, 0x01, 0x04, 0x34, 0x32, 0x30, 0x31, 0x80, 0xf0, 0xb2, 0x52, 0x02, 0x74,
    0x31, 0x02, 0x02, 0x72, 0x31, 0x80, 0xd0, 0x98, 0xf7, 0x01, 0x03, 0x80, 0xba, 0xb7, 0x03,
    0x07, 0x76, 0x65, 0x6e, 0x75, 0x65, 0x2d, 0x37, 0x04, 0x80, 0xf4, 0xee, 0x06, 0x07, 0x76,
    0x65, 0x6e, 0x75, 0x65, 0x2d, 0x39, 0x07, 0x80, 0xae, 0xa6, 0x0a, 0x07, 0x76, 0x65, 0x6e,
    0x75, 0x65, 0x2d, 0x37, 0x04, 0x01, 0x00, 0x02, 0x66, 0x31, 0x08, 0x63, 0x6c, 0x69, 0x6e,
    0x69, 0x63, 0x2d, 0x32, 0x40, 0x43, 0x59, 0x99, 0x99, 0x99, 0x99, 0x9a, 0x01, 0x01, 0x80,
    0xf4, 0xee, 0x06, 0x01, 0x80, 0xf0, 0xb2, 0x52, 0xff, 0xaf, 0x95, 0xaf, 0x08, 0x02, 0x74,
    0x31, 0x01, 0xee, 0xac, 0x02, 0x05, 0x01, 0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d,
    0x00, 0x02, 0x04, 0x07, 0x76, 0x65, 0x6e, 0x75, 0x65, 0x2d, 0x37, 0x80, 0xae, 0xa6, 0x0a,
    0x80, 0xf4, 0xee, 0x06, 0x00, 0x00, 0x00, 0x80, 0xae, 0xa6, 0x0a, 0x80, 0xae, 0xa6, 0x0a,
    0x01, 0x01, 0xff, 0x9f, 0xc8, 0x81, 0x09};

std::string_view SmallVersion2() {
  return {reinterpret_cast<const char*>(kSmallVersion2), sizeof(kSmallVersion2)};
}

size_t Occurrences(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(PersonStateEncodingTest, StatesInTheVersion2LayoutStillDecode) {
  PersonState s;
  ASSERT_OK(s.Decode(SmallVersion2()));
  std::string got;
  s.Encode(&got);
  std::string want;
  Small().Encode(&want);
  EXPECT_EQ(got, want);  // the same state, now written as version 3
  EXPECT_EQ(s.presence[0].key, "venue-7");
  EXPECT_EQ(s.presence[0].start, s.last_ts - 3 * kHourMs);
  EXPECT_FALSE(s.presence[0].closed);
  EXPECT_TRUE(s.presence[1].closed);
  EXPECT_EQ(s.trail[2].venue_id, "venue-7");
  EXPECT_LT(want.size(), SmallVersion2().size());
}

TEST(PersonStateEncodingTest, EachVenueIdIsWrittenOnce) {
  std::string small;
  Small().Encode(&small);
  EXPECT_EQ(Occurrences(small, "venue-7"), 1u);  // two visits and a span
  EXPECT_EQ(Occurrences(small, "venue-9"), 1u);
  // Past the linear scan's limit, through the hash index: 40 venues, and a
  // span keyed by one of them.
  std::string full;
  Full().Encode(&full);
  EXPECT_EQ(Occurrences(full, "rst-12"), 1u);
  EXPECT_EQ(Occurrences(full, "rst-39"), 1u);
  PersonState back;
  ASSERT_OK(back.Decode(full));
  EXPECT_EQ(back.presence[0].key, "rst-12");
  EXPECT_EQ(back.trail[12].venue_id, "rst-12");
}

TEST(PersonStateEncodingTest, BadStringIndexOrTrackIsCorruption) {
  // Small()'s first trail visit refers to string 0; point it past the table
  // ("venue-7", "venue-9", then "" for the city-wide span).
  std::string bytes;
  Small().Encode(&bytes);
  const size_t trail = bytes.find("venue-9") + 7 + 1;  // past "" (one byte)
  ASSERT_EQ(static_cast<uint8_t>(bytes[trail]), 3);   // the trail's count
  std::string time;  // the first visit's time, relative to the last event
  ByteWriter(&time).SignedVarint(kHourMs);
  std::string bad = bytes;
  ASSERT_EQ(bad[trail + 1 + time.size()], 0);
  bad[trail + 1 + time.size()] = 3;
  PersonState s;
  EXPECT_EQ(s.Decode(bad).code(), StatusCode::kCorruption);
  EXPECT_TRUE(s.Empty());
  // Version 2 never set the closed bit in a track byte.
  std::string v2(SmallVersion2());
  const size_t track = v2.find("venue-7", v2.find("venue-7", v2.find("venue-7") + 1) + 1) - 2;
  ASSERT_EQ(static_cast<uint8_t>(v2[track]), 4);
  v2[track] = static_cast<char>(4 | kPresenceClosedBit);
  EXPECT_EQ(s.Decode(v2).code(), StatusCode::kCorruption);
  EXPECT_TRUE(s.Empty());
}

TEST(PersonStateEncodingTest, SameBytesAsTheReferenceEncoder) {
  for (const PersonState& s : {PersonState(), Full(), Small()}) {
    std::string want;
    ReferenceEncode(s, &want);
    std::string got = "previous contents are replaced";
    s.Encode(&got);
    EXPECT_EQ(got, want);
    EXPECT_EQ(static_cast<uint8_t>(got[0]), kPersonStateVersion);
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
