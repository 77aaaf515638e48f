// Look-ahead loading of person states (CityPipeline::OnMessages, operators/
// person_prefetcher.h) changes no output: a generated city run in file mode
// with a tiny person cache (every checkpoint evicts almost everyone, so most
// events need a stored state) and a checkpoint every few dozen lines (so
// asynchronous commits are in flight while states are read ahead) gives the
// same alerts and dead letters, byte for byte apart from emitted_at, with
// prefetching off and with look-ahead batches of 1, 3, 64 and 1024 records,
// and when stopped and resumed. CityPipeline driven directly shows the
// look-ahead is really used (states installed, events hitting the cache).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/generated_city.h"
#include "tests/testing/scenario.h"
#include "topologies/city_pipeline.h"
#include "topologies/file_runner.h"

namespace epistream {
namespace {

using testing::LineSink;

class PrefetchDeterminismTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    city_ = new testing::GeneratedCityDir("epistream-prefetch-det",
                                          CityConfig{.persons = 3000, .days = 4, .seed = 7});
  }
  static void TearDownTestSuite() {
    delete city_;
    city_ = nullptr;
  }
  static std::string Input() { return city_->input(); }

  // 20 decoded states; by default no encoded ones, so that misses read the
  // store and the look-ahead has work.
  static EngineConfig SmallEngine(uint64_t encoded_cache_bytes = 0) {
    EngineConfig engine;
    engine.state.cache_entries = 20;
    engine.state.encoded_cache_bytes = encoded_cache_bytes;
    engine.state.block_cache_bytes = 8 << 20;
    engine.state.write_buffer_bytes = 8 << 20;
    return engine;
  }

  using Output = testing::RunOutput;

  // One file-mode run into its own files and state.
  Output Run(const std::string& name, const PrefetchOptions& prefetch,
             uint64_t stop_after = 0, bool resume = false,
             const EngineConfig& engine = SmallEngine()) {
    FileRunOptions o = testing::FileRunIn(city_->dir(), name, Input());
    o.batch_size = 37;
    o.stop_after = stop_after;
    o.prefetch = prefetch;
    o.engine = engine;
    return testing::RunFileAndRead(o, resume);
  }

  static testing::GeneratedCityDir* city_;
};

testing::GeneratedCityDir* PrefetchDeterminismTest::city_ = nullptr;

PrefetchOptions Prefetch(bool enabled, size_t batch_records = 1024) {
  PrefetchOptions p;
  p.enabled = enabled;
  p.batch_records = batch_records;
  return p;
}

TEST_F(PrefetchDeterminismTest, SameOutputWhateverTheLookAhead) {
  const Output off = Run("off", Prefetch(false));
  ASSERT_GE(off.alerts.size(), 10u);  // enough findings to compare
  for (size_t batch : {1, 3, 64, 1024}) {
    const Output on = Run("on" + std::to_string(batch), Prefetch(true, batch));
    EXPECT_EQ(on.alerts, off.alerts) << "look-ahead of " << batch;
    EXPECT_EQ(on.deadletters, off.deadletters) << "look-ahead of " << batch;
  }
}

TEST_F(PrefetchDeterminismTest, StoppedAndResumedGivesTheSameOutput) {
  const Output off = Run("whole", Prefetch(false));
  const size_t lines = testing::ReadLines(Input()).size();
  Run("resumed", Prefetch(true, 64), lines / 3);
  const Output resumed = Run("resumed", Prefetch(true, 64), 0, /*resume=*/true);
  EXPECT_EQ(resumed.alerts, off.alerts);
  EXPECT_EQ(resumed.deadletters, off.deadletters);
}

