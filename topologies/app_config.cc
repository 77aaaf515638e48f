#include "topologies/app_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "engine/logging.h"
#include "engine/pseudonymizer.h"
#include "engine/yaml_config.h"

namespace epistream {
namespace {

std::string FormatTz(int minutes) {
  const int a = minutes < 0 ? -minutes : minutes;
  return fmt::format("{}{:02}:{:02}", minutes < 0 ? '-' : '+', a / 60, a % 60);
}

// Kafka topic names: 1..249 characters of [a-zA-Z0-9._-].
bool IsTopicName(std::string_view s) {
  if (s.empty() || s.size() > 249 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

// librdkafka properties the engine sets itself from dedicated keys or must
// own for exactly-once processing (offsets are stored with the state).
constexpr std::pair<std::string_view, std::string_view>
    kOwnedKafkaProperties[] = {
        {"bootstrap.servers", "set kafka.brokers instead"},
        {"metadata.broker.list", "set kafka.brokers instead"},
        {"group.id", "set kafka.group instead"},
        {"enable.auto.commit",
         "the engine commits offsets together with its state"},
        {"enable.auto.offset.store",
         "the engine commits offsets together with its state"},
};

Status ReadEngine(YamlSection& root, EngineConfig* c) {
  Result<YamlSection> r = root.Section("engine");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  std::string tz = FormatTz(c->tz_offset_minutes);
  EPI_RETURN_IF_ERROR(s.String("tz", &tz));
  std::optional<int> offset = ParseTzOffset(tz);
  if (!offset) {
    return s.Invalid(
        "tz",
        fmt::format("expected a UTC offset like \"+08:00\", \"-05:30\" or "
                    "\"Z\", got \"{}\"",
                    tz));
  }
  c->tz_offset_minutes = *offset;
  EPI_RETURN_IF_ERROR(s.Size("max_message_bytes", &c->max_message_bytes, 1));
  if (c->max_message_bytes > (1ull << 30)) {
    return s.Invalid("max_message_bytes", "must be at most 1GiB");
  }
  EPI_RETURN_IF_ERROR(s.String("log_level", &c->log_level));
  if (!IsLogLevel(c->log_level)) {
    return s.Invalid(
        "log_level",
        fmt::format(
            "expected one of trace, debug, info, warn, error, critical, "
            "off, got \"{}\"",
            c->log_level));
  }
  EPI_RETURN_IF_ERROR(s.Bool("cluster_thread", &c->cluster_thread));
  EPI_RETURN_IF_ERROR(s.Bool("parse_thread", &c->parse_thread));
  return s.Finish();
}

Status ReadWatermark(YamlSection& root, WatermarkConfig* c) {
  Result<YamlSection> r = root.Section("watermark");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.Duration("out_of_orderness", &c->out_of_orderness));
  EPI_RETURN_IF_ERROR(s.Duration("allowed_lateness", &c->allowed_lateness));
  EPI_RETURN_IF_ERROR(s.Duration("idle_timeout", &c->idle_timeout));
  return s.Finish();
}

Status ReadState(YamlSection& root, StateConfig* c) {
  Result<YamlSection> r = root.Section("state");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.String("dir", &c->dir));
  EPI_RETURN_IF_ERROR(s.Duration("retention", &c->retention, kHourMs));
  EPI_RETURN_IF_ERROR(s.Size("block_cache_bytes", &c->block_cache_bytes));
  EPI_RETURN_IF_ERROR(s.Size("write_buffer_bytes", &c->write_buffer_bytes));
  EPI_RETURN_IF_ERROR(s.Uint("cache_entries", &c->cache_entries));
  EPI_RETURN_IF_ERROR(s.Size("encoded_cache_bytes", &c->encoded_cache_bytes));
  EPI_RETURN_IF_ERROR(s.Bool("sync", &c->sync));
  return s.Finish();
}

Status ReadCheckpoint(YamlSection& root, CheckpointConfig* c) {
  Result<YamlSection> r = root.Section("checkpoint");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.Duration("interval", &c->interval, 1));
  EPI_RETURN_IF_ERROR(s.Uint("max_events", &c->max_events, 1));
  return s.Finish();
}

Status ReadKafka(YamlSection& root, KafkaConfig* c) {
  Result<YamlSection> r = root.Section("kafka");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.String("brokers", &c->brokers));
  if (c->brokers.empty()) return s.Invalid("brokers", "must not be empty");
  EPI_RETURN_IF_ERROR(s.String("group", &c->group));
  if (c->group.empty()) return s.Invalid("group", "must not be empty");
  EPI_RETURN_IF_ERROR(s.StringMap("properties", &c->properties));
  for (const auto& [name, why] : kOwnedKafkaProperties) {
    if (c->properties.count(std::string(name)) != 0) {
      return s.Invalid(
          "properties",
          fmt::format("\"{}\" may not be set here: {}", name, why));
    }
  }
  return s.Finish();
}

