// Operations against a running engine, as operators run it: `epistream
// broker` and `epistream run --brokers ... --metrics-port P` as child
// processes, then
//   - every metric the Grafana dashboard and the alert rules query is in
//     its /metrics,
//   - /readyz turns 200, the /v1 queries answer with the token only,
//   - a real Prometheus (/usr/bin/prometheus) scrapes it and loads the
//     shipped alert rules.
// Everything listens on 127.0.0.1 at ports free when the suite starts.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/kafka_producer.h"
#include "tests/ops/ops_testing.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/child_process.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::ChildProcess;
using ::epistream::testing::Get;
using ::epistream::testing::SourceDir;
using ::epistream::testing::TempDir;
using namespace std::chrono_literals;

constexpr char kToken[] = "ops-test-token-5b1f";
constexpr char kPrometheus[] = "/usr/bin/prometheus";

// Polls `done` every 200 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return done();
}

// Sample names in Prometheus text ("name{...} v" or "name v"; no comments).
std::set<std::string> SampleNames(const std::string& text) {
  std::set<std::string> names;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text[start] != '#') {
      const size_t stop = text.find_first_of("{ ", start);
      if (stop != std::string::npos && stop < end)
        names.insert(text.substr(start, stop - start));
    }
    start = end + 1;
  }
  return names;
}

// epistream_* names a shipped file mentions.
std::set<std::string> MetricNamesIn(const std::string& path) {
  std::string text;
  EXPECT_TRUE(::epistream::testing::ReadFile(path, &text)) << path;
  std::set<std::string> names;
  const std::regex metric(R"(epistream_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), metric);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

class LiveEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    broker_ = new ChildProcess();
    engine_ = new ChildProcess();
    ASSERT_TRUE(dir_->ok());
    const std::string bin = ::epistream::testing::EngineBinary();
    ASSERT_TRUE(broker_->Start({bin, "broker", "--partitions", "2"},
                               dir_->File("broker.log")));
    const std::string line = broker_->WaitForLine("bootstrap.servers=", 20s);
    ASSERT_FALSE(line.empty()) << broker_->Log();
    *brokers_ = line.substr(std::string("bootstrap.servers=").size());

    // Input that makes every labelled family show a series: a listing and
    // an entry from the listed area (an alert), scans (watermark), a
    // duplicate and an unparsable message (dead letter).
    KafkaProducerOptions popts;
    popts.brokers = *brokers_;
    auto producer = KafkaProducer::Create(popts);
    ASSERT_OK(producer.status());
    KafkaProducer& p = **producer;
    ASSERT_OK(p.Produce(
        "epi.risk_areas", "420106",
        R"({"event_id":"ra-1","ts":"2022-09-18T00:00:00+08:00","region":"420106","level":"high"})"));
    ASSERT_OK(p.Produce(
        "epi.transport", "p-ops-1",
        R"({"event_id":"tr-1","ts":"2022-09-20T08:00:00+08:00","person_id":"p-ops-1","hub_id":"h-1","mode":"rail","origin_region":"420106"})"));
    for (int i = 0; i < 20; ++i) {
      const std::string person = "p-ops-" + std::to_string(10 + i);
      ASSERT_OK(p.Produce("epi.scans", person,
                          R"({"event_id":"sc-)" + std::to_string(i) +
                              R"(","ts":"2022-09-20T09:)" +
                              std::to_string(10 + i) +
                              R"(:00+08:00","person_id":")" + person +
                              R"(","venue_id":"v-1","code_color":"green"})"));
    }
    ASSERT_OK(p.Produce(
        "epi.scans", "p-ops-10",
        R"({"event_id":"sc-0","ts":"2022-09-20T09:10:00+08:00","person_id":"p-ops-10","venue_id":"v-1","code_color":"green"})"));
    ASSERT_OK(p.Produce("epi.scans", "p-ops-11", "{not json"));
    ASSERT_OK(p.Produce(
        "epi.fever", "p-ops-12",
        R"({"event_id":"fe-1","ts":"2022-09-20T10:00:00+08:00","person_id":"p-ops-12","clinic_id":"c-1","temp_c":38.2})"));
    ASSERT_OK(p.Flush(20000));

    ASSERT_TRUE(::epistream::testing::WriteFile(dir_->File("token"),
                                                std::string(kToken) + "\n"));
    const std::string config =
        "checkpoint:\n  interval: 200ms\n"
        "watermark:\n  idle_timeout: 2s\n"
        "kafka:\n  properties:\n    session.timeout.ms: \"6000\"\n"
        "    heartbeat.interval.ms: \"500\"\n"
        "http:\n  queries: true\n  token_file: \"" +
        dir_->File("token") + "\"\n";
    ASSERT_TRUE(
        ::epistream::testing::WriteFile(dir_->File("engine.yaml"), config));
    metrics_port_ = ::epistream::testing::FreePort();
    ASSERT_GT(metrics_port_, 0);
    ASSERT_TRUE(engine_->Start(
        {bin, "run", "--config", dir_->File("engine.yaml"), "--brokers",
         *brokers_, "--group", "ops-test", "--state", dir_->File("state"),
         "--metrics-port", std::to_string(metrics_port_)},
        dir_->File("engine.log")));
  }

  static void TearDownTestSuite() {
    // The engine stops cleanly on SIGTERM (exit 0) while the broker is up.
    if (engine_ != nullptr && engine_->running()) {
      EXPECT_EQ(engine_->Stop(SIGTERM, 20s), 0) << engine_->Log();
    }
    if (broker_ != nullptr && broker_->running()) broker_->Stop(SIGTERM, 10s);
    delete engine_;
    delete broker_;
    delete dir_;
    engine_ = nullptr;
    broker_ = nullptr;
    dir_ = nullptr;
  }

  // The engine's /metrics once its families have series from the input.
  static std::string AwaitMetrics() {
    std::string text;
    WaitFor(
        [&] {
          const auto r = Get(metrics_port_, "/metrics");
          text = r.body;
          return r.status == 200 &&
                 text.find("epistream_alerts_total{") != std::string::npos &&
                 text.find("epistream_deadletters_total{") !=
                     std::string::npos &&
                 text.find("epistream_consumer_lag{") != std::string::npos &&
                 text.find("epistream_duplicates_total 1") != std::string::npos;
        },
        45s);
    return text;
  }

  static TempDir* dir_;
  static ChildProcess* broker_;
  static ChildProcess* engine_;
  static std::string* brokers_;
  static int metrics_port_;
};

