#include "topologies/app_config.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/assert_ok.h"
#include "tests/testing/test_paths.h"

namespace epistream {
namespace {

// Number of members of an aggregate, found by brace-initialising it with
// ever more "anything" values. Used to notice a struct field that the
// comparisons and key lists below do not know about yet.
struct AnyField {
  template <typename T>
  operator T() const;  // NOLINT: implicit on purpose; never defined
};

template <typename T, size_t... I>
constexpr bool BraceInitialisableWith(std::index_sequence<I...>) {
  return requires { T{(static_cast<void>(I), AnyField{})...}; };
}

template <typename T, size_t N = 0>
constexpr size_t FieldCount() {
  if constexpr (BraceInitialisableWith<T>(std::make_index_sequence<N + 1>())) {
    return FieldCount<T, N + 1>();
  } else {
    return N;
  }
}

// When one of these fails, a config struct gained or lost a field: add it to
// Differences(), to kKeyCases, to config/epistream.yaml and to the loader.
static_assert(FieldCount<AppConfig>() == 3);
static_assert(FieldCount<EngineConfig>() == 13);  // 8 sections + 5 scalars
static_assert(FieldCount<WatermarkConfig>() == 3);
static_assert(FieldCount<StateConfig>() == 7);
static_assert(FieldCount<CheckpointConfig>() == 2);
static_assert(FieldCount<KafkaConfig>() == 3);
static_assert(FieldCount<MetricsConfig>() == 2);
static_assert(FieldCount<HttpConfig>() == 3);
static_assert(FieldCount<PrivacyConfig>() == 2);
static_assert(FieldCount<ScaleOutConfig>() == 4);
static_assert(FieldCount<RulesConfig>() == 24);
static_assert(FieldCount<TopicsConfig>() == 8);
constexpr size_t kLeafFieldCount =
    (FieldCount<EngineConfig>() - 8) + FieldCount<WatermarkConfig>() +
    FieldCount<StateConfig>() + FieldCount<CheckpointConfig>() +
    FieldCount<KafkaConfig>() + FieldCount<MetricsConfig>() +
    FieldCount<HttpConfig>() +
    FieldCount<PrivacyConfig>() + FieldCount<ScaleOutConfig>() +
    FieldCount<RulesConfig>() + FieldCount<TopicsConfig>();

// The YAML key paths of the fields that differ between a and b, field by field.
std::vector<std::string> Differences(const AppConfig& a, const AppConfig& b) {
  std::vector<std::string> out;
#define EPI_DIFF(path, field) \
  if (!(a.field == b.field)) out.push_back(path)
  EPI_DIFF("engine.tz", engine.tz_offset_minutes);
  EPI_DIFF("engine.max_message_bytes", engine.max_message_bytes);
  EPI_DIFF("engine.log_level", engine.log_level);
  EPI_DIFF("engine.cluster_thread", engine.cluster_thread);
  EPI_DIFF("engine.parse_thread", engine.parse_thread);
  EPI_DIFF("watermark.out_of_orderness", engine.watermark.out_of_orderness);
  EPI_DIFF("watermark.allowed_lateness", engine.watermark.allowed_lateness);
  EPI_DIFF("watermark.idle_timeout", engine.watermark.idle_timeout);
  EPI_DIFF("state.dir", engine.state.dir);
  EPI_DIFF("state.retention", engine.state.retention);
  EPI_DIFF("state.block_cache_bytes", engine.state.block_cache_bytes);
  EPI_DIFF("state.write_buffer_bytes", engine.state.write_buffer_bytes);
  EPI_DIFF("state.cache_entries", engine.state.cache_entries);
  EPI_DIFF("state.encoded_cache_bytes", engine.state.encoded_cache_bytes);
  EPI_DIFF("state.sync", engine.state.sync);
  EPI_DIFF("checkpoint.interval", engine.checkpoint.interval);
  EPI_DIFF("checkpoint.max_events", engine.checkpoint.max_events);
  EPI_DIFF("kafka.brokers", engine.kafka.brokers);
  EPI_DIFF("kafka.group", engine.kafka.group);
  EPI_DIFF("kafka.properties", engine.kafka.properties);
  EPI_DIFF("metrics.port", engine.metrics.port);
  EPI_DIFF("metrics.bind", engine.metrics.bind);
  EPI_DIFF("http.queries", engine.http.queries);
  EPI_DIFF("http.token_file", engine.http.token_file);
  EPI_DIFF("http.ready_max_stall", engine.http.ready_max_stall);
  EPI_DIFF("privacy.pseudonymize", engine.privacy.pseudonymize);
  EPI_DIFF("privacy.key_file", engine.privacy.key_file);
  EPI_DIFF("scale_out.enabled", engine.scale_out.enabled);
  EPI_DIFF("scale_out.repartition", engine.scale_out.repartition);
  EPI_DIFF("scale_out.repartition_partitions",
           engine.scale_out.repartition_partitions);
  EPI_DIFF("scale_out.changelog_topic", engine.scale_out.changelog_topic);
  EPI_DIFF("rules.risk_lookback", rules.risk_lookback);
  EPI_DIFF("rules.retroactive_window", rules.retroactive_window);
  EPI_DIFF("rules.test_deadline", rules.test_deadline);
  EPI_DIFF("rules.quarantine_inbound", rules.quarantine_inbound);
  EPI_DIFF("rules.quarantine_high_risk", rules.quarantine_high_risk);
  EPI_DIFF("rules.fever_exposure_lookback", rules.fever_exposure_lookback);
  EPI_DIFF("rules.venue_trail", rules.venue_trail);
  EPI_DIFF("rules.cluster_case_window", rules.cluster_case_window);
  EPI_DIFF("rules.cluster_population_window", rules.cluster_population_window);
  EPI_DIFF("rules.community_case_window", rules.community_case_window);
  EPI_DIFF("rules.cluster_min_cases", rules.cluster_min_cases);
  EPI_DIFF("rules.cluster_alpha", rules.cluster_alpha);
  EPI_DIFF("rules.cluster_method", rules.cluster_method);
  EPI_DIFF("rules.community_method", rules.community_method);
  EPI_DIFF("rules.cluster_evaluation_delay", rules.cluster_evaluation_delay);
  EPI_DIFF("rules.surge_baseline_days", rules.surge_baseline_days);
  EPI_DIFF("rules.surge_guard_days", rules.surge_guard_days);
  EPI_DIFF("rules.surge_sd_multiplier", rules.surge_sd_multiplier);
  EPI_DIFF("rules.surge_min_sd", rules.surge_min_sd);
  EPI_DIFF("rules.surge_min_visits", rules.surge_min_visits);
  EPI_DIFF("rules.surge_min_history_days", rules.surge_min_history_days);
  EPI_DIFF("rules.surge_method", rules.surge_method);
  EPI_DIFF("rules.surge_c3_day_offset", rules.surge_c3_day_offset);
  EPI_DIFF("rules.surge_c3_threshold", rules.surge_c3_threshold);
  EPI_DIFF("topics.scans", topics.scans);
  EPI_DIFF("topics.transport", topics.transport);
  EPI_DIFF("topics.fever", topics.fever);
  EPI_DIFF("topics.risk_areas", topics.risk_areas);
  EPI_DIFF("topics.persons", topics.persons);
  EPI_DIFF("topics.alerts_person", topics.alerts_person);
  EPI_DIFF("topics.alerts_cluster", topics.alerts_cluster);
  EPI_DIFF("topics.deadletter", topics.deadletter);
#undef EPI_DIFF
  return out;
}

// Every leaf key with a valid non-default value (YAML flow syntax).
struct KeyCase {
  const char* path;
  const char* value;
};
constexpr KeyCase kKeyCases[] = {
    {"engine.tz", "\"-05:30\""},
    {"engine.max_message_bytes", "1MiB"},
    {"engine.log_level", "debug"},
    {"engine.cluster_thread", "false"},
    {"engine.parse_thread", "false"},
    {"watermark.out_of_orderness", "10m"},
    {"watermark.allowed_lateness", "2h"},
    {"watermark.idle_timeout", "1m"},
    {"state.dir", "/var/lib/epistream"},
    {"state.retention", "30d"},
    {"state.block_cache_bytes", "1GiB"},
    {"state.write_buffer_bytes", "64MiB"},
    {"state.cache_entries", "1000"},
    {"state.encoded_cache_bytes", "32MiB"},
    {"state.sync", "true"},
    {"checkpoint.interval", "500ms"},
    {"checkpoint.max_events", "5000"},
    {"kafka.brokers", "\"kafka-1:9092,kafka-2:9092\""},
    {"kafka.group", "epi-prod"},
    {"kafka.properties", "{security.protocol: SASL_SSL}"},
    {"metrics.port", "9000"},
    {"metrics.bind", "0.0.0.0"},
    {"http.queries", "true"},
    {"http.token_file", "/etc/epistream/token"},
    {"http.ready_max_stall", "2m"},
    {"privacy.pseudonymize", "true"},
    {"privacy.key_file", "/etc/epistream/pseudonym.key"},
    {"scale_out.enabled", "true"},
    {"scale_out.repartition", "true"},
    {"scale_out.repartition_partitions", "6"},
    {"scale_out.changelog_topic", "city.changelog"},
    {"rules.risk_lookback", "10d"},
    {"rules.retroactive_window", "7d"},
    {"rules.test_deadline", "48h"},
    {"rules.quarantine_inbound", "10d"},
    {"rules.quarantine_high_risk", "3d"},
    {"rules.fever_exposure_lookback", "10d"},
    {"rules.venue_trail", "5d"},
    {"rules.cluster_case_window", "5d"},
    {"rules.cluster_population_window", "10d"},
    {"rules.community_case_window", "2d"},
    {"rules.cluster_min_cases", "4"},
    {"rules.cluster_alpha", "0.05"},
    {"rules.cluster_method", "venue_day"},
    {"rules.community_method", "weekly"},
    {"rules.cluster_evaluation_delay", "30m"},
    {"rules.surge_baseline_days", "8"},
    {"rules.surge_guard_days", "1"},
    {"rules.surge_sd_multiplier", "2.5"},
    {"rules.surge_min_sd", "1"},
    {"rules.surge_min_visits", "3"},
    {"rules.surge_min_history_days", "12"},
    {"rules.surge_method", "c3"},
    {"rules.surge_c3_day_offset", "0.5"},
    {"rules.surge_c3_threshold", "3"},
    {"topics.scans", "city.scans"},
    {"topics.transport", "city.transport"},
    {"topics.fever", "city.fever"},
    {"topics.risk_areas", "city.risk_areas"},
    {"topics.persons", "city.persons"},
    {"topics.alerts_person", "city.alerts.person"},
    {"topics.alerts_cluster", "city.alerts.cluster"},
    {"topics.deadletter", "city.deadletter"},
};
static_assert(std::size(kKeyCases) == kLeafFieldCount,
              "a config field has no key case");

const std::string kDefaultPath =
    std::string(testing::SourceDirPath()) + "/config/epistream.yaml";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

void CollectLeaves(const YAML::Node& node, const std::string& path,
                   std::set<std::string>* out) {
  // kafka.properties is one field (a map), whatever it holds.
  if (node.IsMap() && path != "kafka.properties") {
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      CollectLeaves(kv.second, path.empty() ? key : path + "." + key, out);
    }
  } else {
    out->insert(path);
  }
}

// Sets `path` (a.b) to `flow_value` in the YAML document `text`.
std::string WithValue(const std::string& text, const std::string& path,
                      const std::string& flow_value) {
  YAML::Node doc = YAML::Load(text);
  const size_t dot = path.find('.');
  doc[path.substr(0, dot)][path.substr(dot + 1)] = YAML::Load(flow_value);
  YAML::Emitter emitter;
  emitter << doc;
  return emitter.c_str();
}

// A named default (a temporary AppConfig{} trips a GCC 12 -O3
// maybe-uninitialized false positive).
const AppConfig& Defaults() {
  static const AppConfig defaults;
  return defaults;
}

Status ParseError(const std::string& yaml) {
  Result<AppConfig> r = ParseAppConfig(yaml, "t.yaml");
  return r.ok() ? Status::Ok() : r.status();
}

class AppConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { default_text_ = ReadFile(kDefaultPath); }
  std::string default_text_;
};

