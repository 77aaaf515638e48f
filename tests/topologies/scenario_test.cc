// The data-driven scenario suite: every tests/scenarios/*.jsonl is run through
// the `epistream` binary in file mode and checked for
//   1. the expected alerts (rule, severity, person_id, ts), compared as sorted
//      lists: ordering among alerts is checked by the determinism tests;
//   2. the expected dead letters (multiset of reasons, plus offsets if given);
//   3. identical output for --batch-size 1, 7 and 1000 (minus emitted_at);
//   4. identical output when stopped (--stop-after) and resumed from --state;
//   5. unique alert ids that do not change with the input's path nor when
//      every input line is delivered twice.
// File format and the contract reading behind each scenario:
// tests/scenarios/README.md.
#include "tests/testing/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace epistream::testing {
namespace {

RunOptions WithBatchSize(int batch_size) {
  RunOptions o;
  o.batch_size = batch_size;
  return o;
}

RunOptions WithState(const std::string& dir,
                     std::optional<int> stop_after = std::nullopt) {
  RunOptions o;
  o.state_dir = dir;
  o.stop_after = stop_after;
  return o;
}

std::string FormatKeys(std::vector<AlertKey> keys) {
  std::sort(keys.begin(), keys.end());
  std::string out;
  for (const AlertKey& k : keys) out += k.ToString() + "\n";
  return out;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(LoadScenario(GetParam(), &scenario_, &error)) << error;
    ASSERT_TRUE(tmp_.ok()) << "cannot create a temporary directory under /tmp";
    input_ = tmp_.File("input.jsonl");
    ASSERT_TRUE(WriteFile(input_, JoinLines(scenario_.input_lines)));
  }

  std::string Trace() const {
    return scenario_.path + "\n  " + scenario_.name + "\n  " +
           scenario_.description;
  }

  // Runs the engine on `input` (default: the scenario's input) and asserts a
  // clean exit with both output files written.
  void Run(const std::string& prefix, const RunOptions& options, EngineRun* run,
           const std::string& input = "") {
    *run =
        RunEngine(input.empty() ? input_ : input, tmp_.path(), prefix, options);
    ASSERT_EQ(run->process.exit_code, 0) << run->process.Describe();
    ASSERT_TRUE(run->alerts_file_exists) << "no alerts file\n"
                                         << run->process.Describe();
    ASSERT_TRUE(run->deadletter_file_exists) << "no dead-letter file\n"
                                             << run->process.Describe();
  }

  // The uninterrupted run with default options, the reference of the
  // comparisons. Not cached across tests: dead letters name the input path.
  void BaseRun(EngineRun* run) { Run("base", {}, run); }

  Scenario scenario_;
  TempDir tmp_;
  std::string input_;
};

TEST_P(ScenarioTest, ProducesExpectedAlerts) {
  SCOPED_TRACE(Trace());
  EngineRun run;
  ASSERT_NO_FATAL_FAILURE(BaseRun(&run));
  std::vector<AlertKey> actual;
  for (const std::string& line : run.alerts) {
    ActualAlert a;
    std::string error;
    if (ParseAlert(line, &a, &error)) {
      actual.push_back(a.key);
    } else {
      ADD_FAILURE() << error;
    }
  }
  EXPECT_EQ(FormatKeys(scenario_.expected_alerts), FormatKeys(actual))
      << "expected (left) vs actual (right) alerts, sorted by ts, rule, person";
}

TEST_P(ScenarioTest, ProducesExpectedDeadLetters) {
  SCOPED_TRACE(Trace());
  EngineRun run;
  ASSERT_NO_FATAL_FAILURE(BaseRun(&run));
  std::vector<std::string> actual_reasons;
  std::set<std::pair<std::string, int64_t>> actual_pairs;
  for (const std::string& line : run.deadletters) {
    ActualDeadLetter d;
    std::string error;
    if (!ParseDeadLetter(line, &d, &error)) {
      ADD_FAILURE() << error;
      continue;
    }
    actual_reasons.push_back(d.reason);
    actual_pairs.insert({d.reason, d.offset});
    // The original bytes travel with the dead letter (CONTRACT.md section 3).
    ASSERT_GE(d.offset, 0);
    ASSERT_LT(d.offset, static_cast<int64_t>(scenario_.input_lines.size()))
        << line;
    EXPECT_TRUE(d.has_original) << line;
    EXPECT_EQ(d.original, scenario_.input_lines[static_cast<size_t>(d.offset)]);
  }
  std::vector<std::string> expected_reasons;
  for (const ExpectedDeadLetter& d : scenario_.expected_deadletters) {
    expected_reasons.push_back(d.reason);
    if (d.offset) {
      EXPECT_EQ(actual_pairs.count({d.reason, *d.offset}), 1u)
          << "no dead letter " << d.reason << " at offset " << *d.offset;
    }
  }
  std::sort(expected_reasons.begin(), expected_reasons.end());
  std::sort(actual_reasons.begin(), actual_reasons.end());
  EXPECT_EQ(JoinLines(expected_reasons), JoinLines(actual_reasons))
      << "expected (left) vs actual (right) dead-letter reasons";
}