TempDir* LiveEngineTest::dir_ = nullptr;
ChildProcess* LiveEngineTest::broker_ = nullptr;
ChildProcess* LiveEngineTest::engine_ = nullptr;
std::string* LiveEngineTest::brokers_ = new std::string();
int LiveEngineTest::metrics_port_ = 0;

TEST_F(LiveEngineTest, EveryMetricTheDashboardAndAlertsQueryIsServed) {
  const std::string text = AwaitMetrics();
  ASSERT_NE(text.find("epistream_alerts_total{rule=\"returnee_risk_area\","
                      "severity=\"critical\"} 1"),
            std::string::npos)
      << text << engine_->Log();
  EXPECT_NE(text.find("epistream_deadletters_total{reason=\"bad_json\"} 1"),
            std::string::npos)
      << text;
  const std::set<std::string> served = SampleNames(text);
  std::set<std::string> queried =
      MetricNamesIn(SourceDir() + "/config/grafana/epistream.json");
  const std::set<std::string> in_rules =
      MetricNamesIn(SourceDir() + "/config/prometheus/alerts.yml");
  queried.insert(in_rules.begin(), in_rules.end());
  ASSERT_GE(queried.size(), 25u);
  for (const std::string& name : queried) {
    EXPECT_EQ(served.count(name), 1u) << name << " is queried but not served";
  }
  // No person id ever appears in the metrics.
  EXPECT_EQ(text.find("p-ops-"), std::string::npos);

  // Every family served is documented for operators.
  std::string readme, operations;
  ASSERT_TRUE(::epistream::testing::ReadFile(SourceDir() + "/config/README.md",
                                             &readme));
  ASSERT_TRUE(::epistream::testing::ReadFile(
      SourceDir() + "/config/OPERATIONS.md", &operations));
  size_t families = 0;
  for (std::string name : served) {
    for (const std::string suffix :
         {"_seconds_bucket", "_seconds_sum", "_seconds_count"}) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) ==
              0) {
        name.resize(name.size() - suffix.size() +
                    std::string("_seconds").size());
      }
    }
    if (name.rfind("epistream_", 0) != 0) continue;
    ++families;
    EXPECT_NE(readme.find("`" + name + "`"), std::string::npos)
        << name << " not in config/README.md";
    EXPECT_NE(operations.find("`" + name + "`"), std::string::npos)
        << name << " not in config/OPERATIONS.md";
  }
  EXPECT_GE(families, 24u);
}