Status ReadMetrics(YamlSection& root, MetricsConfig* c) {
  Result<YamlSection> r = root.Section("metrics");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.Int("port", &c->port, 0, 65535));
  EPI_RETURN_IF_ERROR(s.String("bind", &c->bind));
  if (c->bind.empty())
    return s.Invalid("bind", "must not be empty (use 0.0.0.0 for all)");
  return s.Finish();
}

Status ReadHttp(YamlSection& root, HttpConfig* c) {
  Result<YamlSection> r = root.Section("http");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.Bool("queries", &c->queries));
  // Whether the file exists and holds a token is checked when the server
  // starts (secrets are often mounted after the config is written).
  EPI_RETURN_IF_ERROR(s.String("token_file", &c->token_file));
  EPI_RETURN_IF_ERROR(
      s.Duration("ready_max_stall", &c->ready_max_stall, kSecondMs));
  return s.Finish();
}

Status ReadPrivacy(YamlSection& root, PrivacyConfig* c) {
  Result<YamlSection> r = root.Section("privacy");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.Bool("pseudonymize", &c->pseudonymize));
  EPI_RETURN_IF_ERROR(s.String("key_file", &c->key_file));
  return s.Finish();
}

Status ReadScaleOut(YamlSection& root, ScaleOutConfig* c) {
  Result<YamlSection> r = root.Section("scale_out");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.Bool("enabled", &c->enabled));
  EPI_RETURN_IF_ERROR(s.Bool("repartition", &c->repartition));
  // The partition number q is a be16 in the state keys (Q<be16 q>).
  EPI_RETURN_IF_ERROR(
      s.Int("repartition_partitions", &c->repartition_partitions, 0, 65535));
  EPI_RETURN_IF_ERROR(s.String("changelog_topic", &c->changelog_topic));
  if (c->changelog_topic.empty()) {
    return s.Invalid("changelog_topic", "must not be empty");
  }
  // repartition without enabled is refused when the engine starts (the
  // command line may still switch enabled on).
  return s.Finish();
}

