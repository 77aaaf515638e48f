// ClusterStage across a restart (issue #7): a stage reopened from its store
// and an uninterrupted one, given the same records and watermarks, leave the
// same store, also when the first watermark after the restart is already in
// the next sweep bucket (the sweep must not be skipped: it prunes and deletes
// windows no later record touches).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "engine/state_keys.h"
#include "operators/cluster/cluster_stage.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace {

// Hour h after a UTC midnight (sweep buckets are event-time days).
TimestampMs Hour(int h) { return 19000 * kDayMs + h * kHourMs; }

// Community c9 has a visitor from 10:00 to 20:00, c1 one from 09:00 on; a
// checkpoint at 12:00, then (with `restart`, in a new stage opened from the
// store) the watermark reaches 03:00 the next day and a final checkpoint.
// Returns every key and value of the store.
std::map<std::string, std::string> RunAcrossMidnight(bool restart) {
  MemKvStore store;
  std::vector<Alert> alerts;
  auto stage = std::make_unique<ClusterStage>(ClusterStageOptions{}, &store);
  EXPECT_OK(stage->Open());
  EXPECT_OK(stage->OnRecord(testing::CommunitySeen("c9", Hour(10), 1)));
  EXPECT_OK(stage->OnRecord(testing::CommunitySeen("c9", Hour(20), -1)));
  EXPECT_OK(stage->OnRecord(testing::CommunitySeen("c1", Hour(9), 1)));
  EXPECT_OK(stage->OnWatermark(Hour(12), &alerts));
  EXPECT_OK(stage->Flush());
  EXPECT_OK(store.Commit());
  if (restart) {
    stage = std::make_unique<ClusterStage>(ClusterStageOptions{}, &store);
    EXPECT_OK(stage->Open());
  }
  EXPECT_OK(stage->OnWatermark(Hour(24 + 3), &alerts));
  EXPECT_OK(stage->Flush());
  EXPECT_OK(store.Commit());
  EXPECT_TRUE(alerts.empty());
  EXPECT_EQ(stage->CommunitiesWithPopulationAt(Hour(24 + 2)), 1);
  std::map<std::string, std::string> out;
  EXPECT_OK(store.Scan("", "", [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  }));
  return out;
}

TEST(ClusterStageRestartTest, FirstWatermarkInTheNextBucketStillSweeps) {
  const std::map<std::string, std::string> uninterrupted =
      RunAcrossMidnight(false);
  const std::map<std::string, std::string> restarted = RunAcrossMidnight(true);
  // The sweep at 03:00 (horizon 02:00) folds c9's +1 and -1 and deletes it.
  const std::string c9 = state_keys::Global('C', "Kc9");
  EXPECT_EQ(uninterrupted.count(c9), 0u);
  EXPECT_EQ(restarted.count(c9), 0u) << "the restarted stage skipped the sweep";
  EXPECT_EQ(restarted.count(state_keys::Global('C', "Kc1")), 1u);
  EXPECT_TRUE(restarted == uninterrupted);
}

}  // namespace
}  // namespace epistream
