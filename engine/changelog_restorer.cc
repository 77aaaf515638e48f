#include "engine/changelog_restorer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/kafka_consumer.h"

namespace epistream {
namespace {

struct Buffered {
  std::string key;
  std::optional<std::string> value;  // nullopt: delete
};

// (writer, seq) of a record's header; false if it has none.
bool ReadTag(rd_kafka_message_t* m, uint64_t* writer, uint64_t* seq) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return false;
  const void* v = nullptr;
  size_t n = 0;
  if (rd_kafka_header_get_last(hdrs, kChangelogHeader, &v, &n) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return false;
  }
  ByteReader r(std::string_view(static_cast<const char*>(v), n));
  *writer = r.BigEndian64();
  *seq = r.BigEndian64();
  return r.ok() && r.done();
}

}  // namespace

Result<std::unique_ptr<ChangelogRestorer>> ChangelogRestorer::Create(
    const ChangelogOptions& options) {
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.brokers},
      // assign() needs a group handle; the group is never joined.
      {"group.id", "epistream-changelog-restore"},
      {"client.id", "epistream-changelog-restore"},
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "false"},
      {"queued.min.messages", "1000000"},
      {"fetch.wait.max.ms", "50"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["enable.partition.eof"] = "true";
  KafkaConf conf(rd_kafka_conf_new());
  KafkaSetLogger(conf.get());
  EPI_RETURN_IF_ERROR(KafkaConfSetAll(conf.get(), props));
  auto rk = KafkaCreate(RD_KAFKA_CONSUMER, std::move(conf));
  if (!rk.ok()) return rk.status();
  EPI_RETURN_IF_ERROR(
      KafkaStatus(rd_kafka_poll_set_consumer(rk->get()), "changelog restore"));
  return std::unique_ptr<ChangelogRestorer>(new ChangelogRestorer(
      std::move(rk).value(), options.topic, options.timeout_ms));
}

ChangelogRestorer::ChangelogRestorer(KafkaHandle rk, std::string topic,
                                     int timeout_ms)
    : rk_(std::move(rk)), topic_(std::move(topic)), timeout_ms_(timeout_ms) {}

ChangelogRestorer::~ChangelogRestorer() {
  // Never in a group: skip the consumer close (it waits on a coordinator).
  if (rk_)
    rd_kafka_destroy_flags(rk_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

Result<RestoreResult> ChangelogRestorer::Restore(
    int32_t partition, const std::optional<ChangelogMark>& from,
    KvStore* store) {
  const auto start = std::chrono::steady_clock::now();
  RestoreResult out;
  if (from.has_value()) out.mark = *from;
  const std::vector<TopicPartition> tps = {{topic_, partition}};
  auto hw = QueryOffsets(rk_.get(), tps, RD_KAFKA_OFFSET_END, timeout_ms_);
  if (!hw.ok()) return hw.status();
  const int64_t end = (*hw)[0];
  const int64_t begin =
      from.has_value() && from->end_offset >= 0 ? from->end_offset : 0;
  if (begin >= end) {
    out.current = true;
    if (begin > end) {
      // The changelog restarts below our copy (topic recreated): ours is all
      // there is; keep it.
      spdlog::warn("changelog {} [{}] ends at {} below the local copy's {}",
                   topic_, partition, end, begin);
    }
    return out;
  }
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition)
      ->offset = from.has_value() && from->end_offset >= 0
                     ? from->end_offset
                     : RD_KAFKA_OFFSET_BEGINNING;
  EPI_RETURN_IF_ERROR(KafkaStatus(rd_kafka_assign(rk_.get(), list.get()),
                                  "changelog restore: assign"));
  KafkaQueue queue(rd_kafka_queue_get_consumer(rk_.get()));
  std::vector<Buffered> pending;
  uint64_t pending_writer = 0, pending_seq = 0;
  std::vector<rd_kafka_message_t*> raw(10000);
  int64_t next = begin;
  Status st;
  const auto deadline = start + std::chrono::milliseconds(timeout_ms_);
  while (st.ok() && next < end) {
    if (std::chrono::steady_clock::now() > deadline) {
      st = Status::Unavailable("changelog restore of " + topic_ + " [" +
                               std::to_string(partition) +
                               "] timed out at offset " + std::to_string(next) +
                               " of " + std::to_string(end));
      break;
    }
    const ssize_t n =
        rd_kafka_consume_batch_queue(queue.get(), 100, raw.data(), raw.size());
    if (n < 0) {
      st = KafkaStatus(rd_kafka_last_error(), "changelog restore: consume");
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = raw[i];
      if (!st.ok() || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (st.ok()) next = std::max(next, m->offset);
        rd_kafka_message_destroy(m);
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        st = KafkaStatus(m->err, "changelog restore",
                         rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        continue;
      }
      next = m->offset + 1;
      uint64_t writer = 0, seq = 0;
      const std::string_view key(static_cast<const char*>(m->key), m->key_len);
      if (!ReadTag(m, &writer, &seq)) {
        st = Status::Corruption("changelog record without its checkpoint tag");
        rd_kafka_message_destroy(m);
        continue;
      }
      if (writer != pending_writer || seq != pending_seq) {
        out.dropped += pending.size();  // an interrupted checkpoint
        pending.clear();
        pending_writer = writer;
        pending_seq = seq;
      }
      if (key == kChangelogMarkerKey) {
        for (const Buffered& b : pending) {
          if (b.value.has_value()) {
            store->Put(b.key, *b.value);
          } else {
            store->Delete(b.key);
          }
          out.bytes += b.key.size() + (b.value ? b.value->size() : 0);
        }
        out.records += pending.size();
        ++out.checkpoints;
        pending.clear();
        pending_writer = pending_seq = 0;
        out.mark = ChangelogMark{writer, seq, m->offset + 1};
      } else {
        Buffered b;
        b.key.assign(key);
        if (m->payload != nullptr)
          b.value.emplace(static_cast<const char*>(m->payload), m->len);
        pending.push_back(std::move(b));
      }
      rd_kafka_message_destroy(m);
    }
  }
  out.dropped += pending.size();
  queue.reset();
  // Not fatal: the next restore's assign replaces the assignment anyway.
  const Status unassigned =
      KafkaStatus(rd_kafka_assign(rk_.get(), nullptr), "changelog restore: unassign");
  if (!unassigned.ok()) spdlog::warn("{}", unassigned.ToString());
  EPI_RETURN_IF_ERROR(st);
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return out;
}

}  // namespace epistream
