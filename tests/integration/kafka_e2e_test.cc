// Kafka end to end on the embedded broker: the engine (a child process, as a
// user runs it) consumes a generated city from the contract's topics and its
// alerts must equal file mode's on the same events, exactly once, also when it
// is SIGKILLed again and again; kcat (a non-librdkafka-in-process client)
// reads them.
#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "bench/city/city_generator.h"
#include "engine/embedded_broker.h"
#include "engine/table_reader.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/child_process.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::ChildProcess;
using ::epistream::testing::TempDir;

constexpr int kPartitions = 4;
const std::vector<std::string> kEventTopics = {"epi.scans", "epi.transport", "epi.fever"};

std::string FieldOf(std::string_view line, std::string_view key) {
  const std::string pat = "\"" + std::string(key) + "\":\"";
  const size_t at = line.find(pat);
  if (at == std::string_view::npos) return {};
  const size_t start = at + pat.size();
  return std::string(line.substr(start, line.find('"', start) - start));
}

struct Record {
  std::string topic;
  std::string key;
  int32_t partition = RD_KAFKA_PARTITION_UA;  // explicit for sentinels
  std::string value;
};

// Empty if equal; else how many are missing and extra, with examples.
std::string DiffAlerts(const std::vector<std::string>& expected, const std::vector<std::string>& got) {
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(), std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(), std::back_inserter(extra));
  if (missing.empty() && extra.empty()) return {};
  std::string out = std::to_string(missing.size()) + " missing, " + std::to_string(extra.size()) +
                    " extra (of " + std::to_string(expected.size()) + " expected)\n";
  for (size_t i = 0; i < missing.size() && i < 3; ++i) out += "missing: " + missing[i].substr(0, 600) + "\n";
  for (size_t i = 0; i < extra.size() && i < 3; ++i) out += "extra:   " + extra[i].substr(0, 600) + "\n";
  return out;
}

