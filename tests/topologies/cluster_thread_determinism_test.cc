// engine.cluster_thread changes no output: a generated city run in file
// mode (person and cluster alerts in one file, so their interleaving is
// compared too) gives the same alerts and dead letters, byte for byte apart
// from emitted_at, with the cluster stage on its own thread and without,
// with checkpoints every few dozen lines, when stopped and resumed, and with
// the pipeline fed one record per call.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/assert_ok.h"
#include "tests/testing/generated_city.h"
#include "tests/testing/scenario.h"
#include "topologies/city_pipeline.h"
#include "topologies/file_runner.h"

namespace epistream {
namespace {

using testing::DirectPipeline;

class ClusterThreadDeterminismTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    city_ = new testing::GeneratedCityDir("epistream-cluster-thread",
                                          CityConfig{.persons = 3000, .days = 4, .seed = 11});
  }
  static void TearDownTestSuite() {
    delete city_;
    city_ = nullptr;
  }
  static std::string Input() { return city_->input(); }

  static EngineConfig Engine(bool cluster_thread) {
    EngineConfig engine;
    engine.cluster_thread = cluster_thread;
    engine.state.block_cache_bytes = 8 << 20;
    engine.state.write_buffer_bytes = 8 << 20;
    return engine;
  }

  using Output = testing::RunOutput;

  Output Run(const std::string& name, bool cluster_thread, uint64_t stop_after = 0,
             bool resume = false) {
    FileRunOptions o = testing::FileRunIn(city_->dir(), name, Input());
    o.batch_size = 41;
    o.stop_after = stop_after;
    o.engine = Engine(cluster_thread);
    return testing::RunFileAndRead(o, resume);
  }

  static size_t Count(const std::vector<std::string>& alerts, const std::string& rule) {
    size_t n = 0;
    for (const std::string& a : alerts) {
      if (a.find("\"rule\":\"" + rule + "\"") != std::string::npos) ++n;
    }
    return n;
  }

  static testing::GeneratedCityDir* city_;
};

testing::GeneratedCityDir* ClusterThreadDeterminismTest::city_ = nullptr;

TEST_F(ClusterThreadDeterminismTest, SameOutputWithAndWithoutTheClusterThread) {
  const Output off = Run("off", false);
  // Both stages' alerts are in the file, so their order is compared too.
  ASSERT_GE(Count(off.alerts, "fever_cluster") + Count(off.alerts, "clinic_surge"), 1u)
      << off.alerts.size() << " alerts";
  ASSERT_GE(Count(off.alerts, "returnee_risk_area"), 1u);
  const Output on = Run("on", true);
  EXPECT_EQ(on.alerts, off.alerts);
  EXPECT_EQ(on.deadletters, off.deadletters);
}

TEST_F(ClusterThreadDeterminismTest, StoppedAndResumedWithTheClusterThreadGivesTheSameOutput) {
  const Output off = Run("whole", false);
  const size_t lines = testing::ReadLines(Input()).size();
  Run("resumed", true, lines / 3);
  Run("resumed", true, 2 * lines / 3, /*resume=*/true);
  const Output resumed = Run("resumed", true, 0, /*resume=*/true);
  EXPECT_EQ(resumed.alerts, off.alerts);
  EXPECT_EQ(resumed.deadletters, off.deadletters);
}

// Driven directly: one record per OnMessage (each call applies what it
// queued on the calling thread: the worker idles) and records in calls of
// 2,000 (full batches go to the worker thread).
TEST_F(ClusterThreadDeterminismTest, OneRecordPerCallAndLargeCallsGiveTheSameAlerts) {
  const Output expected = Run("reference", false);
  const std::vector<std::string> lines = testing::ReadLines(Input());
  for (size_t per_call : {size_t{1}, size_t{2000}}) {
    SCOPED_TRACE(std::to_string(per_call) + " records per call");
    DirectPipeline direct(Engine(true));
    ASSERT_OK(direct.Start());
    ASSERT_OK(direct.Feed(lines, per_call, 1000));
    CityPipeline& pipeline = direct.pipeline;
    EXPECT_EQ(testing::WithoutEmittedAt(direct.alerts.lines), expected.alerts);
    if (per_call > 1) {
      EXPECT_GT(pipeline.cluster_cpu_seconds(), 0.0) << "the worker thread ran";
    }
  }
}

// A table load (a registration per record, no alert possible) never waits
// for the cluster thread: at a wait per record, loading a million persons
// took 45 s instead of 2. Events (which move the watermark) do.
TEST_F(ClusterThreadDeterminismTest, TableRecordsDoNotWaitForTheClusterThread) {
  DirectPipeline direct(Engine(true));
  ASSERT_OK(direct.Start());
  CityPipeline& pipeline = direct.pipeline;
  const std::vector<std::string> lines = testing::ReadLines(Input());
  auto is = [&](size_t i, const char* type) {
    return lines[i].find(std::string("\"type\":\"") + type + "\"") != std::string::npos;
  };
  auto feed = [&](size_t i) {
    return pipeline.OnMessage(lines[i], std::nullopt,
                              SourcePosition{"file", 0, static_cast<int64_t>(i)}, 0);
  };
  // The generated city starts with its risk areas, then its registry.
  size_t i = 0;
  for (; i < lines.size() && is(i, "risk_area"); ++i) ASSERT_OK(feed(i));
  const uint64_t waits = pipeline.cluster_waits();
  size_t persons = 0;
  for (; i < lines.size() && is(i, "person"); ++i, ++persons) ASSERT_OK(feed(i));
  ASSERT_EQ(persons, 3000u);
  EXPECT_EQ(pipeline.cluster_waits(), waits);
  for (size_t end = i + 200; i < end && i < lines.size(); ++i) ASSERT_OK(feed(i));
  EXPECT_GT(pipeline.cluster_waits(), waits) << "events move the watermark";
  ASSERT_OK(pipeline.Checkpoint());
}

}  // namespace
}  // namespace epistream