TEST_P(ScenarioTest, SameOutputForAnyBatchSize) {
  SCOPED_TRACE(Trace());
  EngineRun reference;
  ASSERT_NO_FATAL_FAILURE(Run("batch1", WithBatchSize(1), &reference));
  const std::string alerts = JoinLines(WithoutEmittedAt(reference.alerts));
  const std::string dead = JoinLines(WithoutEmittedAt(reference.deadletters));
  for (int batch : {7, 1000}) {
    SCOPED_TRACE("--batch-size " + std::to_string(batch) +
                 " vs --batch-size 1");
    EngineRun run;
    ASSERT_NO_FATAL_FAILURE(
        Run("batch" + std::to_string(batch), WithBatchSize(batch), &run));
    EXPECT_EQ(alerts, JoinLines(WithoutEmittedAt(run.alerts)));
    EXPECT_EQ(dead, JoinLines(WithoutEmittedAt(run.deadletters)));
  }
}

TEST_P(ScenarioTest, StopAndResumeGivesSameOutput) {
  SCOPED_TRACE(Trace());
  EngineRun reference;
  ASSERT_NO_FATAL_FAILURE(BaseRun(&reference));
  const std::string alerts = JoinLines(WithoutEmittedAt(reference.alerts));
  const std::string dead = JoinLines(WithoutEmittedAt(reference.deadletters));
  const int n = static_cast<int>(scenario_.input_lines.size());
  std::set<int> stops = {n / 2, 1};
  for (int stop : stops) {
    if (stop <= 0 || stop >= n) continue;
    SCOPED_TRACE("--stop-after " + std::to_string(stop) + " of " +
                 std::to_string(n) + " lines, then resume");
    const std::string tag = std::to_string(stop);
    const std::string state = tmp_.SubDir("state" + tag);
    EngineRun first, second;
    ASSERT_NO_FATAL_FAILURE(Run("stop" + tag, WithState(state, stop), &first));
    ASSERT_NO_FATAL_FAILURE(Run("resume" + tag, WithState(state), &second));
    std::vector<std::string> all_alerts = first.alerts;
    all_alerts.insert(all_alerts.end(), second.alerts.begin(),
                      second.alerts.end());
    std::vector<std::string> all_dead = first.deadletters;
    all_dead.insert(all_dead.end(), second.deadletters.begin(),
                    second.deadletters.end());
    EXPECT_EQ(alerts, JoinLines(WithoutEmittedAt(all_alerts)))
        << "uninterrupted (left) vs stopped + resumed (right) alerts";
    EXPECT_EQ(dead, JoinLines(WithoutEmittedAt(all_dead)))
        << "uninterrupted (left) vs stopped + resumed (right) dead letters";
  }
}

TEST_P(ScenarioTest, AlertIdsAreUniqueAndStable) {
  SCOPED_TRACE(Trace());
  EngineRun run;
  ASSERT_NO_FATAL_FAILURE(BaseRun(&run));
  std::map<std::string, std::string> seen;  // alert_id -> line
  for (const std::string& line : run.alerts) {
    ActualAlert a;
    std::string error;
    if (!ParseAlert(line, &a, &error)) {
      ADD_FAILURE() << error;
      continue;
    }
    auto [it, inserted] = seen.emplace(a.alert_id, line);
    EXPECT_TRUE(inserted) << "alert_id " << a.alert_id << " used twice:\n  "
                          << it->second << "\n  " << line;
  }
  // The same input at another path is the same input: same alerts, same ids.
  const std::string elsewhere =
      tmp_.SubDir("elsewhere") + "/copy-of-input.jsonl";
  ASSERT_TRUE(WriteFile(elsewhere, JoinLines(scenario_.input_lines)));
  EngineRun copy;
  ASSERT_NO_FATAL_FAILURE(Run("copy", {}, &copy, elsewhere));
  EXPECT_EQ(JoinLines(WithoutEmittedAt(run.alerts)),
            JoinLines(WithoutEmittedAt(copy.alerts)))
      << "input at " << input_ << " (left) vs " << elsewhere << " (right)";
}

