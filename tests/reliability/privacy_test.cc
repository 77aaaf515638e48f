// Privacy (config/PRIVACY.md): person ids never reach the engine's logs or
// /metrics, and with privacy.pseudonymize the engine holds and emits only
// HMAC-SHA256 pseudonyms of them.
//
// The input touches every path that handles a person id: each person rule,
// the person registry join (fever_key_worker), a community fever_cluster
// (member lists), duplicates, too-late events and bad messages that carry an
// id. Person ids share the prefix
// "subj-q7x-", so one substring search finds any of them.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/embedded_broker.h"
#include "tests/reliability/reliability_util.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/child_process.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::ChildProcess;
using ::epistream::testing::TempDir;

const std::string kIdPrefix = "subj-q7x-";

std::string Person(int i) { return kIdPrefix + std::to_string(i); }

std::string Ts(int minutes) {
  const TimestampMs t0 = *ParseRfc3339("2022-09-20T08:00:00.000+08:00");
  return FormatRfc3339(t0 + minutes * kMinuteMs, 8 * 60);
}

// HMAC-SHA256 hex by OpenSSL's one-shot HMAC(): an implementation independent
// of engine/pseudonymizer.cc.
std::string Hmac(const std::string& key, const std::string& id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(id.data()), id.size(), md, &len);
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0xf];
  }
  return hex;
}

struct Line {
  std::string type;
  std::string value;  // JSON object with a "type" field (file mode format)
  bool bad = false;
};

// 60 persons: returnees (returnee_risk_area, then fever_returnee and a
// quarantine breach for some), registered cold-chain workers with fever
// (fever_key_worker), red and yellow codes; duplicates; a too-late scan; bad
// messages with person ids in them.
std::vector<Line> Input() {
  std::vector<Line> in;
  auto add = [&](const std::string& type, const std::string& fields, bool bad = false) {
    in.push_back({type, "{\"type\":\"" + type + "\"," + fields + "}", bad});
  };
  add("risk_area", "\"event_id\":\"ra-1\",\"ts\":\"2022-09-19T00:00:00.000+08:00\",\"region\":\"4201\",\"level\":\"high\"");
  for (int i = 40; i < 50; ++i) {
    add("person", "\"person_id\":\"" + Person(i) + "\",\"occupation\":\"cold_chain\",\"community_id\":\"c-1\"");
  }
  for (int i = 0; i < 60; ++i) {
    const std::string p = "\"person_id\":\"" + Person(i) + "\"";
    const std::string id = "\"event_id\":\"e-" + std::to_string(i);
    if (i < 20) {
      add("transport", id + "-t\",\"ts\":\"" + Ts(i) + "\"," + p +
                           ",\"hub_id\":\"h-1\",\"mode\":\"rail\",\"origin_region\":\"420106\"");
      if (i % 2 == 0) {
        add("fever", id + "-f\",\"ts\":\"" + Ts(60 + i) + "\"," + p + ",\"clinic_id\":\"cl-1\",\"temp_c\":38.5");
      } else {
        add("scan", id + "-s\",\"ts\":\"" + Ts(60 + i) + "\"," + p +
                        ",\"venue_id\":\"v-1\",\"code_color\":\"green\",\"venue_kind\":\"mall\"");
      }
    } else if (i < 40) {
      add("scan", id + "-s\",\"ts\":\"" + Ts(i) + "\"," + p + ",\"venue_id\":\"v-2\",\"code_color\":\"" +
                      (i % 2 == 0 ? "red" : "yellow") + "\",\"venue_kind\":\"market\"");
      add("scan", id + "-s\",\"ts\":\"" + Ts(i) + "\"," + p +
                      ",\"venue_id\":\"v-2\",\"code_color\":\"red\",\"venue_kind\":\"market\"");  // duplicate
    } else if (i < 50) {
      add("fever", id + "-f\",\"ts\":\"" + Ts(i) + "\"," + p + ",\"clinic_id\":\"cl-2\",\"temp_c\":38.1");
    } else {
      // Bad messages that still name the person.
      add("scan", id + "-b\",\"ts\":\"" + Ts(i) + "\"," + p + ",\"venue_id\":7,\"code_color\":\"red\"", true);
      add("fever", id + "-b\",\"ts\":\"" + Ts(i) + "\"," + p + ",\"clinic_id\":\"c\",\"temp_c\":99", true);
    }
  }
  // Two days ahead (test deadlines fall due: returnee_untested), then one far
  // behind: too_late in file mode (Kafka mode's event-time merge may order
  // it first, so it is not counted as bad).
  add("scan", "\"event_id\":\"late-1\",\"ts\":\"" + Ts(2 * 24 * 60) + "\",\"person_id\":\"" + Person(98) +
                  "\",\"venue_id\":\"v-3\",\"code_color\":\"green\"");
  add("scan", "\"event_id\":\"late-2\",\"ts\":\"" + Ts(0) + "\",\"person_id\":\"" + Person(99) +
                  "\",\"venue_id\":\"v-3\",\"code_color\":\"green\"");
  return in;
}

class PrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    std::string text;
    for (const Line& l : Input()) text += l.value + "\n";
    ASSERT_TRUE(testing::WriteFile(dir_.File("in.jsonl"), text));
  }

  // File mode with an optional config; alerts as (rule, severity, ts) by
  // person id.
  testing::EngineRun RunFile(const std::string& prefix, const std::string& config_yaml = "",
                             const std::string& state = "") {
    testing::RunOptions opts;
    if (!config_yaml.empty()) {
      opts.config = dir_.File(prefix + ".yaml");
      EXPECT_TRUE(testing::WriteFile(opts.config, config_yaml));
    }
    opts.state_dir = state;
    return testing::RunEngine(dir_.File("in.jsonl"), dir_.path(), prefix, opts);
  }

  static std::multiset<std::string> AlertKeys(const std::vector<std::string>& alerts,
                                              const std::map<std::string, std::string>& rename = {}) {
    std::multiset<std::string> out;
    for (const std::string& line : alerts) {
      testing::ActualAlert a;
      std::string error;
      EXPECT_TRUE(testing::ParseAlert(line, &a, &error)) << error;
      auto it = rename.find(a.key.person_id);
      out.insert(a.key.rule + "/" + a.key.severity + "/" + std::to_string(a.key.ts) + "/" +
                 (it == rename.end() ? a.key.person_id : it->second));
    }
    return out;
  }

  // The cluster.members of a cluster alert (empty for a person alert).
  static std::vector<std::string> ClusterMembers(const std::string& line) {
    simdjson::dom::parser parser;
    simdjson::dom::array members;
    std::vector<std::string> out;
    if (parser.parse(line)["cluster"]["members"].get_array().get(members) != simdjson::SUCCESS) return out;
    for (simdjson::dom::element m : members) {
      std::string_view s;
      if (m.get_string().get(s) == simdjson::SUCCESS) out.emplace_back(s);
    }
    return out;
  }

  // Names of the files under `dir` whose bytes contain the id prefix.
  static std::vector<std::string> FilesNamingPersons(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::string content;
      testing::ReadFile(e.path().string(), &content);
      if (content.find(kIdPrefix) != std::string::npos) out.push_back(e.path().filename().string());
    }
    return out;
  }

  TempDir dir_;
  const std::string key_ = "k3y-for-the-privacy-test-0123456789";
};

