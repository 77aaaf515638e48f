// A flood of malformed input through Kafka (CONTRACT.md section 7: never a
// crash, never a silent drop). Over 100 000 bad messages of every kind the
// contract names (invalid UTF-8, deep nesting, huge numbers, a 10 MB message,
// NUL bytes, duplicate keys, wrong types, empty values and ids, missing
// fields, non-objects, > 64 KiB messages) are interleaved with good events on
// the three event topics, some of those with an empty or no Kafka key. The
// engine (`epistream run --brokers ...`, a child process) must stay up, count
// every bad message in /metrics under its reason, dead-letter each one in
// epi.deadletter, count duplicates without dead-lettering them, and emit the
// good events' alerts, exactly.
//
// The embedded broker keeps at most 5 MiB of (compressed) batches per
// partition, a ring (engine/embedded_broker.h): the flood is produced with
// lz4 over enough partitions to fit, and the 10 MB message (sent
// uncompressed) goes last to a partition of its own, so the batches it
// displaces were already consumed.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/embedded_broker.h"
#include "engine/event_time.h"
#include "tests/reliability/reliability_util.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/child_process.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::ChildProcess;
using ::epistream::testing::TempDir;

constexpr int kEventPartitions = 6;
constexpr int kDeadletterPartitions = 16;
const char* const kTopics[] = {"epi.scans", "epi.transport", "epi.fever"};

std::string Ts(int i) {  // spread over one hour, seconds resolution
  char buf[64];
  std::snprintf(buf, sizeof buf, "2022-09-20T08:%02d:%02d.%03d+08:00", (i / 60) % 60, i % 60,
                i % 1000);
  return buf;
}

struct Message {
  int topic = 0;  // index into kTopics
  int partition = -1;  // good events: by person, as keyed producers do
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::string reason;  // expected dead-letter reason; empty for a good event
  bool duplicate = false;
};

class MalformedFloodTest : public ::testing::Test {
 protected:
  // Good events: returnees from a listed area (returnee_risk_area), red codes
  // at markets (abnormal_code_at_venue), green scans and plain fever visits
  // (no alert). Persons never overlap between kinds, so no alert depends on
  // the order of topics.
  void AddGood() {
    for (int i = 0; i < 1000; ++i) {
      const std::string p = "ret-" + std::to_string(i);
      Good(1, p, p,
           "{\"event_id\":\"t-" + std::to_string(i) + "\",\"ts\":\"" + Ts(i) + "\",\"person_id\":\"" + p +
               "\",\"hub_id\":\"hub-1\",\"mode\":\"rail\",\"origin_region\":\"420106\"}");
      expected_alerts_.insert("returnee_risk_area/critical/" + p);
    }
    for (int i = 0; i < 1000; ++i) {
      const std::string p = "red-" + std::to_string(i);
      Good(0, p, p,
           "{\"event_id\":\"s-red-" + std::to_string(i) + "\",\"ts\":\"" + Ts(i) + "\",\"person_id\":\"" +
               p + "\",\"venue_id\":\"v-" + std::to_string(i % 50) +
               "\",\"code_color\":\"red\",\"venue_kind\":\"market\"}");
      expected_alerts_.insert("abnormal_code_at_venue/critical/" + p);
    }
    for (int i = 0; i < 2000; ++i) {
      const std::string p = "green-" + std::to_string(i);
      std::optional<std::string> key = p;
      if (i % 10 == 0) key = std::string();  // empty Kafka key
      if (i % 10 == 1) key = std::nullopt;   // no Kafka key
      Good(0, p, key,
           "{\"event_id\":\"s-g-" + std::to_string(i) + "\",\"ts\":\"" + Ts(i) + "\",\"person_id\":\"" + p +
               "\",\"venue_id\":\"v-" + std::to_string(i % 50) + "\",\"code_color\":\"green\"}");
    }
    for (int i = 0; i < 1000; ++i) {
      const std::string p = "fev-" + std::to_string(i);
      // An empty JSON key and unknown fields are ignored, not errors.
      Good(2, p, p,
           "{\"event_id\":\"f-" + std::to_string(i) + "\",\"ts\":\"" + Ts(i) + "\",\"person_id\":\"" + p +
               "\",\"clinic_id\":\"c-1\",\"temp_c\":37.2,\"\":1,\"extra\":{\"n\":[1,2,{\"\":null}]}}");
    }
  }

  // A person's events share a partition (its state lives there), as a
  // producer keying by person id gives; the partition is chosen here because
  // some of these records have an empty key or none.
  void Good(int topic, const std::string& person, std::optional<std::string> key, std::string value) {
    const int partition = static_cast<int>(std::hash<std::string>()(person) % (kEventPartitions - 1));
    good_.push_back({topic, partition, std::move(key), std::move(value), "", false});
    ++good_by_type_[topic];
  }

