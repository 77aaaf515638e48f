// The shipped Prometheus files pass promtool: config syntax (with its rule
// file), rule syntax, and the rule unit tests in alerts_test.yml; the Grafana
// dashboard is valid JSON that only queries epistream metrics the docs
// (config/README.md, config/OPERATIONS.md) describe.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <regex>
#include <set>
#include <string>

#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::RunProcess;
using ::epistream::testing::SourceDir;

constexpr char kPromtool[] = "/usr/bin/promtool";

class PrometheusConfigTest : public ::testing::Test {
 protected:
  // Runs promtool with `args`; its exit code, its output in *log.
  int Promtool(const std::vector<std::string>& args, std::string* log) {
    std::vector<std::string> argv = {kPromtool};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log_path = dir_.File("promtool.log");
    auto r = RunProcess(argv, log_path, 30);
    ::epistream::testing::ReadFile(log_path, log);
    return r.exit_code;
  }
  ::epistream::testing::TempDir dir_;
};

TEST_F(PrometheusConfigTest, ScrapeConfigIsValid) {
  std::string log;
  EXPECT_EQ(Promtool({"check", "config",
                      SourceDir() + "/config/prometheus/prometheus.yml"},
                     &log),
            0)
      << log;
  EXPECT_NE(log.find("SUCCESS: 1 rule files found"), std::string::npos) << log;
}

TEST_F(PrometheusConfigTest, AlertRulesAreValid) {
  std::string log;
  EXPECT_EQ(Promtool({"check", "rules",
                      SourceDir() + "/config/prometheus/alerts.yml"},
                     &log),
            0)
      << log;
  EXPECT_NE(log.find("SUCCESS: 6 rules found"), std::string::npos) << log;
}

TEST_F(PrometheusConfigTest, AlertRulesPassTheirUnitTests) {
  std::string log;
  EXPECT_EQ(Promtool({"test", "rules",
                      SourceDir() + "/config/prometheus/alerts_test.yml"},
                     &log),
            0)
      << log;
}

TEST_F(PrometheusConfigTest, BrokenRulesFail) {
  // promtool must be able to fail: an unknown function in an expression.
  const std::string bad = dir_.File("bad.yml");
  ASSERT_TRUE(::epistream::testing::WriteFile(
      bad,
      "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: "
      "nosuchfn(up)\n"));
  std::string log;
  EXPECT_NE(Promtool({"check", "rules", bad}, &log), 0) << log;
}

TEST_F(PrometheusConfigTest, DashboardIsJsonAndQueriesDocumentedMetrics) {
  std::string dashboard, readme, operations;
  ASSERT_TRUE(::epistream::testing::ReadFile(
      SourceDir() + "/config/grafana/epistream.json", &dashboard));
  ASSERT_TRUE(::epistream::testing::ReadFile(SourceDir() + "/config/README.md",
                                             &readme));
  ASSERT_TRUE(::epistream::testing::ReadFile(
      SourceDir() + "/config/OPERATIONS.md", &operations));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(dashboard).get(doc), simdjson::SUCCESS);
  simdjson::dom::array panels;
  ASSERT_EQ(doc["panels"].get(panels), simdjson::SUCCESS);
  EXPECT_GE(panels.size(), 20u);

  std::set<std::string> names;
  const std::regex metric(R"(epistream_[a-z0-9_]+)");
  for (auto it =
           std::sregex_iterator(dashboard.begin(), dashboard.end(), metric);
       it != std::sregex_iterator(); ++it) {
    std::string name = it->str();
    // Histogram series are documented under the histogram's name.
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          name.find("_seconds") != std::string::npos) {
        name.resize(name.size() - s.size());
      }
    }
    names.insert(name);
  }
  EXPECT_GE(names.size(), 20u);
  for (const std::string& name : names) {
    EXPECT_NE(readme.find("`" + name + "`"), std::string::npos)
        << name
        << " is on the dashboard but not in config/README.md's Metrics table";
    EXPECT_NE(operations.find("`" + name + "`"), std::string::npos)
        << name << " is on the dashboard but not in config/OPERATIONS.md";
  }
}

}  // namespace
}  // namespace epistream
