// PersonState::Encode (raw writes into a pre-sized buffer) writes the
// current (v2) layout byte for byte as ByteWriter does (equal states encode equally), and
// Decode into a used state is exact.
#include <gtest/gtest.h>

#include <string>

#include "engine/byte_codec.h"
#include "operators/person_state.h"
#include "operators/person_state_layout.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

// The reference: the same layout through ByteWriter, whose every call
// checks capacity.
void ReferenceEncode(const PersonState& st, std::string* out) {
  out->clear();
  ByteWriter w(out);
  EncodePersonStateLayout(st, w);
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