TEST_F(AppConfigTest, DefaultFileEqualsDefaultStructs) {
  ASSERT_FALSE(default_text_.empty()) << kDefaultPath;
  Result<AppConfig> loaded = LoadAppConfig(kDefaultPath);
  ASSERT_OK(loaded.status());
  EXPECT_EQ(Differences(*loaded, Defaults()), std::vector<std::string>{});
}

TEST_F(AppConfigTest, DefaultFileHasEveryKeyAndNoOther) {
  std::set<std::string> leaves;
  CollectLeaves(YAML::Load(default_text_), "", &leaves);
  std::vector<std::string> missing;
  for (const KeyCase& k : kKeyCases) {
    if (leaves.erase(k.path) == 0) missing.push_back(k.path);
  }
  EXPECT_EQ(missing, std::vector<std::string>{})
      << "keys absent from " << kDefaultPath;
  EXPECT_EQ(leaves, std::set<std::string>{}) << "keys no struct field has";
}

TEST_F(AppConfigTest, EveryKeySetsItsOwnField) {
  for (const KeyCase& k : kKeyCases) {
    SCOPED_TRACE(k.path);
    Result<AppConfig> r =
        ParseAppConfig(WithValue(default_text_, k.path, k.value), "m.yaml");
    ASSERT_OK(r.status());
    EXPECT_EQ(Differences(*r, Defaults()), std::vector<std::string>{k.path});
  }
}

