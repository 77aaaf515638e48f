#include "engine/changelog_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "engine/byte_codec.h"

namespace epistream {
namespace {

std::string Tag(uint64_t writer, uint64_t seq) {
  std::string out;
  ByteWriter w(&out);
  w.BigEndian64(writer);
  w.BigEndian64(seq);
  return out;
}

constexpr int kCreateTimeoutMs = 2000;

uint64_t RandomWriterId() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return id;
}

}  // namespace

std::string ChangelogMark::Encode() const {
  std::string out;
  ByteWriter w(&out);
  w.U8(1);
  w.BigEndian64(writer);
  w.BigEndian64(seq);
  w.BigEndian64(static_cast<uint64_t>(end_offset));
  return out;
}

std::optional<ChangelogMark> ChangelogMark::Decode(std::string_view bytes) {
  ByteReader r(bytes);
  if (r.U8() != 1) return std::nullopt;
  ChangelogMark m;
  m.writer = r.BigEndian64();
  m.seq = r.BigEndian64();
  m.end_offset = static_cast<int64_t>(r.BigEndian64());
  if (!r.ok() || !r.done()) return std::nullopt;
  return m;
}

Result<std::unique_ptr<ChangelogWriter>> ChangelogWriter::Create(
    const ChangelogOptions& options) {
  // Idempotent: in order and without duplicates from internal retries, so
  // a marker follows every write of its checkpoint.
  std::unique_ptr<ChangelogWriter> self(new ChangelogWriter(
      nullptr, options.topic, options.timeout_ms, RandomWriterId()));
  auto rk = KafkaCreateIdempotentProducer(
      {
          {"bootstrap.servers", options.brokers},
          {"client.id", "epistream-changelog"},
          {"linger.ms", "5"},
          {"queue.buffering.max.messages", "1000000"},
          {"queue.buffering.max.kbytes", "1048576"},
      },
      options.properties, self.get(), &ChangelogWriter::DeliveryTrampoline,
      nullptr);
  if (!rk.ok()) return rk.status();
  self->rk_ = std::move(rk).value();
  self->rkt_ =
      rd_kafka_topic_new(self->rk_.get(), options.topic.c_str(), nullptr);
  if (self->rkt_ == nullptr) {
    return KafkaStatus(rd_kafka_last_error(),
                       "changelog: topic handle " + options.topic);
  }
  return self;
}

ChangelogWriter::ChangelogWriter(KafkaHandle rk, std::string topic,
                                 int timeout_ms, uint64_t writer_id)
    : rk_(std::move(rk)),
      topic_(std::move(topic)),
      timeout_ms_(timeout_ms),
      writer_id_(writer_id) {}

ChangelogWriter::~ChangelogWriter() {
  if (rk_) {
    const rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("changelog: {} records undelivered at close",
                   rd_kafka_outq_len(rk_.get()));
    }
  }
  if (rkt_ != nullptr) rd_kafka_topic_destroy(rkt_);
}

void ChangelogWriter::DeliveryTrampoline(rd_kafka_t*,
                                         const rd_kafka_message_t* m,
                                         void* opaque) {
  auto* self = static_cast<ChangelogWriter*>(opaque);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (self->delivery_error_.ok()) {
      self->delivery_error_ = KafkaStatus(m->err, "changelog delivery");
    }
    return;
  }
  int64_t& end = self->delivered_end_[m->partition];
  end = std::max(end, m->offset + 1);
}

Result<int32_t> ChangelogWriter::PartitionsIfExists() {
  const rd_kafka_metadata_t* raw = nullptr;
  EPI_RETURN_IF_ERROR(
      KafkaStatus(rd_kafka_metadata(rk_.get(), 1, nullptr, &raw, timeout_ms_),
                  "changelog: metadata"));
  KafkaMetadata md(raw);
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic_ == md->topics[i].topic &&
        md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      return md->topics[i].partition_cnt;
    }
  }
  return 0;
}

Result<int32_t> ChangelogWriter::EnsureTopic(int32_t partitions) {
  auto existing = PartitionsIfExists();
  if (!existing.ok()) return existing.status();
  // CreateTopics (compacted) when missing. A broker that does not answer it
  // (the embedded one) is fine: the metadata request below auto-creates it.
  if (*existing == 0) {
    KafkaTryCreateTopic(rk_.get(), topic_, partitions,
                        {{"cleanup.policy", "compact"}},
                        std::min(timeout_ms_, kCreateTimeoutMs));
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  for (;;) {
    const rd_kafka_metadata_t* raw = nullptr;
    Status st =
        KafkaStatus(rd_kafka_metadata(rk_.get(), 0, rkt_, &raw, timeout_ms_),
                    "changelog: metadata of " + topic_);
    if (st.ok()) {
      KafkaMetadata md(raw);
      if (md->topic_cnt == 1 &&
          md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          md->topics[0].partition_cnt > 0) {
        const int32_t n = md->topics[0].partition_cnt;
        if (n < partitions) {
          return Status::InvalidArgument(
              "changelog topic " + topic_ + " has " + std::to_string(n) +
              " partitions, the input has " + std::to_string(partitions));
        }
        return n;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("changelog: topic " + topic_ +
                                 " not available");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status ChangelogWriter::Produce(int32_t partition, std::string_view key,
                                const std::string_view* value,
                                const std::string& header) {
  char* vdata = value != nullptr ? const_cast<char*>(value->data()) : nullptr;
  const size_t vsize = value != nullptr ? value->size() : 0;
  const auto hsize = static_cast<ssize_t>(header.size());
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(vdata, vsize),
        RD_KAFKA_V_HEADER(kChangelogHeader, header.data(), hsize),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return KafkaStatus(err, "changelog produce");
    rd_kafka_poll(rk_.get(), 10);
  }
  ++records_;
  bytes_ += key.size() + (value != nullptr ? value->size() : 0);
  return Status::Ok();
}

Result<std::map<int32_t, ChangelogMark>> ChangelogWriter::WriteCheckpoint(
    const KvStore& store, const RouteFn& route,
    const std::set<int32_t>& partitions, uint64_t seq) {
  const std::string tag = Tag(writer_id_, seq);
  Status produced;
  EPI_RETURN_IF_ERROR(store.ForEachStaged(
      [&](std::string_view key, const std::string_view* value) {
        if (!produced.ok()) return;
        const int32_t p = route(key);
        if (p < 0 || partitions.count(p) == 0) return;
        produced = Produce(p, key, value, tag);
      }));
  EPI_RETURN_IF_ERROR(produced);
  for (int32_t p : partitions) {
    const std::string_view v = tag;
    EPI_RETURN_IF_ERROR(Produce(p, kChangelogMarkerKey, &v, tag));
  }
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), timeout_ms_);
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return Status::Unavailable("changelog: flush timed out");
  }
  EPI_RETURN_IF_ERROR(KafkaStatus(err, "changelog flush"));
  Status failed = std::exchange(delivery_error_, Status::Ok());
  EPI_RETURN_IF_ERROR(failed);
  std::map<int32_t, ChangelogMark> marks;
  for (int32_t p : partitions) {
    ChangelogMark m;
    m.writer = writer_id_;
    m.seq = seq;
    auto it = delivered_end_.find(p);
    m.end_offset = it != delivered_end_.end() ? it->second : -1;
    marks[p] = m;
  }
  return marks;
}

}  // namespace epistream
