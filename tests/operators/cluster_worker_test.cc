// ClusterWorker runs the cluster stage on its own thread with the outputs of
// the stage called directly: the calls a single-threaded run made (person
// stage -> cluster stage, logged by the ClusterCityTest fixture) replayed
// through a worker, with batches of 1, 3 and 512 calls and syncs (with
// checkpoints) anywhere, give the same alerts in the same order, each tagged
// with the watermark call that made it, and the same stored state as the
// same calls and checkpoints on a stage called directly, also when the
// checkpoints' flushes run on the worker (QueueFlush, into a
// CapturingKvStore). A failing call surfaces at the next Sync and stops the worker.
#include "operators/cluster/cluster_worker.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/capturing_kv_store.h"
#include "engine/mem_kv_store.h"
#include "tests/testing/cluster_city_test.h"

namespace epistream {
namespace {

using cluster_city::At;
using cluster_city::ClusterCall;
using cluster_city::P;
using cluster_city::V;

// Committed keys and values under `prefix`.
std::map<std::string, std::string> Dump(KvStore& store, const std::string& prefix) {
  std::map<std::string, std::string> out;
  EXPECT_OK(store.Scan(prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  }));
  return out;
}

std::string Json(const Alert& a) {
  std::string json;
  AlertToJson(a, cluster_city::kTz, 0, &json);
  return json;
}

class ClusterWorkerTest : public cluster_city::ClusterCityTest {
 protected:
  ClusterStageOptions Options() const {
    ClusterStageOptions co;
    co.rules = rules_;
    co.sweep_interval = sweep_interval_;
    co.detached = true;
    return co;
  }

  // A city with a growing restaurant cluster, a community cluster of
  // registered persons and a clinic surge, run through the fixture's direct
  // wiring with every cluster call logged.
  void RunReference() {
    calls_ = &log_;
    for (int i = 0; i < 8; ++i) Register(P(500 + i), "small");
    std::vector<Event> ev = City(600, 12, 10, {});
    for (int i = 0; i < 30; ++i) ev.push_back(Scan(P(100 + i), "grow", At(3, 19) + i * kSecondMs));
    for (int i = 0; i < 8; ++i) ev.push_back(Fever(P(100 + i), At(5, 8 + i), "", "c1"));
    for (int i = 0; i < 4; ++i) ev.push_back(Fever(P(500 + i), At(6, 9 + i), "", "c1"));
    const int counts[] = {2, 3, 1, 2, 4, 2, 0, 9, 9, 6};
    int n = 0;
    for (int d = 0; d < 10; ++d) {
      for (int v = 0; v < counts[d]; ++v) {
        ev.push_back(Fever(P(300 + n++ % 100), At(d, 9 + v * 0.5), "", "c9"));
      }
    }
    ev.push_back(Scan(P(0), V(0), At(10, 0.5)));
    Run(ev);
    calls_ = nullptr;
    ASSERT_OK(cluster_->Flush());
    ASSERT_OK(store_.Commit());
    reference_state_ = Dump(store_, ClusterStageKeyPrefix(Options()));
  }

  struct Replay {
    std::vector<SequencedAlert> alerts;
    // For each logged watermark call: the sequence number it got, or -1
    // when the worker dropped it.
    std::map<size_t, int64_t> seq_of_call;
    std::map<std::string, std::string> state;
  };