class KafkaE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // The sample city's boosted rates make every person rule fire.
    CityConfig city = CityConfig::Sample();
    city.seed = 11;
    city.days = 6;
    const std::string events = dir_->path() + "/city.jsonl";
    ASSERT_OK(GenerateCityToFiles(city, events, dir_->path() + "/truth.json"));
    TimestampMs max_ts = 0;
    static const std::map<std::string, std::string> kTopicOf = {
        {"scan", "epi.scans"}, {"transport", "epi.transport"}, {"fever", "epi.fever"},
        {"risk_area", "epi.risk_areas"}, {"person", "epi.persons"}};
    std::string file_input;
    for (const std::string& line : ::epistream::testing::ReadLines(events)) {
      const std::string type = FieldOf(line, "type");
      auto topic = kTopicOf.find(type);
      ASSERT_NE(topic, kTopicOf.end()) << line;
      Record r{topic->second, type == "risk_area" ? FieldOf(line, "region") : FieldOf(line, "person_id"),
               RD_KAFKA_PARTITION_UA, line};
      if (auto ts = ParseRfc3339(FieldOf(line, "ts"))) max_ts = std::max(max_ts, *ts);
      records_->push_back(std::move(r));
      file_input += line + "\n";
    }
    // One event per topic-partition three days after the city's end: every
    // input partition moves the watermark past every timer, as file mode's
    // end of input does.
    const std::string sentinel_ts = FormatRfc3339(max_ts + 3 * kDayMs, 480);
    for (int t = 0; t < 3; ++t) {
      for (int p = 0; p < kPartitions; ++p) {
        const std::string person = "sentinel-" + std::to_string(t) + "-" + std::to_string(p);
        std::string v = "{\"event_id\":\"" + person + "\",\"ts\":\"" + sentinel_ts +
                        "\",\"person_id\":\"" + person + "\",";
        if (t == 0) v += "\"venue_id\":\"v-sentinel\",\"code_color\":\"green\"}";
        if (t == 1) v += "\"hub_id\":\"h-sentinel\",\"mode\":\"rail\",\"origin_region\":\"99\"}";
        if (t == 2) v += "\"clinic_id\":\"c-sentinel\",\"temp_c\":36.8}";
        static const char* kTypes[] = {"scan", "transport", "fever"};
        file_input += "{\"type\":\"" + std::string(kTypes[t]) + "\"," + v.substr(1) + "\n";
        records_->push_back(Record{kEventTopics[t], person, p, v});
      }
    }
    ASSERT_TRUE(::epistream::testing::WriteFile(dir_->path() + "/file_input.jsonl", file_input));
    auto run = ::epistream::testing::RunProcess(
        {::epistream::testing::EngineBinary(), "run", "--input", dir_->path() + "/file_input.jsonl",
         "--alerts", dir_->path() + "/expected.jsonl", "--deadletter", dir_->path() + "/dl.jsonl"},
        dir_->path() + "/file_run.log");
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    for (const std::string& a : ::epistream::testing::ReadLines(dir_->path() + "/expected.jsonl")) {
      expected_->push_back(::epistream::testing::WithoutEmittedAt(a));
    }
    std::sort(expected_->begin(), expected_->end());
    ASSERT_GT(expected_->size(), 20u) << "the city should raise alerts";
    const std::string config =
        // Checkpoints far apart: a kill then nearly always lands after alerts
        // went out and before the checkpoint that covers them, the case
        // exactly-once output has to get right.
        "checkpoint:\n  interval: 3s\n"
        "kafka:\n  properties:\n    session.timeout.ms: \"6000\"\n"
        "    heartbeat.interval.ms: \"500\"\n";
    ASSERT_TRUE(::epistream::testing::WriteFile(dir_->path() + "/engine.yaml", config));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static Status CreateTopics(EmbeddedBroker* broker) {
    for (const char* t : {"epi.scans", "epi.transport", "epi.fever", "epi.risk_areas", "epi.persons",
                          "epi.alerts.person", "epi.alerts.cluster", "epi.deadletter"}) {
      EPI_RETURN_IF_ERROR(broker->CreateTopic(t, kPartitions));
    }
    return Status::Ok();
  }

  // Produces the city with a plain librdkafka producer (Java-compatible key
  // partitioning, as producers in the field use).
  // Produces every record, spread evenly over `spread` (0: at once).
  static void Produce(const std::string& brokers,
                      std::chrono::milliseconds spread = std::chrono::milliseconds(0)) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
    ASSERT_EQ(rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof err), RD_KAFKA_CONF_OK);
    ASSERT_EQ(rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err), RD_KAFKA_CONF_OK);
    ASSERT_EQ(rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(rk, nullptr) << err;
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < records_->size(); ++i) {
      const Record& r = (*records_)[i];
      if (spread.count() > 0 && i % 500 == 0) {
        std::this_thread::sleep_until(start + spread * i / records_->size());
      }
      rd_kafka_resp_err_t e;
      while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(r.topic.c_str()),
                                    RD_KAFKA_V_PARTITION(r.partition),
                                    RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
                                    RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
             RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
      }
      ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
    }
    ASSERT_EQ(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
  }

  // Every alert in the topic now (emitted_at removed), sorted.
  static std::vector<std::string> ReadAlerts(const std::string& brokers) {
    TableReaderOptions opts;
    opts.brokers = brokers;
    opts.topics = {"epi.alerts.person", "epi.alerts.cluster"};
    std::vector<std::string> out;
    auto reader = TableReader::Open(opts);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return out;
    Status st = (*reader)->ReadToEnd(
        [&](const KafkaMessage& m) {
          out.push_back(::epistream::testing::WithoutEmittedAt(std::string(m.value)));
          return Status::Ok();
        },
        30000);
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::sort(out.begin(), out.end());
    return out;
  }

  // Waits until the topic holds at least `n` alerts and has not grown for 2 s.
  static std::vector<std::string> AwaitAlerts(const std::string& brokers, size_t n,
                                              std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::string> got;
    size_t last = SIZE_MAX;
    auto stable_since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      got = ReadAlerts(brokers);
      if (got.size() != last) {
        last = got.size();
        stable_since = std::chrono::steady_clock::now();
      } else if (got.size() >= n &&
                 std::chrono::steady_clock::now() - stable_since > std::chrono::seconds(2)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return got;
  }

  std::vector<std::string> EngineArgs(const std::string& brokers, const std::string& state) const {
    return {::epistream::testing::EngineBinary(), "run", "--config", dir_->path() + "/engine.yaml",
            "--brokers", brokers, "--group", "e2e", "--state", state, "--metrics-port", "0"};
  }

  static TempDir* dir_;
  static std::vector<Record>* records_;
  static std::vector<std::string>* expected_;
};

TempDir* KafkaE2ETest::dir_ = nullptr;
std::vector<Record>* KafkaE2ETest::records_ = new std::vector<Record>();
std::vector<std::string>* KafkaE2ETest::expected_ = new std::vector<std::string>();

