// KafkaLoader: puts a generated city (JSON Lines) on the embedded broker the
// way a field producer would, for the end-to-end and latency benches.
//
// Each line goes to the topic of its "type" (scan -> epi.scans, ...), keyed
// by person_id (region for risk_area), partitioned by murmur2 of the key
// (the Java default), lz4-compressed. librdkafka 2.0.2's mock broker keeps
// only ~5 MiB of stored batches per partition and silently drops older ones,
// so Verify() checks afterwards that every partition still starts at offset
// 0 and that the high watermarks add up to what was produced.
//
// Threading: one thread per loader; Produce* block.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kafka_status.h"
#include "engine/status.h"
#include "topologies/app_config.h"

namespace epistream::bench {

// One input line routed to its topic.
struct RoutedLine {
  int topic = 0;  // index into KafkaLoader::topics()
  std::string key;
  std::string value;
  std::string event_id;
};

class KafkaLoader {
 public:
  KafkaLoader(std::string brokers, TopicsConfig topics);
  ~KafkaLoader();

  // The five input topics, in type order (scan, transport, fever, risk_area,
  // person).
  const std::vector<std::string>& topics() const { return topic_names_; }

  // Routes a line; false for a line that is not a valid event.
  bool Route(std::string_view line, RoutedLine* out);

  // Produces `lines` as fast as the broker takes them.
  Status ProduceAll(const std::vector<RoutedLine>& lines);
  // Produces lines[i] at start + i / rate (steady rate). `sent` (if given)
  // gets the steady-clock nanoseconds each line was handed to librdkafka.
  // Stops early when *stop becomes true.
  Status ProduceAtRate(const std::vector<RoutedLine>& lines, double rate,
                       std::vector<std::atomic<int64_t>>* sent,
                       const std::atomic<bool>* stop);

  // Every partition of the input topics from offset 0, high watermarks
  // summing to `expected`; *total gets the sum.
  Status Verify(uint64_t expected, uint64_t* total);
  // Sum of the high watermarks of `topic` (all partitions).
  Result<uint64_t> TopicEnd(const std::string& topic);

  uint64_t produced() const { return produced_; }

 private:
  Status Open();
  Status ProduceOne(const RoutedLine& line);

  std::string brokers_;
  std::vector<std::string> topic_names_;
  rd_kafka_t* rk_ = nullptr;
  std::vector<rd_kafka_topic_t*> rkts_;
  uint64_t produced_ = 0;
};

}  // namespace epistream::bench