TEST_F(LiveEngineTest, ReadyAndQueriesNeedTheToken) {
  ASSERT_TRUE(
      WaitFor([] { return Get(metrics_port_, "/readyz").status == 200; }, 45s))
      << Get(metrics_port_, "/readyz").body << engine_->Log();
  EXPECT_EQ(Get(metrics_port_, "/healthz").status, 200);
  EXPECT_EQ(::epistream::testing::ListeningAddresses(metrics_port_),
            std::set<std::string>{"127.0.0.1"});

  EXPECT_EQ(Get(metrics_port_, "/v1/persons/p-ops-1").status, 401);
  EXPECT_EQ(Get(metrics_port_, "/v1/clusters", "Bearer nope").status, 401);
  const std::string bearer = std::string("Bearer ") + kToken;
  ::epistream::testing::HttpResult person;
  ASSERT_TRUE(WaitFor(
      [&] {
        person = Get(metrics_port_, "/v1/persons/p-ops-1", bearer);
        return person.status == 200;
      },
      30s))
      << person.status << " " << person.body;
  EXPECT_NE(person.body.find("\"event_id\":\"tr-1\""), std::string::npos)
      << person.body;
  EXPECT_NE(person.body.find("\"area\":\"420106\",\"level\":\"high\""),
            std::string::npos)
      << person.body;
  EXPECT_EQ(Get(metrics_port_, "/v1/persons/nobody", bearer).status, 404);
  EXPECT_EQ(Get(metrics_port_, "/v1/clusters", bearer).status, 200);
}

TEST_F(LiveEngineTest, PrometheusScrapesTheEngineAndLoadsTheRules) {
  ASSERT_FALSE(AwaitMetrics().empty());
  const int prom_port = ::epistream::testing::FreePort();
  ASSERT_GT(prom_port, 0);
  const std::string config =
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      "rule_files:\n  - \"" +
      SourceDir() +
      "/config/prometheus/alerts.yml\"\n"
      "scrape_configs:\n  - job_name: epistream\n    static_configs:\n"
      "      - targets: [\"127.0.0.1:" +
      std::to_string(metrics_port_) + "\"]\n";
  ASSERT_TRUE(
      ::epistream::testing::WriteFile(dir_->File("prometheus.yml"), config));
  ChildProcess prometheus;
  ASSERT_TRUE(prometheus.Start(
      {kPrometheus, "--config.file=" + dir_->File("prometheus.yml"),
       "--storage.tsdb.path=" + dir_->File("tsdb"),
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
      dir_->File("prometheus.log")));

  // The sample is there once Prometheus has scraped the engine.
  simdjson::dom::parser parser;
  std::string body;
  const bool scraped = WaitFor(
      [&] {
        const auto r =
            Get(prom_port, "/api/v1/query?query=epistream_events_total");
        body = r.body;
        simdjson::dom::element doc;
        simdjson::dom::array result;
        return r.status == 200 &&
               parser.parse(body).get(doc) == simdjson::SUCCESS &&
               doc["data"]["result"].get(result) == simdjson::SUCCESS &&
               result.size() >= 3;
      },
      60s);
  ASSERT_TRUE(scraped) << body << "\n" << prometheus.Log();
  EXPECT_NE(body.find("\"job\":\"epistream\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"type\":\"scan\""), std::string::npos) << body;

  // The shipped rules load and evaluate without error against live data.
  std::string rules;
  const bool evaluated = WaitFor(
      [&] {
        const auto r = Get(prom_port, "/api/v1/rules");
        rules = r.body;
        simdjson::dom::element doc;
        simdjson::dom::array groups;
        if (r.status != 200 ||
            parser.parse(rules).get(doc) != simdjson::SUCCESS ||
            doc["data"]["groups"].get(groups) != simdjson::SUCCESS ||
            groups.size() != 1) {
          return false;
        }
        size_t ok = 0, total = 0;
        for (simdjson::dom::element g : groups) {
          simdjson::dom::array group_rules;
          if (g["rules"].get(group_rules) != simdjson::SUCCESS) return false;
          for (simdjson::dom::element rule : group_rules) {
            ++total;
            std::string_view health;
            if (rule["health"].get(health) == simdjson::SUCCESS &&
                health == "ok")
              ++ok;
          }
        }
        return total == 6 && ok == total;
      },
      30s);
  EXPECT_TRUE(evaluated) << rules;
  EXPECT_EQ(rules.find("\"health\":\"err\""), std::string::npos) << rules;
  // The engine is up, so EpistreamDown is not firing.
  const auto alerts = Get(prom_port, "/api/v1/alerts");
  EXPECT_EQ(alerts.status, 200);
  EXPECT_EQ(alerts.body.find("EpistreamDown"), std::string::npos)
      << alerts.body;
  EXPECT_EQ(prometheus.Stop(SIGTERM, 20s), 0) << prometheus.Log();
}

}  // namespace
}  // namespace epistream