TEST_F(KafkaE2ETest, AlertsEqualFileModeAndKcatReadsThem) {
  auto broker = EmbeddedBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  ASSERT_OK(CreateTopics(broker->get()));
  const std::string brokers = (*broker)->bootstrap_servers();
  ASSERT_NO_FATAL_FAILURE(Produce(brokers));

  ChildProcess engine;
  ASSERT_TRUE(engine.Start(EngineArgs(brokers, dir_->path() + "/state-e2e"), dir_->path() + "/e2e.log"));
  const std::vector<std::string> got = AwaitAlerts(brokers, expected_->size(), std::chrono::seconds(120));
  EXPECT_EQ(DiffAlerts(*expected_, got), "") << engine.Log().substr(0, 3000);

  // SIGTERM: checkpoint and exit 0 within 5 s.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(10)), 0) << engine.Log().substr(0, 4000);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  // Interop: kcat, a separate Kafka client, reads the same alerts.
  std::vector<std::string> via_kcat;
  for (const char* topic : {"epi.alerts.person", "epi.alerts.cluster"}) {
    auto kcat = ::epistream::testing::RunProcess(
        {"/usr/bin/kcat", "-b", brokers, "-C", "-t", topic, "-e", "-q", "-f", "%s\n"},
        dir_->path() + "/kcat.out", 60);
    ASSERT_EQ(kcat.exit_code, 0) << kcat.Describe();
    for (const std::string& l : ::epistream::testing::ReadLines(dir_->path() + "/kcat.out")) {
      via_kcat.push_back(::epistream::testing::WithoutEmittedAt(l));
    }
  }
  std::sort(via_kcat.begin(), via_kcat.end());
  EXPECT_EQ(DiffAlerts(*expected_, via_kcat), "");
}

TEST_F(KafkaE2ETest, SigkillLoopGivesEveryAlertExactlyOnce) {
  // The broker in its own process, as `epistream broker` runs for users.
  ChildProcess broker;
  ASSERT_TRUE(broker.Start({::epistream::testing::EngineBinary(), "broker", "--partitions",
                            std::to_string(kPartitions)},
                           dir_->path() + "/broker.log"));
  const std::string line = broker.WaitForLine("bootstrap.servers=", std::chrono::seconds(20));
  ASSERT_FALSE(line.empty()) << broker.Log();
  const std::string brokers = line.substr(std::string("bootstrap.servers=").size());
  // The city is produced while the engine runs and is killed, so kills land
  // mid-stream: between a checkpoint and the next, with alerts already out.
  std::thread producer([&] { Produce(brokers, std::chrono::seconds(60)); });

  const std::string state = dir_->path() + "/state-crash";
  std::mt19937 rng(20221129);
  constexpr int kKills = 5;
  for (int i = 0; i < kKills; ++i) {
    ChildProcess engine;
    ASSERT_TRUE(engine.Start(EngineArgs(brokers, state), dir_->path() + "/crash.log"));
    // Kill just after the engine has put out new alerts: with 3 s between
    // checkpoints that is almost surely before the checkpoint covering them,
    // so the restart must not emit them again.
    const size_t before = ReadAlerts(brokers).size();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(25);
    while (std::chrono::steady_clock::now() < deadline && ReadAlerts(brokers).size() <= before) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    const int code = engine.Stop(SIGKILL, std::chrono::seconds(10));
    EXPECT_EQ(code, 128 + SIGKILL) << engine.Log().substr(0, 3000);
  }
  producer.join();
  ChildProcess engine;
  ASSERT_TRUE(engine.Start(EngineArgs(brokers, state), dir_->path() + "/crash.log"));
  const std::vector<std::string> got = AwaitAlerts(brokers, expected_->size(), std::chrono::seconds(150));
  EXPECT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(10)), 0);
  const std::string log = engine.Log();
  size_t restarts = 0, recoveries = 0;
  for (size_t at = 0; (at = log.find("global tables loaded", at)) != std::string::npos; ++at) ++restarts;
  for (size_t at = 0; (at = log.find("recovery:", at)) != std::string::npos; ++at) ++recoveries;
  EXPECT_EQ(restarts, static_cast<size_t>(kKills + 1)) << log.substr(0, 3000);
  // Printed for the record: how many restarts found alerts written after
  // their checkpoint (and so had to suppress them).
  std::printf("restarts=%zu with_suppression=%zu alerts=%zu\n", restarts, recoveries, got.size());
  EXPECT_GE(recoveries, 1u) << "no kill landed between output and checkpoint: the test proved little";
  {
    std::ofstream dump(dir_->path() + "/got.jsonl");  // kept with EPISTREAM_KEEP_TMP=1
    for (const std::string& g : got) dump << g << "\n";
  }
  // Exactly once: the same multiset, so nothing missing and nothing doubled.
  // Person alerts byte for byte; cluster alerts by identity (alert_id, i.e.
  // cluster_id and version): their statistics read city-wide aggregates fed
  // by every partition, which a restart can see at a slightly different
  // moment in Kafka mode (file mode is byte-exact, see the scenario suite).
  auto project = [](const std::vector<std::string>& alerts) {
    std::vector<std::string> out;
    for (const std::string& a : alerts) {
      out.push_back(a.find("\"rule\":\"fever_cluster\"") != std::string::npos ||
                            a.find("\"rule\":\"clinic_surge\"") != std::string::npos
                        ? a.substr(0, a.find("\",\"rule\""))
                        : a);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(DiffAlerts(project(*expected_), project(got)), "");
  EXPECT_EQ(got.size(), expected_->size());
}

}  // namespace
}  // namespace epistream