TEST_F(PrefetchDeterminismTest, SameOutputWhateverTheEncodedCache) {
  const Output off = Run("no-encoded", Prefetch(false));
  ASSERT_GE(off.alerts.size(), 10u);
  // 16 KiB holds ~50 states of 3000 (its clock hand evicts on most
  // checkpoints, and the look-ahead fills in); 64 MiB holds them all.
  for (uint64_t bytes : {uint64_t{16} << 10, uint64_t{64} << 20}) {
    for (bool prefetch : {false, true}) {
      const std::string name =
          "encoded" + std::to_string(bytes) + (prefetch ? "-ahead" : "");
      const Output on = Run(name, Prefetch(prefetch, 64), 0, false, SmallEngine(bytes));
      EXPECT_EQ(on.alerts, off.alerts) << name;
      EXPECT_EQ(on.deadletters, off.deadletters) << name;
    }
  }
  // Stopped and resumed: the restarted process's encoded cache starts empty.
  const size_t lines = testing::ReadLines(Input()).size();
  Run("encoded-resumed", Prefetch(true, 64), lines / 3, false, SmallEngine(64 << 20));
  const Output resumed =
      Run("encoded-resumed", Prefetch(true, 64), 0, true, SmallEngine(64 << 20));
  EXPECT_EQ(resumed.alerts, off.alerts);
  EXPECT_EQ(resumed.deadletters, off.deadletters);
}

TEST_F(PrefetchDeterminismTest, PipelineUsesTheLookAhead) {
  const Output expected = Run("reference", Prefetch(false));
  const std::string state = city_->dir() + "/pipeline.state";
  const EngineConfig engine = SmallEngine();
  auto store = RocksKvStore::Open(state, engine.state);
  ASSERT_OK(store.status());
  (*store)->EnableAsyncCommit();
  LineSink alerts;
  LineSink dead;
  CityPipeline pipeline(engine, RulesConfig(), store->get(), &alerts, &alerts,
                        &dead, nullptr);
  pipeline.set_prefetch(Prefetch(true, 16));
  ASSERT_OK(pipeline.Open());
  ASSERT_OK(pipeline.AddPartition(0, std::nullopt, 0));
  const std::vector<std::string> lines = testing::ReadLines(Input());
  std::vector<PipelineRecord> records;
  for (size_t i = 0; i < lines.size(); ++i) {
    records.push_back({lines[i], std::nullopt,
                       SourcePosition{"file", 0, static_cast<int64_t>(i)}});
    if (records.size() == 37 || i + 1 == lines.size()) {
      ASSERT_OK(pipeline.OnMessages(records, 0));
      ASSERT_OK(pipeline.Checkpoint());
      records.clear();
    }
  }
  ASSERT_OK(pipeline.EndOfInput());
  ASSERT_OK(pipeline.Checkpoint());
  ASSERT_OK((*store)->Sync());
  EXPECT_EQ(testing::WithoutEmittedAt(alerts.lines), expected.alerts);
  const PrefetchCounters& c = pipeline.prefetch_counters();
  EXPECT_GT(c.installed, lines.size() / 4);
  EXPECT_EQ(c.failed, 0u);
  // Most events find their person cached although the cache keeps only 20
  // persons across checkpoints.
  EXPECT_GT(pipeline.cache_hits(), 4 * pipeline.cache_misses());
  store->reset();
  std::error_code ec;
  std::filesystem::remove_all(state, ec);
}

// The memory hints of OnMessages read each record's person before it is
// parsed: an empty record (a Kafka message without a value, data() null)
// or one cut short gets no hint, only its dead letter, in a small call and
// in one parsed ahead.
TEST_F(PrefetchDeterminismTest, HintsSkipEmptyAndBrokenRecords) {
  const std::vector<std::string> lines = testing::ReadLines(Input());
  ASSERT_GT(lines.size(), 3000u);
  for (size_t n : {size_t{40}, size_t{3000}}) {
    MemKvStore store;
    LineSink alerts;
    LineSink dead;
    CityPipeline pipeline(SmallEngine(), RulesConfig(), &store, &alerts, &alerts, &dead, nullptr);
    ASSERT_OK(pipeline.Open());
    ASSERT_OK(pipeline.AddPartition(0, std::nullopt, 0));
    std::vector<PipelineRecord> records;
    for (size_t i = 0; i < n; ++i) {
      std::string_view bytes = lines[i];
      if (i % 10 == 3) bytes = std::string_view();           // no value at all
      if (i % 10 == 7) bytes = bytes.substr(0, bytes.size() / 2);  // cut short
      records.push_back({bytes, std::nullopt, SourcePosition{"file", 0, static_cast<int64_t>(i)}});
    }
    ASSERT_OK(pipeline.OnMessages(records, 0));
    ASSERT_OK(pipeline.Checkpoint());
    EXPECT_GE(dead.lines.size(), n / 5) << n << " records";
  }
}

}  // namespace
}  // namespace epistream