Status ReadRules(YamlSection& root, RulesConfig* c) {
  Result<YamlSection> r = root.Section("rules");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  EPI_RETURN_IF_ERROR(s.Duration("risk_lookback", &c->risk_lookback));
  EPI_RETURN_IF_ERROR(s.Duration("retroactive_window", &c->retroactive_window));
  EPI_RETURN_IF_ERROR(s.Duration("test_deadline", &c->test_deadline, 1));
  EPI_RETURN_IF_ERROR(s.Duration("quarantine_inbound", &c->quarantine_inbound));
  EPI_RETURN_IF_ERROR(
      s.Duration("quarantine_high_risk", &c->quarantine_high_risk));
  EPI_RETURN_IF_ERROR(
      s.Duration("fever_exposure_lookback", &c->fever_exposure_lookback));
  EPI_RETURN_IF_ERROR(s.Duration("venue_trail", &c->venue_trail, 1));
  EPI_RETURN_IF_ERROR(
      s.Duration("cluster_case_window", &c->cluster_case_window, 1));
  EPI_RETURN_IF_ERROR(s.Duration("cluster_population_window",
                                 &c->cluster_population_window, 1));
  EPI_RETURN_IF_ERROR(
      s.Duration("community_case_window", &c->community_case_window, 1));
  EPI_RETURN_IF_ERROR(
      s.Uint("cluster_min_cases", &c->cluster_min_cases, 1, 1000000));
  EPI_RETURN_IF_ERROR(s.Double("cluster_alpha", &c->cluster_alpha, 0.0, 1.0));
  if (c->cluster_alpha <= 0.0)
    return s.Invalid("cluster_alpha", "must be greater than 0");
  std::string cluster_method =
      c->cluster_method == ClusterMethod::kVenueDay ? "venue_day" : "contract";
  EPI_RETURN_IF_ERROR(s.String("cluster_method", &cluster_method));
  if (cluster_method != "contract" && cluster_method != "venue_day")
    return s.Invalid("cluster_method",
                     "expected contract or venue_day, got \"" +
                         cluster_method + "\"");
  c->cluster_method = cluster_method == "venue_day" ? ClusterMethod::kVenueDay
                                                    : ClusterMethod::kContract;
  std::string community_method =
      c->community_method == CommunityMethod::kWeekly ? "weekly" : "contract";
  EPI_RETURN_IF_ERROR(s.String("community_method", &community_method));
  if (community_method != "contract" && community_method != "weekly")
    return s.Invalid("community_method",
                     "expected contract or weekly, got \"" +
                         community_method + "\"");
  c->community_method = community_method == "weekly"
                            ? CommunityMethod::kWeekly
                            : CommunityMethod::kContract;
  // A duration, or "deterministic" (the allowed lateness + 1 ms, resolved
  // where the cluster stage's options are built: the watermark section may
  // come later in the file).
  std::string delay;
  EPI_RETURN_IF_ERROR(s.String("cluster_evaluation_delay", &delay));
  if (delay == "deterministic") {
    c->cluster_evaluation_delay = kDeterministicEvaluationDelay;
  } else {
    EPI_RETURN_IF_ERROR(s.Duration("cluster_evaluation_delay", &c->cluster_evaluation_delay));
  }
  EPI_RETURN_IF_ERROR(
      s.Uint("surge_baseline_days", &c->surge_baseline_days, 2, 366));
  EPI_RETURN_IF_ERROR(s.Uint("surge_guard_days", &c->surge_guard_days, 0, 366));
  EPI_RETURN_IF_ERROR(
      s.Double("surge_sd_multiplier", &c->surge_sd_multiplier, 0.0, 1000.0));
  EPI_RETURN_IF_ERROR(s.Double("surge_min_sd", &c->surge_min_sd, 0.0, 1e9));
  EPI_RETURN_IF_ERROR(
      s.Uint("surge_min_visits", &c->surge_min_visits, 0, 1000000000));
  EPI_RETURN_IF_ERROR(
      s.Uint("surge_min_history_days", &c->surge_min_history_days, 1, 366));
  std::string method = c->surge_method == SurgeMethod::kEarsC3 ? "c3" : "c2";
  EPI_RETURN_IF_ERROR(s.String("surge_method", &method));
  if (method != "c2" && method != "c3")
    return s.Invalid("surge_method",
                     "expected c2 or c3, got \"" + method + "\"");
  c->surge_method =
      method == "c3" ? SurgeMethod::kEarsC3 : SurgeMethod::kEarsC2;
  EPI_RETURN_IF_ERROR(
      s.Double("surge_c3_day_offset", &c->surge_c3_day_offset, 0.0, 1000.0));
  EPI_RETURN_IF_ERROR(
      s.Double("surge_c3_threshold", &c->surge_c3_threshold, 0.0, 1000.0));
  return s.Finish();
}

Status ReadTopics(YamlSection& root, TopicsConfig* c) {
  Result<YamlSection> r = root.Section("topics");
  if (!r.ok()) return r.status();
  YamlSection& s = *r;
  const std::pair<std::string_view, std::string*> fields[] = {
      {"scans", &c->scans},
      {"transport", &c->transport},
      {"fever", &c->fever},
      {"risk_areas", &c->risk_areas},
      {"persons", &c->persons},
      {"alerts_person", &c->alerts_person},
      {"alerts_cluster", &c->alerts_cluster},
      {"deadletter", &c->deadletter},
  };
  for (const auto& [key, field] : fields) {
    EPI_RETURN_IF_ERROR(s.String(key, field));
    if (!IsTopicName(*field)) {
      return s.Invalid(
          key, fmt::format("expected a Kafka topic name (1..249 characters of "
                           "a-z A-Z 0-9 . _ -), got \"{}\"",
                           *field));
    }
  }
  for (size_t i = 0; i < std::size(fields); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (*fields[i].second == *fields[j].second) {
        return s.Invalid(
            fields[i].first,
            fmt::format("topic \"{}\" is already used by {}", *fields[i].second,
                        s.PathOf(fields[j].first)));
      }
    }
  }
  return s.Finish();
}