  // Bad messages: ~100 000 of 11 kinds, each with the reason the parser's
  // first-fault order gives (operators/event_parser.h).
  void AddBad() {
    int n = 0;
    auto bad = [&](int topic, std::string value, std::string reason) {
      bad_.push_back({topic, -1, "bad-" + std::to_string(n++), std::move(value), std::move(reason), false});
    };
    auto scan_prefix = [](int i) {
      return "{\"event_id\":\"b-" + std::to_string(i) + "\",\"ts\":\"" + Ts(i) + "\",\"person_id\":\"bp-" +
             std::to_string(i) + "\"";
    };
    // Invalid UTF-8: a stray continuation, a truncated sequence, an overlong
    // encoding, a UTF-16 surrogate -- in a value and in a key.
    const char* const kInvalidUtf8[] = {"\x80", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xff\xfe"};
    for (int i = 0; i < 15000; ++i) {
      const std::string junk = kInvalidUtf8[i % 5];
      std::string v = i % 2 == 0 ? scan_prefix(i) + ",\"venue_id\":\"v" + junk + "\",\"code_color\":\"red\"}"
                                 : scan_prefix(i) + ",\"x" + junk + "\":1,\"venue_id\":\"v\",\"code_color\":\"red\"}";
      bad(0, std::move(v), "bad_json");
    }
    // Deep nesting in an ignored field: 65..264 levels (over the limit of
    // 64), and every 100th one 5 000 levels.
    for (int i = 0; i < 10000; ++i) {
      const int depth = i % 100 == 0 ? 5000 : 65 + i % 200;
      std::string nest;
      for (int d = 0; d < depth; ++d) nest += (d % 2 == 0) ? "[" : "{\"a\":";
      nest += "0";
      for (int d = depth - 1; d >= 0; --d) nest += (d % 2 == 0) ? "]" : "}";
      bad(2, "{\"event_id\":\"b\",\"deep\":" + nest + "}", "bad_json");
    }
    // Huge numbers in fields that are read.
    const std::string kHugeInt = "1" + std::string(400, '0');
    for (int i = 0; i < 15000; ++i) {
      const std::string fever = "{\"event_id\":\"b-" + std::to_string(i) + "\",\"ts\":\"" + Ts(i) +
                                "\",\"person_id\":\"bp\",\"clinic_id\":\"c\",\"temp_c\":";
      switch (i % 3) {
        case 0: bad(2, fever + kHugeInt + "}", "out_of_range:temp_c"); break;
        case 1: bad(2, fever + "1e999}", "out_of_range:temp_c"); break;
        default:
          bad(2, "{\"event_id\":\"b\",\"ts\":" + kHugeInt + ",\"person_id\":\"bp\"}", "bad_timestamp");
      }
    }
    // NUL bytes: raw, inside a string and between tokens.
    for (int i = 0; i < 10000; ++i) {
      std::string v = scan_prefix(i) + ",\"venue_id\":\"v\",\"code_color\":\"red\"}";
      v.insert(i % 2 == 0 ? 5 : v.size() - 1, 1, '\0');
      bad(0, std::move(v), "bad_json");
    }
    // Duplicate keys, of a read field and of an ignored one.
    for (int i = 0; i < 10000; ++i) {
      bad(0, i % 2 == 0 ? scan_prefix(i) + ",\"venue_id\":\"v\",\"venue_id\":\"w\",\"code_color\":\"red\"}"
                        : scan_prefix(i) + ",\"z\":1,\"venue_id\":\"v\",\"z\":2,\"code_color\":\"red\"}",
          "bad_json");
    }
    // Wrong JSON types.
    for (int i = 0; i < 20000; ++i) {
      switch (i % 4) {
        case 0: bad(0, scan_prefix(i) + ",\"venue_id\":5,\"code_color\":\"red\"}", "bad_type:venue_id"); break;
        case 1:
          bad(2, "{\"event_id\":\"b\",\"ts\":1663632000000,\"person_id\":\"bp\",\"clinic_id\":\"c\",\"temp_c\":\"38\"}",
              "bad_type:temp_c");
          break;
        case 2:
          bad(1, "{\"event_id\":\"b\",\"ts\":1663632000000,\"person_id\":{},\"hub_id\":\"h\"}",
              "bad_type:person_id");
          break;
        default:
          bad(1, "{\"event_id\":\"b\",\"ts\":1663632000000,\"person_id\":\"bp\",\"hub_id\":\"h\",\"mode\":\"air\","
                 "\"origin_region\":\"42\",\"trip_regions\":\"4201\"}",
              "bad_type:trip_regions");
      }
    }
    // Empty messages: no value, zero bytes, whitespace.
    for (int i = 0; i < 5000; ++i) {
      bad_.push_back({i % 3, -1, i % 2 == 0 ? std::optional<std::string>() : std::string(),
                      i % 3 == 0 ? std::optional<std::string>() : std::string(i % 3 == 1 ? "" : " \n"),
                      "bad_json", false});
    }
    // Empty ids.
    for (int i = 0; i < 5000; ++i) {
      bad(0, "{\"event_id\":\"b\",\"ts\":\"" + Ts(i) + "\",\"person_id\":\"\",\"venue_id\":\"v\",\"code_color\":\"red\"}",
          "out_of_range:person_id");
    }
    // Missing fields.
    for (int i = 0; i < 5000; ++i) {
      bad(0, scan_prefix(i) + ",\"code_color\":\"red\"}", "missing_field:venue_id");
    }
    // Not one object.
    const char* const kNotObjects[] = {"[1,2]", "\"scan\"", "{\"a\":1} {\"b\":2}", "{\"a\":1", "null", "42"};
    for (int i = 0; i < 5000; ++i) bad(i % 3, kNotObjects[i % 6], "bad_json");
    // Over 64 KiB (valid JSON otherwise).
    for (int i = 0; i < 50; ++i) {
      bad(i % 3, scan_prefix(i) + ",\"pad\":\"" + std::string(70 * 1024, 'x') + "\"}", "too_large");
    }
  }

  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    AddGood();
    AddBad();
    // Duplicates of good events: counted, not dead-lettered.
    for (int i = 0; i < 500; ++i) {
      Message d = good_[static_cast<size_t>(i * 7)];
      d.duplicate = true;
      duplicates_.push_back(d);
      ++duplicates_by_type_[d.topic];
    }
    ASSERT_GE(bad_.size(), 100000u);
  }

