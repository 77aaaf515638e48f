// KafkaProducer: the idempotent producer of alerts and dead letters.
//
// Settings: enable.idempotence=true (so acks=all, in-order, no duplicates
// from internal retries), linger.ms=5, compression lz4 when the library has
// it, partitioner murmur2_random (the Java client's default: a key lands on
// the same partition whichever client produced it). Extra properties may
// override all but enable.idempotence.
//
// Delivery: Produce() only enqueues (copying key and value). Delivery
// reports are served inside Produce() (now and then), Poll() and Flush(); a
// failed delivery is counted and remembered, and the next Flush() returns
// the first failure since the previous Flush(). The owner must treat a
// failed Flush as "the output since the last checkpoint is incomplete"
// (re-run from the checkpoint; the exactly-once read-back removes the
// duplicates that this produces).
//
// End offsets: every successful delivery advances DeliveredEndOffsets()
// (last delivered offset + 1 per partition), and EndOffset() asks the
// broker, so after a successful Flush() the owner can record where its
// output ends and later read back everything written after that point
// (TableReader).
//
// Threading: not thread-safe; one owner thread calls everything (delivery
// callbacks run on it, inside Produce/Poll/Flush).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/kafka_consumer.h"
#include "engine/kafka_status.h"
#include "engine/status.h"

namespace epistream {

struct KafkaProducerOptions {
  // bootstrap.servers. Default: "127.0.0.1:9092"
  std::string brokers = "127.0.0.1:9092";
  // Extra librdkafka properties; override the defaults above except
  // enable.idempotence. Default: {}
  std::map<std::string, std::string> properties;
  // How long Produce() waits for room when the local queue is full
  // (broker slow or down) before returning Unavailable. Default: 30000
  int queue_full_timeout_ms = 30000;
};

class KafkaProducer {
 public:
  static Result<std::unique_ptr<KafkaProducer>> Create(
      const KafkaProducerOptions& options);

  // Flushes for up to 10 s, then drops what is left (logged).
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Enqueues one message, partitioned by the hash of `key` (an empty key
  // gives a random partition). Waits while the queue is full, serving
  // delivery reports, up to queue_full_timeout_ms. Fails on a fatal
  // producer error (Internal), an unknown topic (NotFound), a message over
  // message.max.bytes (InvalidArgument).
  Status Produce(const std::string& topic, std::string_view key,
                 std::string_view value);
  // As Produce, but to partition `partition` (>= 0) whatever the key: the
  // repartition topic, whose partitions the caller chooses
  // (operators/cluster/repartition_router.h). An empty key stays keyless.
  Status ProduceToPartition(const std::string& topic, int32_t partition,
                            std::string_view key, std::string_view value);

  // Creates `topic` with `partitions` partitions (default config) if it does
  // not exist; a broker without CreateTopics (the embedded one) auto-creates
  // it on the metadata request instead. Returns its partition count,
  // InvalidArgument if it has fewer than `partitions`.
  Result<int32_t> EnsureTopic(const std::string& topic, int32_t partitions,
                              int timeout_ms = 30000);

  // Serves delivery reports without blocking (or up to timeout_ms).
  void Poll(int timeout_ms = 0);

  // Waits until every enqueued message is delivered or failed; returns
  // Unavailable on timeout (messages still in flight), else the first
  // delivery failure since the previous Flush(), else Ok.
  Status Flush(int timeout_ms);

  // Last delivered offset + 1 per partition, from delivery reports.
  const std::map<TopicPartition, int64_t>& DeliveredEndOffsets() const {
    return delivered_end_;
  }
  // The partition's high watermark, asked from the broker (blocking).
  Result<int64_t> EndOffset(const std::string& topic, int32_t partition,
                            int timeout_ms = 5000);
  // Number of partitions of a topic, from the broker (blocking).
  Result<int32_t> PartitionCount(const std::string& topic,
                                 int timeout_ms = 5000);

  uint64_t delivered() const { return delivered_; }
  uint64_t failed() const { return failed_; }
  // Messages enqueued and not yet delivered or failed.
  int in_flight() const { return rd_kafka_outq_len(rk_.get()); }

 private:
  explicit KafkaProducer(int queue_full_timeout_ms);
  static void DeliveryTrampoline(rd_kafka_t* rk, const rd_kafka_message_t* m,
                                 void* opaque);
  void OnDelivery(const rd_kafka_message_t* m);
  Result<rd_kafka_topic_t*> Topic(const std::string& topic);
  Status ProduceImpl(const std::string& topic, int32_t partition,
                     std::string_view key, std::string_view value);
  Status FatalStatus();

  KafkaHandle rk_;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;  // owned
  int queue_full_timeout_ms_;
  uint32_t since_poll_ = 0;
  uint64_t delivered_ = 0;
  uint64_t failed_ = 0;
  Status first_failure_;
  std::map<TopicPartition, int64_t> delivered_end_;
};

}  // namespace epistream