TEST_F(PrivacyTest, LogsAndMetricsNameNoPerson) {
  const std::vector<Line> input = Input();
  // File mode, debug logging.
  auto file = testing::RunProcess({testing::EngineBinary(), "--log-level", "debug", "run", "--input",
                                   dir_.File("in.jsonl"), "--alerts", dir_.File("f.alerts.jsonl"),
                                   "--deadletter", dir_.File("f.dead.jsonl")},
                                  dir_.File("f.log"));
  ASSERT_EQ(file.exit_code, 0) << file.Describe();
  const std::vector<std::string> file_alerts = testing::ReadLines(dir_.File("f.alerts.jsonl"));
  std::set<std::string> rules;
  for (const std::string& a : file_alerts) {
    testing::ActualAlert parsed;
    std::string error;
    ASSERT_TRUE(testing::ParseAlert(a, &parsed, &error)) << error;
    rules.insert(parsed.key.rule);
  }
  // Every person rule fired, and a community fever_cluster (its members are
  // person ids), so every alert path that handles an id ran.
  for (const char* rule : {"returnee_risk_area", "returnee_untested", "fever_returnee", "fever_key_worker",
                           "abnormal_code_at_venue", "quarantine_breach", "fever_cluster"}) {
    EXPECT_EQ(rules.count(rule), 1u) << rule;
  }
  EXPECT_EQ(file.output.find(kIdPrefix), std::string::npos) << file.output;

  // Kafka mode, debug logging, /metrics scraped while and after it works.
  auto broker = EmbeddedBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  const std::map<std::string, std::string> topic_of = {{"scan", "epi.scans"},
                                                       {"transport", "epi.transport"},
                                                       {"fever", "epi.fever"},
                                                       {"risk_area", "epi.risk_areas"},
                                                       {"person", "epi.persons"}};
  for (const char* t : {"epi.scans", "epi.transport", "epi.fever", "epi.risk_areas", "epi.persons",
                        "epi.alerts.person", "epi.alerts.cluster", "epi.deadletter"}) {
    ASSERT_OK((*broker)->CreateTopic(t, 2));
  }
  const std::string brokers = (*broker)->bootstrap_servers();
  size_t bad = 0;
  {
    testing::TestProducer producer(brokers, {{"partitioner", "murmur2_random"}});
    for (const Line& l : input) {
      const size_t at = l.value.find("\"person_id\":\"");
      std::string key = "none";
      if (at != std::string::npos) key = l.value.substr(at + 13, l.value.find('"', at + 13) - at - 13);
      ASSERT_EQ(producer.Produce(topic_of.at(l.type), RD_KAFKA_PARTITION_UA, key, l.value),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      bad += l.bad;
    }
    ASSERT_EQ(producer.Flush(), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  const int port = testing::FreeLoopbackPort();
  ChildProcess engine;
  ASSERT_TRUE(engine.Start({testing::EngineBinary(), "--log-level", "debug", "run", "--brokers", brokers,
                            "--group", "privacy", "--state", dir_.File("kstate"), "--metrics-port",
                            std::to_string(port)},
                           dir_.File("k.log")));
  std::string metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  double alerts = 0, dead = 0;
  while (std::chrono::steady_clock::now() < deadline && engine.running()) {
    if (auto text = testing::HttpGet(port, "/metrics")) {
      metrics = *text;
      const auto m = testing::ParseMetrics(metrics);
      alerts = dead = 0;
      for (const auto& [k, v] : testing::MetricByLabel(m, "epistream_deadletters_total")) dead += v;
      for (const auto& [k, v] : m) {
        if (k.rfind("epistream_alerts_total{", 0) == 0) alerts += v;
      }
      // Kafka mode's watermark differs from file mode's end of input, so
      // not every timer alert is due: wait for the non-timer ones.
      if (dead >= static_cast<double>(bad) && alerts >= 20 + 20 + 10 + 10) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(dead, static_cast<double>(bad));
  EXPECT_GE(alerts, 60);
  EXPECT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(10)), 0);
  const std::string log = engine.Log();
  EXPECT_NE(log.find("global tables loaded"), std::string::npos) << log.substr(0, 2000);
  EXPECT_NE(metrics.find("epistream_deadletters_total"), std::string::npos);
  EXPECT_EQ(log.find(kIdPrefix), std::string::npos) << log.substr(log.find(kIdPrefix) - 300, 600);
  EXPECT_EQ(metrics.find(kIdPrefix), std::string::npos);
}

TEST_F(PrivacyTest, PseudonymizeKeepsOnlyKeyedPseudonyms) {
  ASSERT_TRUE(testing::WriteFile(dir_.File("key"), key_ + "\n"));
  ASSERT_TRUE(testing::WriteFile(dir_.File("key2"), "another-key-0123456789abcdef\n"));
  const std::string on = "privacy:\n  pseudonymize: true\n  key_file: " + dir_.File("key") + "\n";
  const std::string on2 = "privacy:\n  pseudonymize: true\n  key_file: " + dir_.File("key2") + "\n";

  auto plain = RunFile("plain");
  ASSERT_EQ(plain.process.exit_code, 0) << plain.process.Describe();
  auto pseudo = RunFile("pseudo", on, dir_.File("pstate"));
  ASSERT_EQ(pseudo.process.exit_code, 0) << pseudo.process.Describe();
  ASSERT_GT(pseudo.alerts.size(), 60u);

  // Alerts carry HMAC-SHA256(key, id), and are the plain run's alerts under
  // that renaming: same findings, same times, nothing lost.
  std::map<std::string, std::string> original_of;
  for (int i = 0; i < 100; ++i) original_of[Hmac(key_, Person(i))] = Person(i);
  EXPECT_EQ(AlertKeys(pseudo.alerts, original_of), AlertKeys(plain.alerts));
  size_t cluster_alerts = 0;
  for (const std::string& a : pseudo.alerts) {
    testing::ActualAlert parsed;
    std::string error;
    ASSERT_TRUE(testing::ParseAlert(a, &parsed, &error)) << error;
    EXPECT_EQ(a.find(kIdPrefix), std::string::npos) << a;  // nor in evidence or members
    const std::vector<std::string> members = ClusterMembers(a);
    if (members.empty()) {
      EXPECT_EQ(original_of.count(parsed.key.person_id), 1u) << a;
      continue;
    }
    ++cluster_alerts;
    for (const std::string& m : members) EXPECT_EQ(original_of.count(m), 1u) << m;
  }
  EXPECT_GT(cluster_alerts, 0u) << "fever_cluster members are pseudonymised too";
  // The state holds no id either (keys, records, WAL); dead letters keep
  // the original bytes by design.
  EXPECT_EQ(FilesNamingPersons(dir_.File("pstate")), std::vector<std::string>{});
  ASSERT_FALSE(pseudo.deadletters.empty());
  EXPECT_NE(pseudo.deadletters[0].find(kIdPrefix), std::string::npos);
  // The inspector finds a person by pseudonym only.
  auto by_pseudonym = testing::RunProcess(
      {testing::EngineBinary(), "state", "--db", dir_.File("pstate"), "--person", Hmac(key_, Person(3))},
      dir_.File("inspect.log"));
  EXPECT_EQ(by_pseudonym.exit_code, 0) << by_pseudonym.Describe();
  auto by_id = testing::RunProcess(
      {testing::EngineBinary(), "state", "--db", dir_.File("pstate"), "--person", Person(3)},
      dir_.File("inspect2.log"));
  EXPECT_EQ(by_id.exit_code, 1) << by_id.Describe();

  // Same key: the same pseudonyms (and alert ids) on another run; another
  // key: other pseudonyms.
  auto again = RunFile("again", on);
  ASSERT_EQ(again.process.exit_code, 0) << again.process.Describe();
  EXPECT_EQ(testing::WithoutEmittedAt(again.alerts), testing::WithoutEmittedAt(pseudo.alerts));
  auto other = RunFile("other", on2);
  ASSERT_EQ(other.process.exit_code, 0) << other.process.Describe();
  std::map<std::string, std::string> original_of2;
  for (int i = 0; i < 100; ++i) original_of2[Hmac("another-key-0123456789abcdef", Person(i))] = Person(i);
  EXPECT_EQ(AlertKeys(other.alerts, original_of2), AlertKeys(plain.alerts));
  std::set<std::string> p1, p2;  // person alerts' pseudonyms
  for (const std::string& k : AlertKeys(pseudo.alerts)) {
    if (original_of.count(k.substr(k.rfind('/') + 1)) != 0) p1.insert(k.substr(k.rfind('/') + 1));
  }
  for (const std::string& k : AlertKeys(other.alerts)) {
    if (original_of2.count(k.substr(k.rfind('/') + 1)) != 0) p2.insert(k.substr(k.rfind('/') + 1));
  }
  EXPECT_GT(p1.size(), 40u);
  EXPECT_EQ(p1.size(), p2.size());
  std::vector<std::string> common;
  std::set_intersection(p1.begin(), p1.end(), p2.begin(), p2.end(), std::back_inserter(common));
  EXPECT_EQ(common, std::vector<std::string>{});
}

TEST_F(PrivacyTest, PseudonymizeWithoutAUsableKeyIsAConfigError) {
  ASSERT_TRUE(testing::WriteFile(dir_.File("short.key"), "too-short\n"));
  const std::pair<std::string, std::string> cases[] = {
      {"privacy:\n  pseudonymize: true\n", "privacy.key_file: required when privacy.pseudonymize is true"},
      {"privacy:\n  pseudonymize: true\n  key_file: " + dir_.File("missing.key") + "\n",
       "privacy.key_file: cannot open pseudonymization key file"},
      {"privacy:\n  pseudonymize: true\n  key_file: " + dir_.File("short.key") + "\n",
       "pseudonymization key too short: 9 bytes, need at least 16"},
  };
  for (const auto& [yaml, message] : cases) {
    ASSERT_TRUE(testing::WriteFile(dir_.File("bad.yaml"), yaml));
    auto check = testing::RunProcess({testing::EngineBinary(), "check-config", dir_.File("bad.yaml")},
                                     dir_.File("check.log"));
    EXPECT_EQ(check.exit_code, 2) << check.Describe();
    EXPECT_NE(check.output.find(message), std::string::npos) << check.output;
    EXPECT_EQ(check.output.find("too-short"), std::string::npos) << "the key itself is never printed";
    auto run = RunFile("bad", yaml);
    EXPECT_EQ(run.process.exit_code, 2) << run.process.Describe();
  }
}

}  // namespace
}  // namespace epistream