  // The logged calls on a stage called directly (not detached), with a
  // checkpoint every `checkpoint_every` calls (0: never). Checkpoints
  // prune the stage's state, so states compare at equal checkpoints only.
  std::map<std::string, std::string> ReplayDirect(size_t checkpoint_every) {
    MemKvStore store;
    ClusterStageOptions co = Options();
    co.detached = false;
    ClusterStage stage(co, &store);
    EXPECT_OK(stage.Open());
    std::vector<Alert> alerts;
    for (size_t i = 0; i < log_.size(); ++i) {
      const ClusterCall& c = log_[i];
      switch (c.kind) {
        case ClusterCall::kRecord:
          EXPECT_OK(stage.OnRecord(c.record));
          break;
        case ClusterCall::kRegistration:
          EXPECT_OK(stage.OnRegistration(c.before, c.after));
          break;
        case ClusterCall::kWatermark:
          EXPECT_OK(stage.OnWatermark(c.wm, &alerts));
          break;
      }
      if (checkpoint_every > 0 && (i + 1) % checkpoint_every == 0) {
        EXPECT_OK(stage.Flush());
        EXPECT_OK(store.Commit());
      }
    }
    EXPECT_EQ(alerts.size(), alerts_.size());
    EXPECT_OK(stage.Flush());
    EXPECT_OK(store.Commit());
    return Dump(store, ClusterStageKeyPrefix(co));
  }

  // The logged calls through a worker; every `sync_every` calls (0: never)
  // a Sync and a checkpoint: the stage's Flush on this thread, or with
  // `flush_on_worker` queued to the worker (QueueFlush) into a
  // CapturingKvStore replayed after the next Sync, then the store's Commit.
  Replay ReplayThroughWorker(size_t batch_calls, size_t sync_every, bool flush_on_worker = false) {
    Replay out;
    MemKvStore store;
    CapturingKvStore capturing(&store);
    ClusterStage stage(Options(), &capturing);
    EXPECT_OK(stage.Open());
    {
      ClusterWorker worker(&stage, batch_calls);
      for (size_t i = 0; i < log_.size(); ++i) {
        const ClusterCall& c = log_[i];
        switch (c.kind) {
          case ClusterCall::kRecord:
            worker.records()->Add() = c.record;
            worker.RecordsAdded();
            break;
          case ClusterCall::kRegistration:
            worker.QueueRegistration(c.before, c.after);
            break;
          case ClusterCall::kWatermark: {
            const uint64_t before = worker.watermarks_queued();
            worker.QueueWatermark(c.wm);
            out.seq_of_call[i] =
                worker.watermarks_queued() > before ? static_cast<int64_t>(before) : -1;
            break;
          }
        }
        if (sync_every > 0 && (i + 1) % sync_every == 0) {
          EXPECT_OK(worker.Sync(&out.alerts));
          if (flush_on_worker) {
            capturing.Capture();
            worker.QueueFlush();
            worker.Publish();
            EXPECT_OK(worker.Sync(&out.alerts));
            EXPECT_OK(capturing.Replay());
          } else {
            EXPECT_OK(stage.Flush());
          }
          EXPECT_OK(store.Commit());
        }
      }
      EXPECT_OK(worker.Sync(&out.alerts));
    }
    EXPECT_OK(stage.Flush());
    EXPECT_OK(store.Commit());
    out.state = Dump(store, ClusterStageKeyPrefix(Options()));
    return out;
  }

  std::vector<ClusterCall> log_;
  std::map<std::string, std::string> reference_state_;
};

TEST_F(ClusterWorkerTest, SameAlertsInOrderTaggedWithTheirWatermarkAndSameState) {
  ASSERT_NO_FATAL_FAILURE(RunReference());
  ASSERT_GE(ClusterAlerts("fever_cluster").size(), 2u) << ::testing::PrintToString(AlertLines());
  ASSERT_EQ(ClusterAlerts("clinic_surge").size(), 1u);
  ASSERT_EQ(ReplayDirect(0), reference_state_);
  const std::map<std::string, std::string> checkpointed = ReplayDirect(97);
  for (size_t batch : {size_t{1}, size_t{3}, size_t{512}}) {
    for (auto [sync_every, on_worker] : {std::pair{size_t{0}, false}, std::pair{size_t{97}, false},
                                         std::pair{size_t{97}, true}}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + ", sync every " + std::to_string(sync_every) +
                   (on_worker ? ", flushed on the worker" : ""));
      const Replay r = ReplayThroughWorker(batch, sync_every, on_worker);
      ASSERT_EQ(r.alerts.size(), alerts_.size());
      for (size_t i = 0; i < alerts_.size(); ++i) EXPECT_EQ(Json(r.alerts[i].alert), Json(alerts_[i]));
      // Each alert carries the sequence number of the watermark call that
      // made it; a dropped call made none.
      size_t next = 0;
      for (size_t i = 0; i < log_.size(); ++i) {
        const ClusterCall& c = log_[i];
        if (c.kind != ClusterCall::kWatermark) continue;
        const int64_t seq = r.seq_of_call.at(i);
        if (seq < 0) {
          EXPECT_EQ(c.alerts_after, c.alerts_before) << "a dropped watermark call made alerts";
          continue;
        }
        for (size_t a = c.alerts_before; a < c.alerts_after; ++a, ++next) {
          ASSERT_LT(next, r.alerts.size());
          EXPECT_EQ(r.alerts[next].seq, static_cast<uint64_t>(seq));
        }
      }
      EXPECT_EQ(next, r.alerts.size());
      EXPECT_EQ(r.state, sync_every == 0 ? reference_state_ : checkpointed);
    }
  }
}