  TempDir dir_;
  std::vector<Message> good_, bad_, duplicates_;
  std::map<int, int> good_by_type_, duplicates_by_type_;
  std::set<std::string> expected_alerts_;
};

TEST_F(MalformedFloodTest, EngineSurvivesCountsAndDeadLettersEveryBadMessage) {
  auto broker = EmbeddedBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  for (const char* t : kTopics) ASSERT_OK((*broker)->CreateTopic(t, kEventPartitions));
  ASSERT_OK((*broker)->CreateTopic("epi.risk_areas", 1));
  ASSERT_OK((*broker)->CreateTopic("epi.persons", 1));
  ASSERT_OK((*broker)->CreateTopic("epi.alerts.person", kEventPartitions));
  ASSERT_OK((*broker)->CreateTopic("epi.alerts.cluster", 1));
  ASSERT_OK((*broker)->CreateTopic("epi.deadletter", kDeadletterPartitions));
  const std::string brokers = (*broker)->bootstrap_servers();

  // Interleave: one good or duplicate message after every ~19 bad ones; the
  // whole flood goes to partitions 0..2, partition 3 of epi.fever is kept for
  // the 10 MB message.
  std::vector<const Message*> order;
  size_t g = 0, d = 0;
  for (size_t b = 0; b < bad_.size(); ++b) {
    order.push_back(&bad_[b]);
    if (b % 19 == 0 && g < good_.size()) order.push_back(&good_[g++]);
    if (b % 199 == 0 && d < duplicates_.size()) order.push_back(&duplicates_[d++]);
  }
  for (; g < good_.size(); ++g) order.push_back(&good_[g]);
  for (; d < duplicates_.size(); ++d) order.push_back(&duplicates_[d]);
  {
    // lz4, as the engine's own producer: the broker's 5 MiB per partition
    // then holds the whole flood (deep nesting compresses well).
    testing::TestProducer producer(brokers, {{"compression.type", "lz4"}});
    ASSERT_EQ(producer.error(), "");
    ASSERT_EQ(producer.Produce("epi.risk_areas", 0, std::string("420106"),
                               std::string("{\"event_id\":\"ra-1\",\"ts\":\"2022-09-19T00:00:00+08:00\","
                                           "\"region\":\"420106\",\"level\":\"high\"}")),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    std::map<int, int> next_partition;
    for (const Message* m : order) {
      const int partition =
          m->partition >= 0 ? m->partition : next_partition[m->topic]++ % (kEventPartitions - 1);
      ASSERT_EQ(producer.Produce(kTopics[m->topic], partition,
                                 m->key ? std::optional<std::string_view>(*m->key) : std::nullopt,
                                 m->value ? std::optional<std::string_view>(*m->value) : std::nullopt),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(producer.Flush(), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  const int port = testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(testing::WriteFile(dir_.File("engine.yaml"), "checkpoint:\n  interval: 200ms\n"));
  ChildProcess engine;
  ASSERT_TRUE(engine.Start({testing::EngineBinary(), "run", "--config", dir_.File("engine.yaml"),
                            "--brokers", brokers, "--group", "flood", "--state", dir_.File("state"),
                            "--metrics-port", std::to_string(port)},
                           dir_.File("engine.log")));

  std::map<std::string, double> expected_reasons;
  for (const Message& m : bad_) expected_reasons[m.reason] += 1;
  const double expected_dead = static_cast<double>(bad_.size());
  // Everything but the 10 MB message, then that one.
  auto await_metrics = [&](double dead, std::chrono::seconds timeout) {
    std::map<std::string, double> m;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && engine.running()) {
      if (auto text = testing::HttpGet(port, "/metrics")) {
        m = testing::ParseMetrics(*text);
        double sum = 0;
        for (const auto& [reason, v] : testing::MetricByLabel(m, "epistream_deadletters_total")) sum += v;
        if (sum >= dead) return m;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return m;
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, double> metrics = await_metrics(expected_dead, std::chrono::seconds(30));
  ASSERT_TRUE(engine.running()) << engine.Log().substr(0, 4000);
  const double flood_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // The 10 MB message (valid JSON but for its size), alone on its partition.
  {
    testing::TestProducer producer(brokers);
    const std::string huge = "{\"event_id\":\"huge\",\"pad\":\"" + std::string(10 << 20, 'h') + "\"}";
    ASSERT_EQ(producer.Produce("epi.fever", kEventPartitions - 1, std::string("huge"), huge),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(producer.Flush(), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  expected_reasons["too_large"] += 1;
  metrics = await_metrics(expected_dead + 1, std::chrono::seconds(20));
  ASSERT_TRUE(engine.running()) << engine.Log().substr(0, 4000);

  // /metrics: every bad message under its reason, and nothing else.
  EXPECT_EQ(testing::MetricByLabel(metrics, "epistream_deadletters_total"), expected_reasons);
  EXPECT_EQ(testing::Metric(metrics, "epistream_duplicates_total"), static_cast<double>(duplicates_.size()));
  const char* const kTypes[] = {"scan", "transport", "fever"};
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(testing::Metric(metrics, "epistream_events_total", "type", kTypes[t]),
              good_by_type_[t] + duplicates_by_type_[t])
        << kTypes[t];
  }

  // The good events' alerts, each once.
  std::set<std::string> alerts;
  size_t alert_records = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<testing::TopicRecord> records;
    ASSERT_OK(testing::ReadTopic(brokers, "epi.alerts.person", &records));
    alerts.clear();
    for (const testing::TopicRecord& r : records) {
      testing::ActualAlert a;
      std::string error;
      ASSERT_TRUE(testing::ParseAlert(r.value, &a, &error)) << error;
      alerts.insert(a.key.rule + "/" + a.key.severity + "/" + a.key.person_id);
    }
    alert_records = records.size();
    if (alert_records >= expected_alerts_.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(alerts, expected_alerts_);
  EXPECT_EQ(alert_records, expected_alerts_.size());

  // epi.deadletter: one record per bad message, with its reason, source
  // position and original bytes.
  std::vector<testing::TopicRecord> dead;
  ASSERT_OK(testing::ReadTopic(brokers, "epi.deadletter", &dead));
  std::map<std::string, double> dead_reasons;
  std::set<std::string> positions;
  size_t base64 = 0;
  for (const testing::TopicRecord& r : dead) {
    testing::ActualDeadLetter dl;
    std::string error;
    ASSERT_TRUE(testing::ParseDeadLetter(r.value, &dl, &error)) << error;
    dead_reasons[dl.reason] += 1;
    positions.insert(r.key);
    if (dl.was_base64) ++base64;
    ASSERT_TRUE(dl.has_original || dl.reason == "bad_json") << r.value.substr(0, 300);
  }
  EXPECT_EQ(dead_reasons, expected_reasons);
  EXPECT_EQ(positions.size(), dead.size()) << "a bad message dead-lettered twice";
  EXPECT_GE(base64, 15000u) << "invalid UTF-8 originals go base64";

  // Still up, and a clean stop.
  EXPECT_TRUE(engine.running());
  EXPECT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(10)), 0) << engine.Log().substr(0, 4000);
  std::printf("flood: %zu bad + %zu good + %zu duplicates + 1 x 10 MiB; processed in %.1f s\n",
              bad_.size(), good_.size(), duplicates_.size(), flood_secs);
}

}  // namespace
}  // namespace epistream
