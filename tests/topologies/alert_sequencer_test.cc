// AlertSequencer restores the single-threaded order of the person stage's
// alerts and the cluster worker's, and releases nothing the worker could
// still put in front.
#include "topologies/alert_sequencer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

Alert Named(const std::string& id) {
  Alert a;
  a.alert_id = id;
  return a;
}

class AlertSequencerTest : public ::testing::Test {
 protected:
  void Own(const std::string& id, uint64_t watermarks_queued) {
    seq_.AddOwn(Named(id), watermarks_queued, {});
  }
  void Cluster(const std::string& id, uint64_t seq) {
    std::vector<SequencedAlert> v{{seq, Named(id)}};
    seq_.AddCluster(&v);
    EXPECT_TRUE(v.empty());
  }
  // The ids released for `done` applied watermarks, "c:" for cluster ones.
  std::vector<std::string> Release(uint64_t done) {
    std::vector<std::string> out;
    EXPECT_OK(seq_.Release(done, [&](const Alert& a, bool cluster, AlertSequencer::Received) {
      out.push_back((cluster ? "c:" : "") + a.alert_id);
      return Status::Ok();
    }));
    return out;
  }
  AlertSequencer seq_;
};

TEST_F(AlertSequencerTest, OwnAlertGoesBeforeTheClusterAlertsOfLaterWatermarks) {
  // Single-threaded order: o1, (wm 0) c0, o2, o3, (wm 1) nothing, (wm 2) c2a c2b, o4.
  Own("o1", 0);
  Own("o2", 1);
  Own("o3", 1);
  Own("o4", 3);
  Cluster("c0", 0);
  Cluster("c2a", 2);
  Cluster("c2b", 2);
  EXPECT_EQ(Release(3), (std::vector<std::string>{"o1", "c:c0", "o2", "o3", "c:c2a", "c:c2b", "o4"}));
  EXPECT_TRUE(seq_.empty());
}

TEST_F(AlertSequencerTest, HoldsOwnAlertsUntilEarlierWatermarksAreApplied) {
  Own("o1", 0);
  Own("o2", 2);
  // Nothing applied yet: o1 (before watermark 0) may go, o2 may not (the
  // worker could still make alerts for watermarks 0 and 1).
  EXPECT_EQ(Release(0), (std::vector<std::string>{"o1"}));
  EXPECT_EQ(Release(1), (std::vector<std::string>{}));
  Cluster("c1", 1);
  EXPECT_EQ(Release(2), (std::vector<std::string>{"c:c1", "o2"}));
  EXPECT_TRUE(seq_.empty());
}

TEST_F(AlertSequencerTest, StopsAtTheFirstFailedEmitAndKeepsTheRest) {
  Own("o1", 0);
  Own("o2", 0);
  int calls = 0;
  const Status st = seq_.Release(1, [&](const Alert&, bool, AlertSequencer::Received) {
    ++calls;
    return Status::IoError("sink down");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Release(1), (std::vector<std::string>{"o2"}));
}

}  // namespace
}  // namespace epistream