// Person state must outlive every rule window that reads it, or rules would
// silently miss history.
Status CheckRetention(YamlSection& root, const AppConfig& c) {
  const RulesConfig& r = c.rules;
  const std::pair<std::string_view, DurationMs> windows[] = {
      {"rules.retroactive_window", r.retroactive_window},
      {"rules.test_deadline", r.test_deadline},
      {"rules.quarantine_inbound", r.quarantine_inbound},
      {"rules.quarantine_high_risk", r.quarantine_high_risk},
      {"rules.fever_exposure_lookback", r.fever_exposure_lookback},
      {"rules.venue_trail", r.venue_trail},
      {"rules.cluster_case_window", r.cluster_case_window},
      {"rules.cluster_population_window", r.cluster_population_window},
      {"rules.community_case_window", r.community_case_window},
      {"rules.surge_baseline_days + surge_guard_days + 1",
       (int64_t{r.surge_baseline_days} + r.surge_guard_days + 1 +
        (r.surge_method == SurgeMethod::kEarsC3 ? 2 : 0)) *
           kDayMs},
  };
  for (const auto& [name, window] : windows) {
    if (c.engine.state.retention < window) {
      Result<YamlSection> state = root.Section("state");
      if (!state.ok()) return state.status();
      return state->Invalid(
          "retention",
          fmt::format("{} is shorter than {} = {}; state would be deleted "
                      "before the rule has used it",
                      FormatDuration(c.engine.state.retention), name,
                      FormatDuration(window)));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<AppConfig> ParseAppConfig(std::string_view yaml_text,
                                 std::string_view file_name) {
  Result<YamlSection> root = YamlSection::Root(yaml_text, file_name);
  if (!root.ok()) return root.status();
  YamlSection& s = *root;
  AppConfig c;
  EPI_RETURN_IF_ERROR(ReadEngine(s, &c.engine));
  EPI_RETURN_IF_ERROR(ReadWatermark(s, &c.engine.watermark));
  EPI_RETURN_IF_ERROR(ReadState(s, &c.engine.state));
  EPI_RETURN_IF_ERROR(ReadCheckpoint(s, &c.engine.checkpoint));
  EPI_RETURN_IF_ERROR(ReadKafka(s, &c.engine.kafka));
  EPI_RETURN_IF_ERROR(ReadMetrics(s, &c.engine.metrics));
  EPI_RETURN_IF_ERROR(ReadHttp(s, &c.engine.http));
  EPI_RETURN_IF_ERROR(ReadPrivacy(s, &c.engine.privacy));
  EPI_RETURN_IF_ERROR(ReadScaleOut(s, &c.engine.scale_out));
  EPI_RETURN_IF_ERROR(ReadRules(s, &c.rules));
  EPI_RETURN_IF_ERROR(ReadTopics(s, &c.topics));
  EPI_RETURN_IF_ERROR(s.Finish());
  EPI_RETURN_IF_ERROR(CheckRetention(s, c));
  return c;
}

Result<AppConfig> LoadAppConfig(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(
        fmt::format("{}: is a directory, not a config file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound(fmt::format("{}: cannot open config file: {}", path,
                                        std::strerror(errno)));
  }
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad())
    return Status::IoError(fmt::format("{}: cannot read config file", path));
  Result<AppConfig> config = ParseAppConfig(text, path);
  if (!config.ok()) return config;
  // The key file is checked here, not in ParseAppConfig (which sees text
  // only), so check-config and start-up both fail on a missing or short key.
  const PrivacyConfig& privacy = config->engine.privacy;
  if (privacy.pseudonymize) {
    if (privacy.key_file.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{}: privacy.key_file: required when privacy.pseudonymize is true",
          path));
    }
    Result<std::unique_ptr<Pseudonymizer>> p =
        Pseudonymizer::FromKeyFile(privacy.key_file);
    if (!p.ok()) {
      return Status::InvalidArgument(fmt::format(
          "{}: privacy.key_file: {}", path, p.status().message()));
    }
  }
  return config;
}