TEST_P(ScenarioTest, RepeatedInputLinesGiveSameAlerts) {
  SCOPED_TRACE(Trace());
  EngineRun run;
  ASSERT_NO_FATAL_FAILURE(BaseRun(&run));
  // Every line delivered twice in a row, as an at-least-once producer may:
  // each repeat is a duplicate (type, event_id), or a table record applied
  // again, and must not produce a second alert or change an alert_id.
  std::vector<std::string> doubled;
  for (const std::string& line : scenario_.input_lines) {
    doubled.push_back(line);
    doubled.push_back(line);
  }
  const std::string input = tmp_.File("doubled.jsonl");
  ASSERT_TRUE(WriteFile(input, JoinLines(doubled)));
  EngineRun twice;
  ASSERT_NO_FATAL_FAILURE(Run("doubled", {}, &twice, input));
  EXPECT_EQ(JoinLines(WithoutEmittedAt(run.alerts)),
            JoinLines(WithoutEmittedAt(twice.alerts)))
      << "input once (left) vs every line twice (right)";
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioTest,
                         ::testing::ValuesIn(ListScenarioFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return ScenarioTestName(info.param);
                         });

// Guards the suite itself: the glob found the files, each one parses, and the
// names are distinct (a silently empty suite would pass).
TEST(ScenarioSuiteTest, AllScenarioFilesLoad) {
  const std::vector<std::string> files = ListScenarioFiles();
  EXPECT_GE(files.size(), 12u)
      << "scenario files in " << SourceDir() << "/tests/scenarios";
  std::set<std::string> names;
  for (const std::string& f : files) {
    Scenario s;
    std::string error;
    EXPECT_TRUE(LoadScenario(f, &s, &error)) << error;
    EXPECT_FALSE(s.description.empty()) << f << ": no `# description:` header";
    EXPECT_TRUE(names.insert(s.name).second)
        << f << ": duplicate name " << s.name;
  }
}

TEST(ScenarioSuiteTest, LoaderRejectsFileWithoutExpectMarker) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::string path = tmp.File("99_broken.jsonl");
  ASSERT_TRUE(WriteFile(path, "# name: broken\n{\"type\":\"scan\"}\n"));
  Scenario s;
  std::string error;
  EXPECT_FALSE(LoadScenario(path, &s, &error));
  EXPECT_NE(error.find("# expect"), std::string::npos) << error;
}

TEST(ScenarioSuiteTest, LoaderSplitsInputAndExpectations) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::string path = tmp.File("98_tiny.jsonl");
  ASSERT_TRUE(WriteFile(
      path,
      "# name: tiny\n# description: two lines\n# a comment\n"
      "{\"a\":1}\n\n{\"b\":2}\n# expect\n"
      "{\"rule\":\"r\",\"severity\":\"warning\",\"person_id\":\"p\","
      "\"ts\":\"2022-09-20T08:00:00.000+08:00\"}\n"
      "{\"rule\":\"r\",\"severity\":\"critical\",\"person_id\":\"p\","
      "\"ts\":1663632000000}\n"
      "# expect-deadletters\n{\"reason\":\"too_late\",\"offset\":1}\n"));
  Scenario s;
  std::string error;
  ASSERT_TRUE(LoadScenario(path, &s, &error)) << error;
  EXPECT_EQ(s.name, "tiny");
  EXPECT_EQ(s.description, "two lines");
  EXPECT_EQ(s.input_lines,
            (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
  ASSERT_EQ(s.expected_alerts.size(), 2u);
  EXPECT_EQ(s.expected_alerts[0].ts, 1663632000000);  // 2022-09-20T08:00+08:00
  EXPECT_EQ(s.expected_alerts[1].ts, 1663632000000);
  ASSERT_EQ(s.expected_deadletters.size(), 1u);
  EXPECT_EQ(s.expected_deadletters[0].reason, "too_late");
  EXPECT_EQ(s.expected_deadletters[0].offset, 1);
}

TEST(ScenarioSuiteTest, WithoutEmittedAtDropsOnlyThatField) {
  EXPECT_EQ(
      WithoutEmittedAt(
          R"({"alert_id":"a1","emitted_at":"2024-01-01T00:00:00.000Z","ts":"x","evidence":[{"emitted_at":1}]})"),
      R"({"alert_id":"a1","ts":"x","evidence":[{"emitted_at":1}]})");
  EXPECT_EQ(WithoutEmittedAt(R"({"b":1, "emitted_at" : "t"})"), R"({"b":1})");
  EXPECT_EQ(WithoutEmittedAt("not json"), "not json");
}

}  // namespace
}  // namespace epistream::testing
