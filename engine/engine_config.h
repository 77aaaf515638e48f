// Runtime settings of the engine (no epidemic knowledge). Mirrors the
// `engine:`, `state:`, `kafka:`, `metrics:`, `http:`, `privacy:` and
// `scale_out:` sections of
// config/epistream.yaml.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/event_time.h"

namespace epistream {

struct WatermarkConfig {
  // Bounded out-of-orderness subtracted from the max event time. Default: 5m
  DurationMs out_of_orderness = 5 * kMinuteMs;
  // Events older than watermark - allowed_lateness are dead-lettered too_late. Default: 1h
  DurationMs allowed_lateness = kHourMs;
  // A partition with no events for this long (wall clock) stops holding the
  // watermark back. Default: 30s
  DurationMs idle_timeout = 30 * kSecondMs;
};

struct StateConfig {
  // RocksDB directory; empty means a fresh temporary directory. Default: ""
  std::string dir;
  // Event-time retention of all per-person state and event-id dedupe. Default: 21d
  DurationMs retention = 21 * kDayMs;
  // Shared RocksDB block cache for the whole process. Default: 128 MiB
  uint64_t block_cache_bytes = 128ull << 20;
  // Shared memtable budget (WriteBufferManager) for the whole process. Default: 128 MiB
  uint64_t write_buffer_bytes = 128ull << 20;
  // Decoded person states kept in memory in front of the encoded ones: the
  // persons of the last few events (small, so they stay in the CPU caches;
  // operators/person_cache.h). Default: 64
  uint64_t cache_entries = 64;
  // Person states kept in memory in their stored (encoded) form behind the
  // decoded ones (~170-350 bytes each instead of ~1-3 KB). Default: 320 MiB
  // (a city of a million persons; with the 128 MiB block cache the 10M-person
  // memory bench stays within 1 GiB)
  uint64_t encoded_cache_bytes = 320ull << 20;
  // fsync the WAL at each checkpoint. Default: false (WAL written, OS-buffered)
  bool sync = false;
};

struct CheckpointConfig {
  // Wall-clock interval between checkpoints. Default: 1s
  DurationMs interval = kSecondMs;
  // Also checkpoint after this many events (bounds replay after a crash). Default: 200000
  uint64_t max_events = 200000;
};

struct KafkaConfig {
  // bootstrap.servers of the cluster. Default: "127.0.0.1:9092"
  std::string brokers = "127.0.0.1:9092";
  // Consumer group id. Default: "epistream"
  std::string group = "epistream";
  // Extra librdkafka properties passed through as-is (TLS, SASL...). Default: {}
  std::map<std::string, std::string> properties;
};

// Several `epistream run` processes sharing one kafka.group (issue 8).
// The `scale_out:` section of config/epistream.yaml; the command-line flags
// `epistream run --scale-out` / `--repartition` switch it on as well.
struct ScaleOutConfig {
  // Multi-instance mode: the person topics are assigned with the range
  // assignor (partition p of every topic to one instance), each checkpoint
  // also goes to the changelog topic, a partition taken over is restored
  // from it (or from a current local copy) before it is processed, and
  // replayed output is suppressed per partition. Off: one instance owns
  // everything (the single-instance behaviour). Default: false
  bool enabled = false;
  // Send the cluster stage's input through the repartition topic
  // epistream.repartition.cluster to one cluster stage per repartition
  // partition (group <kafka.group>.cluster), so cluster alerts see every
  // instance's input; needs enabled. Default: false
  bool repartition = false;
  // Partitions of epistream.repartition.cluster when the engine (or
  // `epistream broker`) creates it; 0 = min(input partitions, 6). City-wide
  // count records go to every repartition partition, so each costs this
  // many frames: keep it near the number of instances that run cluster
  // stages, not the input partition count. An existing topic's count wins
  // (a warning names both). Same as `epistream run --repartition-partitions`.
  // Default: 0
  int repartition_partitions = 0;
  // Compacted changelog topic of the person state, one partition per input
  // partition; created if missing. Default: "epistream.changelog"
  std::string changelog_topic = "epistream.changelog";
};

struct MetricsConfig {
  // Port of the process's one HTTP server (/metrics, /healthz, /readyz and,
  // when enabled, /v1 queries); 0 disables it. Default: 9464
  int port = 9464;
  // Address to bind. Default: "127.0.0.1"
  std::string bind = "127.0.0.1";
};

// The operator endpoints of the HTTP server (engine/http_server.h), which
// listens on MetricsConfig's bind and port.
struct HttpConfig {
  // Serve the read-only state queries GET /v1/persons/{id} and GET
  // /v1/clusters. They return person data: keep them off unless the port is
  // reachable by operators only. Default: false
  bool queries = false;
  // File whose first line is the bearer token the queries require
  // ("Authorization: Bearer <token>"); needed when queries is true. Default: ""
  std::string token_file;
  // /readyz answers 503 once the engine loop has made no progress for this
  // long (wall clock). Default: 30s
  DurationMs ready_max_stall = 30 * kSecondMs;
};

struct PrivacyConfig {
  // Replace every person_id with HMAC-SHA256(key, person_id) right after
  // parsing, so state, alerts and logs only ever hold pseudonyms
  // (config/PRIVACY.md). Default: false
  bool pseudonymize = false;
  // File holding the secret key (at least 16 bytes; one trailing newline is
  // ignored); required when pseudonymize is true. Default: ""
  std::string key_file;
};

struct EngineConfig {
  WatermarkConfig watermark;
  StateConfig state;
  CheckpointConfig checkpoint;
  KafkaConfig kafka;
  MetricsConfig metrics;
  HttpConfig http;
  PrivacyConfig privacy;
  ScaleOutConfig scale_out;
  // Local timezone for calendar days (once-per-day rules, clinic days). Default: "+08:00"
  int tz_offset_minutes = 8 * 60;
  // Messages above this size are dead-lettered too_large. Default: 65536
  uint64_t max_message_bytes = 64 * 1024;
  // spdlog level on stderr: trace, debug, info, warn, error, critical, off. Default: "info"
  std::string log_level = "info";
  // Run the cluster stage (fever_cluster, clinic_surge) on a thread of its
  // own (operators/cluster/cluster_worker.h), so the person and cluster
  // stages apply events on two cores; outputs are the same either way.
  // Default: true
  bool cluster_thread = true;
  // Parse the next records on a helper thread while the stage thread
  // applies the ones before (topologies/parse_ahead.h); outputs are the
  // same either way. Default: true
  bool parse_thread = true;
};

}  // namespace epistream
