// The measured phases of e2e_bench. Each runs in its own child process (so
// its peak RSS is its own) and reports one PhaseResult.
//
//   floor_a  read + parse only (FileLineSource + EventParser), one thread
//   floor_b  Kafka consume only: the engine's KafkaConsumer over the five
//            input topics, every record touched, nothing processed
//   file     the engine in file mode (RunFileMode: RocksDB state, checkpoints)
//   kafka    the engine in Kafka mode (KafkaEngine: group consumer, RocksDB
//            state, exactly-once Kafka sinks), in and out of the broker
//   floor_b and kafka also report a steady state, without start-up:
//     floor_b  assigned_s (the group join), then steady_s, steady_eps and
//              steady_cpu_ns_per_event from the assignment to the end
//     kafka    tables_s (Start: state, sinks, global tables), join_s (from
//              subscribing to the first event applied: the group join, 3 s
//              on the embedded broker, then the first fetch, the table
//              barrier and the merger's first release), first_event_s (the
//              sum), then steady_events (person-topic records, counted by
//              the on_applied hook), steady_s, steady_eps and
//              steady_cpu_ns_per_event from the first event applied to the
//              same end as the whole-phase figure
//   latency_floor  its own broker; input produced at a steady rate and
//            consumed by a bare consumer: produce -> consume latency
//   latency  the same with the engine: produce -> alert emitted (on_alert
//            hook, for alerts an event triggers), consumed -> alert
//            emitted (the measure: the engine's consume time of
//            the alert's event, from on_applied, to on_alert; ms clock)
//            and the engine's own epistream_event_to_alert_seconds
//            histogram (bucket bounds)
//   memory   state for many persons through the city pipeline on RocksDB
//
// Threading: each phase runs on the calling thread (plus the threads of the
// libraries it uses).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/engine_config.h"
#include "engine/status.h"

namespace epistream::bench {

struct BenchFlags {
  uint64_t persons = 1'000'000;
  int days = 2;
  uint64_t seed = 1;
  // Per input topic; 0: one per 12 MiB of input, rounded up to a power of
  // two (the mock keeps ~5 MiB of lz4 batches, ~15 MiB of JSON, each).
  int partitions = 0;
  std::string workdir = "/tmp/epistream-e2e";
  std::string brokers;            // set by the parent for the Kafka phases
  uint64_t expected_records = 0;  // set by the parent: lines of the input
  double latency_rate = 100000;   // events/s produced in the latency phase
  double latency_seconds = 20;
  uint64_t memory_persons = 10'000'000;
  int memory_days = 2;
  int memory_scans_per_day = 3;
  // Extra librdkafka properties for the consumers and the engine (its
  // kafka.properties), "k=v" pairs. Default: none
  std::map<std::string, std::string> kafka_properties;
  // The engine's checkpoint.interval in the kafka and latency phases, in
  // ms; 0 keeps the config default (1 s).
  int64_t checkpoint_interval_ms = 0;
  // The engine's state.encoded_cache_bytes in every engine phase; -1 keeps
  // the config default.
  int64_t encoded_cache_bytes = -1;
  // Latency phase: if set, a file to write each loop turn's split and every
  // event that waited over 40 ms between consume and apply to (where the
  // tail comes from; bench/README.md). Default: none
  std::string latency_trace;
  // Applies the overrides above that every engine phase shares.
  void ApplyState(StateConfig* state) const {
    if (encoded_cache_bytes >= 0) state->encoded_cache_bytes = static_cast<uint64_t>(encoded_cache_bytes);
  }

  std::string input() const;  // workdir/city-<persons>-<days>-<seed>.jsonl
};

struct PhaseResult {
  uint64_t records = 0;    // input records (lines / messages) handled
  double seconds = 0;      // wall time of the measured part
  double cpu_seconds = 0;  // process CPU (all threads) over the same part
  std::string extra;       // "key=value ..." specific to the phase
};

Status RunFloorA(const BenchFlags& f, PhaseResult* r);
Status RunFloorB(const BenchFlags& f, PhaseResult* r);
Status RunFileEngine(const BenchFlags& f, PhaseResult* r);
Status RunKafkaEngine(const BenchFlags& f, PhaseResult* r);
Status RunLatencyFloor(const BenchFlags& f, PhaseResult* r);
Status RunLatency(const BenchFlags& f, PhaseResult* r);
Status RunMemory(const BenchFlags& f, PhaseResult* r);

// CPU seconds of this process so far (user + system, all threads).
double ProcessCpuSeconds();

}  // namespace epistream::bench