TEST_F(ClusterWorkerTest, RepeatedWatermarkWithNothingNewIsDroppedOtherwiseKept) {
  MemKvStore store;
  ClusterStage stage(Options(), &store);
  ASSERT_OK(stage.Open());
  ClusterWorker worker(&stage);
  worker.QueueWatermark(At(1));
  worker.QueueWatermark(At(1));
  EXPECT_EQ(worker.watermarks_queued(), 1u);
  ClusterRecord& r = worker.records()->Add();
  r.kind = ClusterRecordKind::kVenueScan;
  r.key = "v";
  r.ts = At(1);
  worker.RecordsAdded();
  worker.QueueWatermark(At(1));  // a timer of the scan may be due
  EXPECT_EQ(worker.watermarks_queued(), 2u);
  worker.QueueRegistration("", "c");
  worker.QueueWatermark(At(1));
  EXPECT_EQ(worker.watermarks_queued(), 3u);
  worker.QueueWatermark(At(2));
  EXPECT_EQ(worker.watermarks_queued(), 4u);
  std::vector<SequencedAlert> alerts;
  ASSERT_OK(worker.Sync(&alerts));
  EXPECT_TRUE(alerts.empty());
  EXPECT_EQ(stage.watermark(), At(2));
}

TEST_F(ClusterWorkerTest, FailedCallSurfacesAtSyncAndStopsTheWorker) {
  MemKvStore store;
  ClusterStage stage(Options(), &store);
  ASSERT_OK(stage.Open());
  ClusterWorker worker(&stage, 2);
  ClusterRecord& bad = worker.records()->Add();
  bad.kind = ClusterRecordKind::kCityCount;
  bad.key = "no_such_counter";
  worker.RecordsAdded();
  worker.QueueWatermark(At(1));
  std::vector<SequencedAlert> alerts;
  const Status st = worker.Sync(&alerts);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  // Later calls are dropped, the failure stays.
  worker.QueueWatermark(At(3));
  EXPECT_EQ(worker.Sync(&alerts).code(), StatusCode::kInvalidArgument);
  uint64_t done = 0;
  EXPECT_EQ(worker.Poll(&alerts, &done).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(stage.watermark(), kMinTimestamp);
}

TEST_F(ClusterWorkerTest, DestroyedWithQueuedCallsStopsCleanly) {
  MemKvStore store;
  ClusterStage stage(Options(), &store);
  ASSERT_OK(stage.Open());
  {
    ClusterWorker worker(&stage, 1);
    for (int i = 0; i < 1000; ++i) {
      ClusterRecord& r = worker.records()->Add();
      r.kind = ClusterRecordKind::kVenueScan;
      r.key = V(i % 7);
      r.ts = At(1) + i;
      worker.RecordsAdded();
      worker.QueueWatermark(At(1) + i);
    }
  }  // no Sync: the destructor joins without applying the rest
  SUCCEED();
}

}  // namespace
}  // namespace epistream
