// PersonState::Encode writes the v1 layout byte for byte as the reference
// ByteWriter encoder did (states stored by older binaries stay readable and
// equal states encode equally), and Decode reuses a state's allocations.
#include <gtest/gtest.h>

#include <string>

#include "engine/byte_codec.h"
#include "operators/person_state.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr uint8_t kVersion = 1;

// The v1 encoder as it was written with ByteWriter (the reference).

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
  return s;
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
