#include "bench/e2e/kafka_loader.h"

#include <thread>

#include "operators/event_parser.h"

namespace epistream::bench {

KafkaLoader::KafkaLoader(std::string brokers, TopicsConfig topics)
    : brokers_(std::move(brokers)),
      topic_names_{topics.scans, topics.transport, topics.fever,
                   topics.risk_areas, topics.persons} {}

KafkaLoader::~KafkaLoader() {
  for (rd_kafka_topic_t* t : rkts_) rd_kafka_topic_destroy(t);
  if (rk_ != nullptr) {
    rd_kafka_flush(rk_, 30000);
    rd_kafka_destroy(rk_);
  }
}

Status KafkaLoader::Open() {
  if (rk_ != nullptr) return Status::Ok();
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, const char*> props[] = {
      {"bootstrap.servers", brokers_.c_str()},
      {"partitioner", "murmur2_random"},
      {"compression.codec", "lz4"},  // the mock's 5 MiB is counted compressed
      {"linger.ms", "20"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.kbytes", "262144"},
      {"queue.buffering.max.messages", "1000000"},
  };
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument(std::string("loader config: ") + err);
    }
  }
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr) return Status::Internal(std::string("loader: ") + err);
  for (const std::string& t : topic_names_)
    rkts_.push_back(rd_kafka_topic_new(rk_, t.c_str(), nullptr));
  return Status::Ok();
}

bool KafkaLoader::Route(std::string_view line, RoutedLine* out) {
  static thread_local EventParser parser;
  static thread_local Event event;
  std::string reason;
  if (!parser.Parse(line, std::nullopt, &event, &reason)) return false;
  out->topic = static_cast<int>(event.type);
  out->key =
      event.type == EventType::kRiskArea ? event.region : event.person_id;
  out->value.assign(line);
  out->event_id = event.event_id;
  return true;
}

Status KafkaLoader::ProduceOne(const RoutedLine& line) {
  for (;;) {
    const int rc = rd_kafka_produce(
        rkts_[line.topic], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
        const_cast<char*>(line.value.data()), line.value.size(),
        line.key.data(), line.key.size(), nullptr);
    if (rc == 0) break;
    const rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return KafkaStatus(e, "loader produce");
    rd_kafka_poll(rk_, 5);
  }
  ++produced_;
  if ((produced_ & 1023) == 0) rd_kafka_poll(rk_, 0);
  return Status::Ok();
}

Status KafkaLoader::ProduceAll(const std::vector<RoutedLine>& lines) {
  EPI_RETURN_IF_ERROR(Open());
  for (const RoutedLine& l : lines) EPI_RETURN_IF_ERROR(ProduceOne(l));
  return KafkaStatus(rd_kafka_flush(rk_, 120000), "loader flush");
}

Status KafkaLoader::ProduceAtRate(const std::vector<RoutedLine>& lines,
                                  double rate,
                                  std::vector<std::atomic<int64_t>>* sent,
                                  const std::atomic<bool>* stop) {
  EPI_RETURN_IF_ERROR(Open());
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
    // Sleep in steps of ~0.5 ms of input: steady at the millisecond scale.
    if (i % 50 == 0) {
      std::this_thread::sleep_until(
          start + std::chrono::nanoseconds(static_cast<int64_t>(
                      static_cast<double>(i) * 1e9 / rate)));
    }
    if (sent != nullptr) {
      (*sent)[i].store(
          std::chrono::steady_clock::now().time_since_epoch().count(),
          std::memory_order_relaxed);
    }
    EPI_RETURN_IF_ERROR(ProduceOne(lines[i]));
  }
  return KafkaStatus(rd_kafka_flush(rk_, 120000), "loader flush");
}

Result<uint64_t> KafkaLoader::TopicEnd(const std::string& topic) {
  EPI_RETURN_IF_ERROR(Open());
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  const rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 0, rkt, &md, 10000);
  rd_kafka_topic_destroy(rkt);
  EPI_RETURN_IF_ERROR(KafkaStatus(e, "loader metadata"));
  uint64_t total = 0;
  Status st;
  for (int t = 0; t < md->topic_cnt && st.ok(); ++t) {
    for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
      int64_t lo = 0;
      int64_t hi = 0;
      st = KafkaStatus(rd_kafka_query_watermark_offsets(
                           rk_, topic.c_str(), md->topics[t].partitions[p].id,
                           &lo, &hi, 10000),
                       "loader watermarks");
      if (!st.ok()) break;
      if (lo != 0) {
        st = Status::OutOfRange(
            topic + " [" + std::to_string(md->topics[t].partitions[p].id) +
            "] starts at " + std::to_string(lo) +
            ": the mock broker dropped data; use more partitions");
        break;
      }
      total += static_cast<uint64_t>(hi);
    }
  }
  rd_kafka_metadata_destroy(md);
  if (!st.ok()) return st;
  return total;
}

Status KafkaLoader::Verify(uint64_t expected, uint64_t* total) {
  *total = 0;
  for (const std::string& t : topic_names_) {
    Result<uint64_t> end = TopicEnd(t);
    if (!end.ok()) return end.status();
    *total += *end;
  }
  if (*total != expected) {
    return Status::OutOfRange("broker holds " + std::to_string(*total) +
                              " records, produced " + std::to_string(expected));
  }
  return Status::Ok();
}

}  // namespace epistream::bench
