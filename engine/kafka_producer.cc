#include "engine/kafka_producer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>
#include <utility>

namespace epistream {

namespace {

// Serve delivery reports at least this often from Produce(), so the
// report queue does not grow with the in-flight window.
constexpr uint32_t kPollEvery = 1024;

void ErrorCallback(rd_kafka_t* /*rk*/, int err, const char* reason,
                   void* /*opaque*/) {
  // Transport errors repeat while a broker is down; librdkafka retries by
  // itself. Fatal errors are picked up by Produce/Flush via
  // rd_kafka_fatal_error().
  spdlog::warn("kafka producer: {}: {}",
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
               reason != nullptr ? reason : "");
}

}  // namespace

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const KafkaProducerOptions& options) {
  std::unique_ptr<KafkaProducer> self(
      new KafkaProducer(options.queue_full_timeout_ms));
  auto rk = KafkaCreateIdempotentProducer(
      {
          {"bootstrap.servers", options.brokers},
          {"client.id", "epistream"},
          {"acks", "all"},
          {"linger.ms", "5"},
          {"partitioner", "murmur2_random"},
      },
      options.properties, self.get(), &DeliveryTrampoline, &ErrorCallback);
  if (!rk.ok()) return rk.status();
  self->rk_ = std::move(rk).value();
  return self;
}

KafkaProducer::KafkaProducer(int queue_full_timeout_ms)
    : queue_full_timeout_ms_(queue_full_timeout_ms) {}

KafkaProducer::~KafkaProducer() {
  if (!rk_) return;
  Status st = Flush(10000);
  if (!st.ok()) {
    spdlog::error("kafka producer closing: {} ({} messages not delivered)",
                  st.ToString(), rd_kafka_outq_len(rk_.get()));
  }
  for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
  topics_.clear();
}

Result<rd_kafka_topic_t*> KafkaProducer::Topic(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it != topics_.end()) return it->second;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
  if (rkt == nullptr) {
    return KafkaStatus(rd_kafka_last_error(), "kafka producer: topic " + topic);
  }
  topics_.emplace(topic, rkt);
  return rkt;
}

Status KafkaProducer::FatalStatus() {
  std::array<char, 512> buf{};
  const rd_kafka_resp_err_t err =
      rd_kafka_fatal_error(rk_.get(), buf.data(), buf.size());
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return Status::Internal(std::string("kafka producer: fatal error: ") +
                          rd_kafka_err2name(err) + ": " + buf.data());
}

Status KafkaProducer::Produce(const std::string& topic, std::string_view key,
                              std::string_view value) {
  return ProduceImpl(topic, RD_KAFKA_PARTITION_UA, key, value);
}

Status KafkaProducer::ProduceToPartition(const std::string& topic,
                                         int32_t partition,
                                         std::string_view key,
                                         std::string_view value) {
  if (partition < 0) {
    return Status::InvalidArgument("kafka producer: negative partition");
  }
  return ProduceImpl(topic, partition, key, value);
}

Status KafkaProducer::ProduceImpl(const std::string& topic, int32_t partition,
                                  std::string_view key,
                                  std::string_view value) {
  auto rkt = Topic(topic);
  if (!rkt.ok()) return rkt.status();
  if (++since_poll_ >= kPollEvery) {
    since_poll_ = 0;
    rd_kafka_poll(rk_.get(), 0);
  }
  // librdkafka takes non-const pointers but copies (MSG_F_COPY).
  void* key_ptr = key.empty() ? nullptr : const_cast<char*>(key.data());
  void* value_ptr = const_cast<char*>(value.data());
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(queue_full_timeout_ms_);
  while (true) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_RKT(*rkt), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key_ptr, key.size()),
        RD_KAFKA_V_VALUE(value_ptr, value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    if (err == RD_KAFKA_RESP_ERR__FATAL) return FatalStatus();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
        std::chrono::steady_clock::now() >= deadline) {
      return KafkaStatus(err, "kafka producer: produce to " + topic);
    }
    // Room appears as deliveries complete: serve them while waiting.
    rd_kafka_poll(rk_.get(), 10);
  }
}

void KafkaProducer::Poll(int timeout_ms) {
  rd_kafka_poll(rk_.get(), timeout_ms);
}

Status KafkaProducer::Flush(int timeout_ms) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), timeout_ms);
  EPI_RETURN_IF_ERROR(FatalStatus());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaStatus(err, "kafka producer: flush",
                       std::to_string(rd_kafka_outq_len(rk_.get())) +
                           " messages still in flight");
  }
  Status first = std::move(first_failure_);
  first_failure_ = Status::Ok();
  return first;
}

void KafkaProducer::DeliveryTrampoline(rd_kafka_t* /*rk*/,
                                       const rd_kafka_message_t* m,
                                       void* opaque) {
  static_cast<KafkaProducer*>(opaque)->OnDelivery(m);
}

void KafkaProducer::OnDelivery(const rd_kafka_message_t* m) {
  const char* topic = rd_kafka_topic_name(m->rkt);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++failed_;
    if (first_failure_.ok()) {
      // Not rd_kafka_message_errstr(m): in a delivery report the payload is
      // the record's value, which that function returns as an unterminated
      // "error string" (ASan: heap-buffer-overflow in strlen).
      first_failure_ = KafkaStatus(
          m->err, std::string("kafka producer: delivery to ") + topic);
    }
    return;
  }
  ++delivered_;
  if (m->offset < 0) return;  // acks=0 only; not our setting
  int64_t& end = delivered_end_[TopicPartition{topic, m->partition}];
  end = std::max(end, m->offset + 1);
}

Result<int64_t> KafkaProducer::EndOffset(const std::string& topic,
                                         int32_t partition, int timeout_ms) {
  auto end = QueryOffsets(rk_.get(), {{topic, partition}}, RD_KAFKA_OFFSET_END,
                          timeout_ms);
  if (!end.ok()) return end.status();
  return (*end)[0];
}

Result<int32_t> KafkaProducer::PartitionCount(const std::string& topic,
                                              int timeout_ms) {
  auto rkt = Topic(topic);
  if (!rkt.ok()) return rkt.status();
  const rd_kafka_metadata_t* raw = nullptr;
  EPI_RETURN_IF_ERROR(
      KafkaStatus(rd_kafka_metadata(rk_.get(), 0, *rkt, &raw, timeout_ms),
                  "kafka producer: metadata of " + topic));
  KafkaMetadata md(raw);
  if (md->topic_cnt != 1) {
    return Status::NotFound("kafka producer: topic " + topic);
  }
  EPI_RETURN_IF_ERROR(
      KafkaStatus(md->topics[0].err, "kafka producer: topic " + topic));
  return md->topics[0].partition_cnt;
}

Result<int32_t> KafkaProducer::EnsureTopic(const std::string& topic,
                                           int32_t partitions,
                                           int timeout_ms) {
  // CreateTopics first; an error (exists, or a broker without the API) is
  // only logged: the metadata request below says what there is.
  KafkaTryCreateTopic(rk_.get(), topic, partitions, {},
                      std::min(timeout_ms, 5000));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto n = PartitionCount(topic, std::min(timeout_ms, 5000));
    if (n.ok() && *n > 0) {
      if (*n < partitions) {
        return Status::InvalidArgument(
            "topic " + topic + " has " + std::to_string(*n) +
            " partitions, " + std::to_string(partitions) + " needed");
      }
      return *n;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return n.ok() ? Status::Unavailable("kafka producer: topic " + topic +
                                          " has no partitions")
                    : n.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace epistream
