// Kafka end to end on the embedded broker: the engine (a child process, as a
// user runs it) consumes a generated city from the contract's topics and its
// alerts must equal file mode's on the same events, exactly once, also when it
// is SIGKILLed again and again; kcat (a non-librdkafka-in-process client)
// reads them.
#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <algorithm>
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

class KafkaE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    CityConfig city;
    city.persons = 3000;
    city.days = 5;
    city.seed = 11;
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
        "checkpoint:\n  interval: 200ms\n"
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
  static void Produce(const std::string& brokers) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
    ASSERT_EQ(rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof err), RD_KAFKA_CONF_OK);
    ASSERT_EQ(rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err), RD_KAFKA_CONF_OK);
    ASSERT_EQ(rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(rk, nullptr) << err;
    for (const Record& r : *records_) {
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
    opts.topics = {"epi.alerts.person"};
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
  EXPECT_EQ(got, *expected_) << engine.Log().substr(0, 4000);

  // SIGTERM: checkpoint and exit 0 within 5 s.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(10)), 0) << engine.Log().substr(0, 4000);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  // Interop: kcat, a separate Kafka client, reads the same alerts.
  auto kcat = ::epistream::testing::RunProcess(
      {"/usr/bin/kcat", "-b", brokers, "-C", "-t", "epi.alerts.person", "-e", "-q", "-f", "%s\n"},
      dir_->path() + "/kcat.out", 60);
  ASSERT_EQ(kcat.exit_code, 0) << kcat.Describe();
  std::vector<std::string> via_kcat;
  for (const std::string& l : ::epistream::testing::ReadLines(dir_->path() + "/kcat.out")) {
    via_kcat.push_back(::epistream::testing::WithoutEmittedAt(l));
  }
  std::sort(via_kcat.begin(), via_kcat.end());
  EXPECT_EQ(via_kcat, *expected_);
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
  ASSERT_NO_FATAL_FAILURE(Produce(brokers));

  const std::string state = dir_->path() + "/state-crash";
  std::mt19937 rng(20221129);
  constexpr int kKills = 5;
  for (int i = 0; i < kKills; ++i) {
    ChildProcess engine;
    ASSERT_TRUE(engine.Start(EngineArgs(brokers, state), dir_->path() + "/crash.log"));
    // Kill once a growing share of the alerts is out (mid-stream), plus a
    // random delay, or after 20 s if the engine is still joining the group.
    const size_t target = expected_->size() * (i + 1) / (kKills + 2);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && ReadAlerts(brokers).size() < target) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    EXPECT_EQ(engine.Stop(SIGKILL, std::chrono::seconds(10)), 128 + SIGKILL);
  }
  ChildProcess engine;
  ASSERT_TRUE(engine.Start(EngineArgs(brokers, state), dir_->path() + "/crash.log"));
  const std::vector<std::string> got = AwaitAlerts(brokers, expected_->size(), std::chrono::seconds(150));
  EXPECT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(10)), 0);
  // Exactly once: the same multiset, so nothing missing and nothing doubled.
  std::vector<std::string> missing, extra;
  std::set_difference(expected_->begin(), expected_->end(), got.begin(), got.end(), std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected_->begin(), expected_->end(), std::back_inserter(extra));
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing, e.g. " << (missing.empty() ? "" : missing[0]);
  EXPECT_TRUE(extra.empty()) << extra.size() << " extra, e.g. " << (extra.empty() ? "" : extra[0]);
  EXPECT_EQ(got.size(), expected_->size());
}

}  // namespace
}  // namespace epistream