TEST_F(AppConfigTest, ParsedValues) {
  Result<AppConfig> r = ParseAppConfig(
      "engine:\n  tz: \"-05:30\"\n  max_message_bytes: 1048576\nstate:\n"
      "  retention: 3w2d\n  block_cache_bytes: 1 GiB\nkafka:\n  properties:\n"
      "    security.protocol: SASL_SSL\n    fetch.max.bytes: 1048576\n"
      "    enable.idempotence: true\nrules:\n  cluster_alpha: 0.05\n",
      "t.yaml");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->engine.tz_offset_minutes, -330);
  EXPECT_EQ(r->engine.max_message_bytes, 1048576u);
  EXPECT_EQ(r->engine.state.retention, 23 * kDayMs);
  EXPECT_EQ(r->engine.state.block_cache_bytes, 1ull << 30);
  const std::map<std::string, std::string> props = {
      {"security.protocol", "SASL_SSL"},
      {"fetch.max.bytes", "1048576"},
      {"enable.idempotence", "true"}};
  EXPECT_EQ(r->engine.kafka.properties, props);
  EXPECT_DOUBLE_EQ(r->rules.cluster_alpha, 0.05);
  EXPECT_EQ(r->rules.cluster_evaluation_delay, 0);
  Result<AppConfig> d = ParseAppConfig(
      "rules:\n  cluster_evaluation_delay: deterministic\n", "t.yaml");
  ASSERT_OK(d.status());
  EXPECT_EQ(d->rules.cluster_evaluation_delay, kDeterministicEvaluationDelay);
}

