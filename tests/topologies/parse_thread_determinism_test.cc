// engine.parse_thread changes no output: a generated city, with bad records
// mixed in, run in file mode gives the same alerts and dead letters, byte
// for byte apart from emitted_at, with records parsed ahead on a helper
// thread and parsed on the stage thread; also with a person cache small
// enough that states are loaded ahead too (both helpers at once), and with
// calls of every size around the parse batch.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/assert_ok.h"
#include "tests/testing/generated_city.h"
#include "tests/testing/scenario.h"
#include "topologies/city_pipeline.h"
#include "topologies/file_runner.h"

namespace epistream {
namespace {

class ParseThreadDeterminismTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    city_ = new testing::GeneratedCityDir("epistream-parse-thread",
                                          CityConfig{.persons = 3000, .days = 3, .seed = 23});
    // Bad records every 997 lines: each dead-letter reason path goes
    // through the helper thread too.
    const std::vector<std::string> lines = testing::ReadLines(city_->input());
    const std::vector<std::string> bad = {
        "{not json",
        R"({"type":"scan","event_id":"x1","ts":"2022-09-20T08:00:00+08:00"})",
        R"({"type":"fever","event_id":"x2","ts":"2022-09-20T08:00:00+08:00","person_id":"P1","clinic_id":"c","temp_c":99})",
        R"({"type":"teleport","event_id":"x3"})",
        "",
    };
    std::ofstream out(Input());
    for (size_t i = 0; i < lines.size(); ++i) {
      out << lines[i] << '\n';
      if (i % 997 == 996) out << bad[(i / 997) % bad.size()] << '\n';
    }
  }
  static void TearDownTestSuite() {
    delete city_;
    city_ = nullptr;
  }
  static std::string Input() { return city_->dir() + "/mixed.jsonl"; }

  static EngineConfig Engine(bool parse_thread, size_t cache_entries) {
    EngineConfig engine;
    engine.parse_thread = parse_thread;
    engine.state.cache_entries = cache_entries;
    engine.state.encoded_cache_bytes = 0;
    engine.state.block_cache_bytes = 8 << 20;
    engine.state.write_buffer_bytes = 8 << 20;
    return engine;
  }

  using Output = testing::RunOutput;

  Output Run(const std::string& name, bool parse_thread, size_t cache_entries) {
    FileRunOptions o = testing::FileRunIn(city_->dir(), name, Input());
    o.batch_size = 5000;  // calls of up to 5,000 records: parse batches of 1,024
    o.engine = Engine(parse_thread, cache_entries);
    return testing::RunFileAndRead(o);
  }

  static testing::GeneratedCityDir* city_;
};

testing::GeneratedCityDir* ParseThreadDeterminismTest::city_ = nullptr;

TEST_F(ParseThreadDeterminismTest, SameOutputWithAndWithoutTheParseThread) {
  const Output off = Run("off", false, 50000);
  ASSERT_GE(off.alerts.size(), 10u);
  ASSERT_GE(off.deadletters.size(), 10u);
  const Output on = Run("on", true, 50000);
  EXPECT_EQ(on.alerts, off.alerts);
  EXPECT_EQ(on.deadletters, off.deadletters);
  // A cache of 300 persons: states are loaded ahead as records are parsed
  // ahead, both on helper threads, during the same calls.
  const Output small = Run("small", true, 300);
  EXPECT_EQ(small.alerts, off.alerts);
  EXPECT_EQ(small.deadletters, off.deadletters);
}

// Driven directly on an in-memory store (no loading ahead), in calls of
// sizes around the parse batch (CityPipeline::kParseOnlyStep): a call's
// first batch is parsed on the stage thread, the rest on the helper, and a
// last batch may be short.
TEST_F(ParseThreadDeterminismTest, CallsOfAnySizeGiveTheSameAlerts) {
  const Output expected = Run("reference", false, 50000);
  const std::vector<std::string> lines = testing::ReadLines(Input());
  auto direct = [&](bool parse_thread, size_t per_call, double* parse_cpu) {
    testing::DirectPipeline direct(Engine(parse_thread, 50000));
    EXPECT_OK(direct.Start());
    EXPECT_OK(direct.Feed(lines, per_call, 0));
    *parse_cpu = direct.pipeline.parse_cpu_seconds();
    return Output{testing::WithoutEmittedAt(direct.alerts.lines), direct.dead.lines};
  };
  double unused = 0;
  const Output inline_parsed = direct(false, 7000, &unused);
  EXPECT_EQ(inline_parsed.alerts, expected.alerts);
  EXPECT_EQ(inline_parsed.deadletters.size(), expected.deadletters.size());
  constexpr size_t kStep = CityPipeline::kParseOnlyStep;
  for (size_t per_call : {kStep, kStep + 1, size_t{1024}, size_t{2500}, size_t{7000}}) {
    SCOPED_TRACE(std::to_string(per_call) + " records per call");
    double parse_cpu = 0;
    const Output out = direct(true, per_call, &parse_cpu);
    EXPECT_EQ(out.alerts, inline_parsed.alerts);
    EXPECT_EQ(out.deadletters, inline_parsed.deadletters);
    if (per_call > kStep) {
      EXPECT_GT(parse_cpu, 0.0) << "the parse thread ran";
    } else {
      EXPECT_EQ(parse_cpu, 0.0) << "one batch per call: parsed on the stage thread";
    }
  }
}

}  // namespace
}  // namespace epistream
