// The whole configuration of the `epistream` binary and its loader.
//
// The YAML layout mirrors the structs: top-level sections `engine` (tz,
// max_message_bytes, log_level), `watermark`, `state`, `checkpoint`, `kafka`,
// `metrics`, `http`, `privacy`, `scale_out` (the EngineConfig members), `rules` (RulesConfig) and
// `topics` (TopicsConfig). config/epistream.yaml lists every key with its default;
// tests/topologies/app_config_test.cc keeps that file and these structs equal.
//
// Loading is strict: unknown keys, wrong types and invalid values are errors
// naming file, line and key path, e.g.
//   config.yaml:12: state.retention: expected a duration like "21d", got "abc"
// Absent keys keep their defaults. Command-line flags override the result.
#pragma once

#include <string>
#include <string_view>

#include "engine/engine_config.h"
#include "engine/status.h"
#include "operators/rules_config.h"

namespace epistream {

// Kafka topic names (CONTRACT.md sections 2 and 3). All must be distinct.
struct TopicsConfig {
  // Venue place-code scans. Default: "epi.scans"
  std::string scans = "epi.scans";
  // Entries at transport hubs. Default: "epi.transport"
  std::string transport = "epi.transport";
  // Fever-clinic sentinel visits. Default: "epi.fever"
  std::string fever = "epi.fever";
  // Risk-area designations (global table). Default: "epi.risk_areas"
  std::string risk_areas = "epi.risk_areas";
  // Person registry (global table, compacted). Default: "epi.persons"
  std::string persons = "epi.persons";
  // Person alerts out, keyed by person_id. Default: "epi.alerts.person"
  std::string alerts_person = "epi.alerts.person";
  // Cluster alerts out, keyed by cluster_id. Default: "epi.alerts.cluster"
  std::string alerts_cluster = "epi.alerts.cluster";
  // Unusable input messages, with a reason. Default: "epi.deadletter"
  std::string deadletter = "epi.deadletter";
};

struct AppConfig {
  EngineConfig engine;
  RulesConfig rules;
  TopicsConfig topics;
};

// Reads and validates the YAML file at `path`. A missing or unreadable file
// is an error naming the path.
Result<AppConfig> LoadAppConfig(const std::string& path);

// Parses YAML text; `file_name` is used in error messages only.
Result<AppConfig> ParseAppConfig(std::string_view yaml_text,
                                 std::string_view file_name);

// A few human-readable lines describing the effective settings (no secrets:
// Kafka property values are not printed, only their names).
std::string DescribeAppConfig(const AppConfig& config);

// `epistream check-config FILE`: prints "ok" and the summary on stdout and
// returns 0, or prints the error on stderr and returns 2.
int RunCheckConfig(const std::string& path);

}  // namespace epistream