TEST_F(AppConfigTest, EmptyAndPartialFilesKeepDefaults) {
  Result<AppConfig> empty = ParseAppConfig("", "t.yaml");
  ASSERT_OK(empty.status());
  EXPECT_EQ(Differences(*empty, Defaults()), std::vector<std::string>{});
  Result<AppConfig> commented =
      ParseAppConfig("# all defaults\nstate:\n  # dir: x\n", "t.yaml");
  ASSERT_OK(commented.status());
  EXPECT_EQ(Differences(*commented, Defaults()), std::vector<std::string>{});
  Result<AppConfig> partial = ParseAppConfig("metrics:\n  port: 0\n", "t.yaml");
  ASSERT_OK(partial.status());
  EXPECT_EQ(Differences(*partial, Defaults()),
            std::vector<std::string>{"metrics.port"});
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* message;  // exact
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class AppConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AppConfigErrorTest, NamesFileLineAndKey) {
  const Status st = ParseError(GetParam().yaml);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), GetParam().message);
}

const ErrorCase kErrorCases[] = {
    {"UnknownKeySuggestsClosest",
     "# comment\n\nstate:\n  dir: \"\"\n  retension: 21d\n",
     "t.yaml:5: state.retension: unknown key (did you mean \"retention\"?)"},
    {"UnknownSection", "engine:\n  tz: Z\nstats:\n  x: 1\n",
     "t.yaml:3: stats: unknown key (did you mean \"state\"?)"},
    {"UnknownKeyListsKnownKeys", "checkpoint:\n  frequency: 1s\n",
     "t.yaml:2: checkpoint.frequency: unknown key (expected one of: interval, "
     "max_events)"},
    {"BadDuration", "engine:\n  tz: \"+08:00\"\nstate:\n  retention: abc\n",
     "t.yaml:4: state.retention: expected a duration like \"21d\", got \"abc\" "
     "(units: ms, s, m, h, d, w)"},
    {"DurationWithoutUnit", "watermark:\n  idle_timeout: 30\n",
     "t.yaml:2: watermark.idle_timeout: expected a duration like \"30s\", got "
     "\"30\" (units: ms, s, m, h, d, w)"},
    {"NegativeDuration", "watermark:\n  allowed_lateness: -5m\n",
     "t.yaml:2: watermark.allowed_lateness: must not be negative, got \"-5m\""},
    {"ZeroCheckpointInterval", "checkpoint:\n  interval: 0\n",
     "t.yaml:2: checkpoint.interval: must be at least 1ms, got \"0\""},
    {"BadTz", "\n\nengine:\n  tz: \"+25:00\"\n",
     "t.yaml:4: engine.tz: expected a UTC offset like \"+08:00\", \"-05:30\" "
     "or \"Z\", got \"+25:00\""},
    {"BadSize", "state:\n  block_cache_bytes: 256MB2\n",
     "t.yaml:2: state.block_cache_bytes: expected a size like \"128MiB\", got "
     "\"256MB2\" (a byte count, or units KiB, MiB, GiB, TiB, KB, MB, GB, TB)"},
    {"PortOutOfRange", "metrics:\n  port: 70000\n",
     "t.yaml:2: metrics.port: must be between 0 and 65535, got 70000"},
    {"StallBelowOneSecond", "http:\n  ready_max_stall: 500ms\n",
     "t.yaml:2: http.ready_max_stall: must be at least 1s, got \"500ms\""},
    {"NegativePort", "metrics:\n  port: -1\n",
     "t.yaml:2: metrics.port: must be between 0 and 65535, got -1"},
    {"PortNotANumber", "metrics:\n  port: http\n",
     "t.yaml:2: metrics.port: expected an integer, got \"http\""},
    {"ListForScalar", "metrics:\n  port: [1, 2]\n",
     "t.yaml:2: metrics.port: expected an integer, got a list"},
    {"ScalarForSection", "metrics: 9464\n",
     "t.yaml:1: metrics: expected a mapping of keys, got \"9464\""},
    {"TopLevelNotAMapping", "- a\n- b\n",
     "t.yaml:1: the top level: expected a mapping of keys, got a list"},
    {"BadBool", "state:\n  sync: yes\n",
     "t.yaml:2: state.sync: expected true or false, got \"yes\""},
    {"NullString", "kafka:\n  group:\n",
     "t.yaml:2: kafka.group: expected a string (write \"\" for an empty one), "
     "got nothing"},
    {"EmptyBrokers", "kafka:\n  brokers: \"\"\n",
     "t.yaml:2: kafka.brokers: must not be empty"},
    {"NestedProperty", "kafka:\n  properties:\n    ssl:\n      ca: x\n",
     "t.yaml:4: kafka.properties.ssl: expected a scalar value, got a mapping"},
    {"OwnedProperty", "kafka:\n  properties:\n    group.id: other\n",
     "t.yaml:3: kafka.properties: \"group.id\" may not be set here: set "
     "kafka.group instead"},
    {"DuplicateKey", "state:\n  retention: 21d\n  retention: 22d\n",
     "t.yaml:3: state.retention: duplicate key (first at line 2)"},
    {"BadLogLevel", "engine:\n  log_level: verbose\n",
     "t.yaml:2: engine.log_level: expected one of trace, debug, info, warn, "
     "error, critical, off, got \"verbose\""},
    {"AlphaZero", "rules:\n  cluster_alpha: 0\n",
     "t.yaml:2: rules.cluster_alpha: must be greater than 0"},
    {"AlphaAboveOne", "rules:\n  cluster_alpha: 1.5\n",
     "t.yaml:2: rules.cluster_alpha: must be between 0 and 1, got 1.5"},
    {"BadEvaluationDelay", "rules:\n  cluster_evaluation_delay: soon\n",
     "t.yaml:2: rules.cluster_evaluation_delay: expected a duration like "
     "\"0s\", got \"soon\" (units: ms, s, m, h, d, w)"},
    {"BadTopicName", "topics:\n  fever: \"epi fever\"\n",
     "t.yaml:2: topics.fever: expected a Kafka topic name (1..249 characters "
     "of a-z A-Z 0-9 . _ -), got \"epi fever\""},
    {"DuplicateTopic", "topics:\n  alerts_cluster: epi.alerts.person\n",
     "t.yaml:2: topics.alerts_cluster: topic \"epi.alerts.person\" is already "
     "used by topics.alerts_person"},
    {"RetentionShorterThanRule", "state:\n  retention: 10d\n",
     "t.yaml:2: state.retention: 10d is shorter than rules.retroactive_window "
     "= 14d; state would be deleted before the rule has used it"},
    {"NegativeRepartitionPartitions",
     "scale_out:\n  repartition_partitions: -2\n",
     "t.yaml:2: scale_out.repartition_partitions: must be between 0 and "
     "65535, got -2"},
    {"TooManyRepartitionPartitions",
     "scale_out:\n  repartition_partitions: 65536\n",
     "t.yaml:2: scale_out.repartition_partitions: must be between 0 and "
     "65535, got 65536"},
    {"InvalidYaml", "state:\n  retention: 21d\n  dir: [a\n",
     "t.yaml:4: invalid YAML: end of sequence flow not found"},
};

