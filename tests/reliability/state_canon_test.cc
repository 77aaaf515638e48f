// The crash loop's state comparison (tests/reliability/city_stream.h,
// LoadCanonicalState) on the cluster stage's windows, issue #7: two runs of
// the same records whose checkpoints fall at other watermarks store other
// bytes for a community (folded or deleted at one checkpoint's horizon, not
// yet at the other's) while every read at or after the horizon agrees; the
// canonical form is equal for them and still differs when a count does.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "operators/cluster/cluster_stage.h"
#include "tests/reliability/city_stream.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace {

using ::epistream::testing::DescribeStateDiff;
using ::epistream::testing::LoadCanonicalState;
using ::epistream::testing::StateCanon;

// Hour h of one UTC day (one sweep bucket: no sweep runs between the steps).
TimestampMs Hour(int h) { return 19000 * kDayMs + h * kHourMs; }

// One person visits community c9 from 10:00 to 20:00 (and with
// `extra_visitor` another from 21:30); c1 keeps a visitor.
// The watermark reaches 12:00, then 22:00; `checkpoints` are the watermarks
// (hours) after which the stage flushes and the store commits, the last one
// always 22:00. Returns the committed store.
std::map<std::string, std::string> RunCommunities(
    const std::vector<int>& checkpoints, bool raw, bool extra_visitor = false) {
  MemKvStore store;
  ClusterStage stage(ClusterStageOptions{}, &store);
  EXPECT_OK(stage.Open());
  EXPECT_OK(stage.OnRecord(testing::CommunitySeen("c9", Hour(10), 1)));
  EXPECT_OK(stage.OnRecord(testing::CommunitySeen("c9", Hour(20), -1)));
  EXPECT_OK(stage.OnRecord(testing::CommunitySeen("c1", Hour(9), 1)));
  if (extra_visitor)
    EXPECT_OK(stage.OnRecord(testing::CommunitySeen("c9", Hour(21) + 30 * kMinuteMs, 1)));
  std::vector<Alert> alerts;
  for (int h : {12, 22}) {
    EXPECT_OK(stage.OnWatermark(Hour(h), &alerts));
    for (int c : checkpoints) {
      if (c == h) {
        EXPECT_OK(stage.Flush());
        EXPECT_OK(store.Commit());
      }
    }
  }
  EXPECT_TRUE(alerts.empty());
  // Every read the stage can still make (at or after its horizon, 21:00)
  // agrees whatever the checkpoints: c1 alone has visitors (and c9 with the
  // extra visitor).
  EXPECT_EQ(stage.CommunitiesWithPopulationAt(Hour(22)), extra_visitor ? 2 : 1);
  StateCanon canon;
  canon.cluster_windows = !raw;
  std::map<std::string, std::string> out;
  EXPECT_OK(LoadCanonicalState(&store, {}, canon, &out));
  return out;
}

TEST(StateCanonTest,
     CheckpointPlacementChangesCommunityBytesButNotTheCanonicalState) {
  // Raw bytes differ: checkpointed at 12:00 (horizon 11:00) c9 keeps base 1
  // and the -1 at 20:00, untouched (not rewritten) at 22:00; checkpointed only
  // at 22:00 (horizon 21:00) both fold to 0 and c9 is deleted.
  const auto raw_early = RunCommunities({12, 22}, /*raw=*/true);
  const auto raw_late = RunCommunities({22}, /*raw=*/true);
  const std::string c9 = state_keys::Global('C', "Kc9");
  EXPECT_EQ(raw_early.count(c9), 1u);
  EXPECT_EQ(raw_late.count(c9), 0u);
  EXPECT_NE(DescribeStateDiff(raw_early, raw_late), "")
      << "the blind comparison's false alarm";

  EXPECT_EQ(DescribeStateDiff(RunCommunities({12, 22}, false),
                              RunCommunities({22}, false)),
            "");
}

TEST(StateCanonTest, CanonicalStateStillSeesADifferentCount) {
  // A second visitor of c9 at 21:30 (after the horizon): readable, so the
  // canonical states must differ, whatever the checkpoints.
  EXPECT_NE(DescribeStateDiff(RunCommunities({12, 22}, false),
                              RunCommunities({22}, false, true)),
            "");
  EXPECT_NE(DescribeStateDiff(RunCommunities({22}, false),
                              RunCommunities({22}, false, true)),
            "");
}

TEST(StateCanonTest, OtherKeysAndSkipsAreComparedAsBefore) {
  MemKvStore a, b;
  a.Put("Pxx", "1");
  b.Put("Pxx", "2");
  a.Put("Zskip", "1");
  std::map<std::string, std::string> ma, mb;
  ASSERT_OK(LoadCanonicalState(&a, {"Z"}, StateCanon{}, &ma));
  ASSERT_OK(LoadCanonicalState(&b, {"Z"}, StateCanon{}, &mb));
  EXPECT_EQ(DescribeStateDiff(ma, mb),
            "1 vs 1 keys: 0 only in the first, 0 only in the second, "
            "1 with other values; e.g. Pxx");
}

}  // namespace
}  // namespace epistream
