// Regression cases for what tests/fuzz/ found in the operators' state
// decoders: stored bytes that decoded into times no event can have, so that
// later arithmetic on them overflowed (undefined behaviour). Each case is the
// shape of a fuzzer crash input, written out with ByteWriter; the decoder
// must now refuse it as corruption. Run under the ASan+UBSan build
// (EPISTREAM_SANITIZE) they also prove the overflow is gone.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/mem_kv_store.h"
#include "engine/state_keys.h"
#include "operators/person_state.h"
#include "operators/risk_area_table.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr TimestampMs kT0 = 1663632000000;  // 2022-09-20T00:00:00Z

class FuzzRegressionTest : public ::testing::Test {
 protected:
  // A person state record: version, last_ts, one entry at last_ts - rel,
  // then empty lists.
  static std::string PersonWithEntry(int64_t last_ts, int64_t rel) {
    std::string out;
    ByteWriter w(&out);
    w.U8(1);
    w.SignedVarint(last_ts);
    w.Varint(1);  // entries
    w.SignedVarint(rel);
    w.Str("t-1");
    w.Str("hub");
    w.U8(0);
    w.U8(0);
    w.Varint(0);                            // regions
    for (int list = 0; list < 7; ++list) w.Varint(0);  // the other lists
    return out;
  }

  static std::string History(const std::vector<std::pair<int64_t, std::string>>& changes) {
    std::string out;
    ByteWriter w(&out);
    w.U8(1);
    w.Varint(changes.size());
    for (const auto& [ts, id] : changes) {
      w.SignedVarint(ts);
      w.U8(2);  // high
      w.Str(id);
    }
    return out;
  }

  static Status LoadHistory(const std::string& value) {
    MemKvStore store;
    store.Put(state_keys::Global('A', "420106"), value);
    EXPECT_OK(store.Commit());
    RiskAreaTable table(&store);
    Status st = table.Load();
    if (st.ok()) {
      std::vector<Coverage> out;
      table.Covering("420106", kT0, 14 * kDayMs, &out);
    }
    return st;
  }
};

TEST_F(FuzzRegressionTest, PersonStateValidRecordStillDecodes) {
  PersonState s;
  ASSERT_OK(s.Decode(PersonWithEntry(kT0, kDayMs)));
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].ts, kT0 - kDayMs);
}

// crash-4c748d8d: last_ts near INT64_MAX, relative time -6280.
TEST_F(FuzzRegressionTest, PersonStateRelativeTimeOverflowIsCorruption) {
  PersonState s;
  const Status st = s.Decode(PersonWithEntry(INT64_MAX - 2047, -6280));
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_TRUE(s.Empty());
}

TEST_F(FuzzRegressionTest, PersonStateTimeOutsideEventRangeIsCorruption) {
  PersonState s;
  EXPECT_EQ(s.Decode(PersonWithEntry(INT64_MIN, 0)).code(), StatusCode::kCorruption);
  EXPECT_EQ(s.Decode(PersonWithEntry(kT0, kT0 - INT64_MIN / 2)).code(), StatusCode::kCorruption);
}

TEST_F(FuzzRegressionTest, PersonStateDayOutsideRangeIsCorruption) {
  // Prune computes (day + 2) * kDayMs: a huge day overflowed it.
  std::string out;
  ByteWriter w(&out);
  w.U8(1);
  w.SignedVarint(kT0);
  for (int list = 0; list < 6; ++list) w.Varint(0);
  w.Varint(1);
  w.SignedVarint(INT64_MAX / 1000);
  w.U8(kFlagBreach);
  w.Varint(0);  // seen
  PersonState s;
  EXPECT_EQ(s.Decode(out).code(), StatusCode::kCorruption);
}

TEST_F(FuzzRegressionTest, RiskAreaHistoryValidLoads) {
  EXPECT_OK(LoadHistory(History({{kT0, "r1"}, {kT0 + kDayMs, "r2"}})));
}

// crash-found in Covering: a listing at INT64_MIN minus the lookback.
TEST_F(FuzzRegressionTest, RiskAreaHistoryTimeOutOfRangeIsCorruption) {
  EXPECT_EQ(LoadHistory(History({{INT64_MIN, "r1"}})).code(), StatusCode::kCorruption);
  EXPECT_EQ(LoadHistory(History({{INT64_MAX, "r1"}})).code(), StatusCode::kCorruption);
}

TEST_F(FuzzRegressionTest, RiskAreaHistoryOutOfOrderIsCorruption) {
  EXPECT_EQ(LoadHistory(History({{kT0 + kDayMs, "r2"}, {kT0, "r1"}})).code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace epistream