INSTANTIATE_TEST_SUITE_P(Cases, AppConfigErrorTest,
                         ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) {
                           return std::string(info.param.name);
                         });

TEST_F(AppConfigTest, MissingFileIsAnError) {
  Result<AppConfig> r = LoadAppConfig("/nonexistent/epistream.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/nonexistent/epistream.yaml: cannot open config file: No such "
            "file or directory");
}

TEST_F(AppConfigTest, ErrorNamesThePathGiven) {
  char path[] = "/tmp/epistream_app_config_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "state:\n  retention: 3x\n";
  ASSERT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
  Result<AppConfig> r = LoadAppConfig(path);
  std::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(
                std::string(path) + ":2: state.retention: ", 0),
            0u)
      << r.status().message();
}

TEST_F(AppConfigTest, CheckConfigPrintsOkOrTheError) {
  ::testing::internal::CaptureStdout();
  const int ok_code = RunCheckConfig(kDefaultPath);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(ok_code, 0);
  EXPECT_EQ(out.rfind("ok\n", 0), 0u) << out;
  EXPECT_NE(out.find("retention=21d"), std::string::npos) << out;
  EXPECT_NE(out.find("metrics: http://127.0.0.1:9464/metrics"),
            std::string::npos)
      << out;

  ::testing::internal::CaptureStderr();
  const int bad_code = RunCheckConfig("/nonexistent/epistream.yaml");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(bad_code, 2);
  EXPECT_NE(err.find("/nonexistent/epistream.yaml: cannot open"),
            std::string::npos)
      << err;
}

TEST_F(AppConfigTest, DescribeDoesNotPrintPropertyValues) {
  AppConfig c;
  c.engine.kafka.properties["sasl.password"] = "hunter2";
  const std::string text = DescribeAppConfig(c);
  EXPECT_NE(text.find("sasl.password"), std::string::npos);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace epistream