std::string DescribeAppConfig(const AppConfig& c) {
  const EngineConfig& e = c.engine;
  const RulesConfig& r = c.rules;
  const TopicsConfig& t = c.topics;
  std::string out;
  out += fmt::format(
      "engine: tz={} max_message_bytes={} log_level={} cluster_thread={} parse_thread={}\n",
      FormatTz(e.tz_offset_minutes), FormatSize(e.max_message_bytes), e.log_level,
      e.cluster_thread, e.parse_thread);
  out += fmt::format(
      "watermark: out_of_orderness={} allowed_lateness={} idle_timeout={}\n",
      FormatDuration(e.watermark.out_of_orderness),
      FormatDuration(e.watermark.allowed_lateness),
      FormatDuration(e.watermark.idle_timeout));
  out += fmt::format(
      "state: dir={} retention={} block_cache_bytes={} write_buffer_bytes={} "
      "cache_entries={} encoded_cache_bytes={} sync={}\n",
      e.state.dir.empty() ? "(fresh temporary directory)" : e.state.dir,
      FormatDuration(e.state.retention), FormatSize(e.state.block_cache_bytes),
      FormatSize(e.state.write_buffer_bytes), e.state.cache_entries,
      FormatSize(e.state.encoded_cache_bytes), e.state.sync);
  out += fmt::format("checkpoint: interval={} max_events={}\n",
                     FormatDuration(e.checkpoint.interval),
                     e.checkpoint.max_events);
  std::vector<std::string> property_names;
  for (const auto& [name, value] : e.kafka.properties)
    property_names.push_back(name);
  out += fmt::format("kafka: brokers={} group={} properties=[{}]\n",
                     e.kafka.brokers, e.kafka.group,
                     fmt::join(property_names, ", "));
  if (e.metrics.port == 0) {
    out += "metrics: disabled\n";
  } else {
    out += fmt::format("metrics: http://{}:{}/metrics\n", e.metrics.bind,
                       e.metrics.port);
  }
  out += fmt::format("http: queries={} token_file={} ready_max_stall={}\n",
                     e.http.queries ? "on" : "off",
                     e.http.token_file.empty() ? "(none)" : e.http.token_file,
                     FormatDuration(e.http.ready_max_stall));
  // The key file's path only, never the key.
  out += fmt::format("privacy: pseudonymize={} key_file={}\n",
                     e.privacy.pseudonymize,
                     e.privacy.key_file.empty() ? "(none)" : e.privacy.key_file);
  out += fmt::format(
      "scale_out: enabled={} repartition={} repartition_partitions={} "
      "changelog_topic={}\n",
      e.scale_out.enabled, e.scale_out.repartition,
      e.scale_out.repartition_partitions == 0
          ? std::string("default")
          : std::to_string(e.scale_out.repartition_partitions),
      e.scale_out.changelog_topic);
  out += fmt::format(
      "rules: risk_lookback={} retroactive_window={} test_deadline={} "
      "quarantine_inbound={} "
      "quarantine_high_risk={} fever_exposure_lookback={} venue_trail={}\n",
      FormatDuration(r.risk_lookback), FormatDuration(r.retroactive_window),
      FormatDuration(r.test_deadline), FormatDuration(r.quarantine_inbound),
      FormatDuration(r.quarantine_high_risk),
      FormatDuration(r.fever_exposure_lookback), FormatDuration(r.venue_trail));
  out += fmt::format(
      "rules: cluster_case_window={} cluster_population_window={} "
      "community_case_window={} "
      "cluster_min_cases={} cluster_alpha={}\n",
      FormatDuration(r.cluster_case_window),
      FormatDuration(r.cluster_population_window),
      FormatDuration(r.community_case_window), r.cluster_min_cases,
      r.cluster_alpha);
  out += fmt::format(
      "rules: surge_baseline_days={} surge_guard_days={} "
      "surge_sd_multiplier={} "
      "surge_min_sd={} surge_min_visits={} surge_min_history_days={}\n",
      r.surge_baseline_days, r.surge_guard_days, r.surge_sd_multiplier,
      r.surge_min_sd, r.surge_min_visits, r.surge_min_history_days);
  out += fmt::format(
      "topics in: scans={} transport={} fever={} risk_areas={} persons={}\n",
      t.scans, t.transport, t.fever, t.risk_areas, t.persons);
  out += fmt::format(
      "topics out: alerts_person={} alerts_cluster={} deadletter={}\n",
      t.alerts_person, t.alerts_cluster, t.deadletter);
  return out;
}

int RunCheckConfig(const std::string& path) {
  Result<AppConfig> config = LoadAppConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  std::fprintf(stdout, "ok\n%s", DescribeAppConfig(*config).c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace epistream
