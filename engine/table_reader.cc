#include "engine/table_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <utility>

namespace epistream {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Name(const TopicPartition& tp) {
  return tp.topic + " [" + std::to_string(tp.partition) + "]";
}

}  // namespace

Result<std::unique_ptr<TableReader>> TableReader::Open(
    const TableReaderOptions& options,
    const std::map<TopicPartition, int64_t>& start_offsets) {
  if (options.topics.empty()) {
    return Status::InvalidArgument("table reader: no topics");
  }
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.brokers},
      // assign() needs a group handle; the group is never joined and
      // nothing is committed.
      {"group.id", "epistream-table-reader"},
      {"client.id", "epistream-table-reader"},
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "false"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["enable.partition.eof"] = "true";  // how the end is detected
  if (props.count("fetch.wait.max.ms") == 0) {
    // A fetch that finds nothing new waits this long at the broker, and the
    // embedded broker answers it only then, even if a record arrives
    // meanwhile: with librdkafka's 500 ms a new table record reached
    // CatchUp() up to half a second late. Tables are mostly idle, so this
    // is the latency that matters. 20 ms as for the event consumer
    // (KafkaConsumer::Create): with 100, Kafka mode did ~87k events/s and
    // with 20 ~112k (e2e_bench, 100k persons x 3 days, two runs each).
    props["fetch.wait.max.ms"] = "20";
  }
  if (props.count("queued.min.messages") == 0) {
    props["queued.min.messages"] = "1000000";  // see KafkaConsumer::Create
  }

  KafkaConf conf(rd_kafka_conf_new());
  KafkaSetLogger(conf.get());
  EPI_RETURN_IF_ERROR(KafkaConfSetAll(conf.get(), props));
  auto rk = KafkaCreate(RD_KAFKA_CONSUMER, std::move(conf));
  if (!rk.ok()) return rk.status();

  std::unique_ptr<TableReader> self(
      new TableReader(std::move(rk).value(), options.topics));
  EPI_RETURN_IF_ERROR(KafkaStatus(rd_kafka_poll_set_consumer(self->rk_.get()),
                                  "table reader: poll_set_consumer"));
  self->queue_.reset(rd_kafka_queue_get_consumer(self->rk_.get()));
  if (!self->queue_) return Status::Internal("table reader: no consumer queue");
  EPI_RETURN_IF_ERROR(self->Assign(start_offsets, options.metadata_timeout_ms));
  return self;
}

TableReader::TableReader(KafkaHandle rk, std::vector<std::string> topics)
    : rk_(std::move(rk)), topics_(std::move(topics)) {}

TableReader::~TableReader() {
  // A StartCatchUp() request still under way uses the client.
  if (pending_ends_.valid()) pending_ends_.wait();
  queue_.reset();  // before the client it belongs to
  const int64_t alive = outstanding_->load();
  if (alive != 0) {
    spdlog::error(
        "table reader destroyed with {} messages alive: leaking "
        "its client",
        alive);
    (void)rk_.release();
    return;
  }
  delete outstanding_;
  // Never in a group and nothing to commit: skip the consumer close, which
  // waits on the group coordinator (a second or more).
  if (rk_)
    rd_kafka_destroy_flags(rk_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

void TableReader::Wakeup() { rd_kafka_queue_yield(queue_.get()); }

Status TableReader::Assign(
    const std::map<TopicPartition, int64_t>& start_offsets,
    int metadata_timeout_ms) {
  // All topics, not just ours: asking for a named topic makes brokers with
  // auto-creation on (the embedded one always) create it.
  const rd_kafka_metadata_t* raw_md = nullptr;
  EPI_RETURN_IF_ERROR(KafkaStatus(
      rd_kafka_metadata(rk_.get(), 1, nullptr, &raw_md, metadata_timeout_ms),
      "table reader: metadata"));
  KafkaMetadata md(raw_md);
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(8));
  for (const std::string& topic : topics_) {
    const rd_kafka_metadata_topic_t* found = nullptr;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic) found = &md->topics[i];
    }
    if (found == nullptr) {
      return Status::NotFound("table reader: no topic " + topic);
    }
    EPI_RETURN_IF_ERROR(
        KafkaStatus(found->err, "table reader: topic " + topic));
    const int count = found->partition_cnt;
    if (count <= 0) {
      return Status::NotFound("table reader: topic " + topic +
                              " has no partitions");
    }
    first_part_.push_back(parts_.size());
    for (int32_t p = 0; p < count; ++p) {
      PartitionState st;
      st.topic = &topic;
      st.partition = p;
      int64_t offset = RD_KAFKA_OFFSET_BEGINNING;
      auto it = start_offsets.find({topic, p});
      if (it != start_offsets.end() && it->second >= 0) {
        offset = it->second;
        st.next_offset = offset;
        st.check_gap = true;
      }
      parts_.push_back(st);
      tps_.push_back({topic, p});
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
          offset;
    }
  }
  return KafkaStatus(rd_kafka_assign(rk_.get(), list.get()),
                     "table reader: assign");
}

TableReader::PartitionState* TableReader::Find(const rd_kafka_topic_t* rkt,
                                               int32_t partition) {
  const char* name = rd_kafka_topic_name(rkt);
  for (size_t t = 0; t < topics_.size(); ++t) {
    if (topics_[t] != name) continue;
    const size_t end =
        t + 1 < first_part_.size() ? first_part_[t + 1] : parts_.size();
    const size_t i = first_part_[t] + static_cast<size_t>(partition);
    return partition >= 0 && i < end ? &parts_[i] : nullptr;
  }
  return nullptr;
}

Status TableReader::PollBatch(int timeout_ms, std::vector<KafkaMessage>* out,
                              size_t max) {
  out->clear();
  if (max == 0) return Status::Ok();
  raw_.resize(max);
  const ssize_t n =
      KafkaConsumeAvailable(queue_.get(), timeout_ms, raw_.data(), max);
  if (n < 0) {
    return KafkaStatus(rd_kafka_last_error(), "table reader: consume batch");
  }
  out->reserve(static_cast<size_t>(n));
  for (ssize_t i = 0; i < n; ++i) {
    rd_kafka_message_t* m = raw_[i];
    PartitionState* st =
        m->rkt != nullptr ? Find(m->rkt, m->partition) : nullptr;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      PartitionEvent ev;
      ev.batch_index = out->size();
      ev.offset = m->offset;
      if (st != nullptr) ev.tp = {*st->topic, st->partition};
      if (st == nullptr) ev.tp.partition = -1;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && st != nullptr) {
        ev.kind = PartitionEvent::Kind::kEndOfPartition;
        st->eof_offset = std::max(st->eof_offset, m->offset);
      } else {
        ev.kind = PartitionEvent::Kind::kError;
        ev.status =
            KafkaStatus(m->err, "table reader", rd_kafka_message_errstr(m));
      }
      events_.push_back(std::move(ev));
      rd_kafka_message_destroy(m);
      continue;
    }
    if (st == nullptr || m->offset < st->next_offset) {
      rd_kafka_message_destroy(m);  // a refetch of something already read
      continue;
    }
    if (st->check_gap) {
      st->check_gap = false;
      if (m->offset > st->next_offset) {
        PartitionEvent ev;
        ev.kind = PartitionEvent::Kind::kOffsetGap;
        ev.tp = {*st->topic, st->partition};
        ev.offset = m->offset;
        ev.expected = st->next_offset;
        ev.batch_index = out->size();
        events_.push_back(std::move(ev));
      }
    }
    st->next_offset = m->offset + 1;
    out->push_back(KafkaMessage::Wrap(m, st->topic, outstanding_));
  }
  return Status::Ok();
}

Status TableReader::ReadToEnd(const Callback& cb, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  auto target = CaptureEnds(timeout_ms, /*check_starts=*/true);
  if (!target.ok()) return target.status();
  return ReadTo(*target, cb, deadline, timeout_ms);
}

Status TableReader::CatchUp(const Callback& cb, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  if (catch_up_target_.empty() && pending_ends_.valid()) {
    // StartCatchUp()'s answer (its own timeout bounds the wait).
    Result<Ends> ends = pending_ends_.get();
    if (!ends.ok()) return ends.status();
    auto target = CheckEnds(std::move(ends).value());
    if (!target.ok()) return target.status();
    catch_up_target_ = std::move(target).value();
  }
  if (catch_up_target_.empty()) {
    // Log starts only while some partition has neither been read nor been
    // seen at its end (after a ReadToEnd, none): one request, not two.
    auto target = CaptureEnds(timeout_ms, HasUnknownStart());
    if (!target.ok()) return target.status();
    catch_up_target_ = std::move(target).value();
  }
  Status st = ReadTo(catch_up_target_, cb, deadline, timeout_ms);
  // Timed out: the next call resumes towards the same ends (a slow leader
  // then needs one ListOffsets round trip per barrier, not per attempt).
  if (st.code() != StatusCode::kUnavailable) catch_up_target_.clear();
  return st;
}

void TableReader::StartCatchUp(int timeout_ms) {
  if (!catch_up_target_.empty() || pending_ends_.valid()) return;
  const bool check_starts = HasUnknownStart();
  // std::launch::async: the request is sent now, not when CatchUp() asks.
  pending_ends_ = std::async(std::launch::async, [this, timeout_ms, check_starts] {
    return QueryEnds(timeout_ms, check_starts);
  });
}

bool TableReader::HasUnknownStart() const {
  for (const PartitionState& st : parts_) {
    if (st.next_offset < 0 && st.eof_offset < 0) return true;
  }
  return false;
}

Result<TableReader::Ends> TableReader::QueryEnds(int timeout_ms,
                                                 bool check_starts) const {
  const int64_t deadline = NowMs() + timeout_ms;
  Ends out;
  auto ends = QueryOffsets(rk_.get(), tps_, RD_KAFKA_OFFSET_END, timeout_ms);
  if (!ends.ok()) return ends.status();
  out.ends = std::move(ends).value();
  if (check_starts) {
    // Log starts too: a partition with nothing to read is done at once, not
    // after a fetch round trip reports its end.
    auto starts = QueryOffsets(
        rk_.get(), tps_, RD_KAFKA_OFFSET_BEGINNING,
        static_cast<int>(std::max<int64_t>(1, deadline - NowMs())));
    if (!starts.ok()) return starts.status();
    out.starts = std::move(starts).value();
  }
  return out;
}

Result<std::vector<int64_t>> TableReader::CaptureEnds(int timeout_ms,
                                                      bool check_starts) {
  auto ends = QueryEnds(timeout_ms, check_starts);
  if (!ends.ok()) return ends.status();
  return CheckEnds(std::move(ends).value());
}

Result<std::vector<int64_t>> TableReader::CheckEnds(Ends ends) {
  std::vector<int64_t> target = std::move(ends.ends);
  if (!ends.starts.empty()) {
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (parts_[i].next_offset < 0 && ends.starts[i] == target[i]) {
        parts_[i].eof_offset = std::max(parts_[i].eof_offset, target[i]);
      }
    }
  }
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (parts_[i].next_offset > target[i]) {
      return Status::OutOfRange(
          "table reader: start offset " +
          std::to_string(parts_[i].next_offset) + " is beyond the end " +
          std::to_string(target[i]) + " of " + Name(tps_[i]));
    }
  }
  return target;
}

Status TableReader::ReadTo(const std::vector<int64_t>& target,
                           const Callback& cb, int64_t deadline,
                           int timeout_ms) {
  auto reached = [&](size_t i) {
    const PartitionState& st = parts_[i];
    return std::max(st.next_offset, st.eof_offset) >= target[i];
  };
  std::vector<KafkaMessage> batch;
  while (true) {
    size_t behind = parts_.size();
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (!reached(i)) {
        behind = i;
        break;
      }
    }
    if (behind == parts_.size()) return Status::Ok();
    const int64_t remaining = deadline - NowMs();
    if (remaining <= 0) {
      return Status::Unavailable(
          "table reader: " + Name(tps_[behind]) + " not read to its end " +
          std::to_string(target[behind]) + " within " +
          std::to_string(timeout_ms) + " ms (at " +
          std::to_string(parts_[behind].next_offset) + ")");
    }
    EPI_RETURN_IF_ERROR(PollBatch(
        static_cast<int>(std::min<int64_t>(remaining, 200)), &batch, 10000));
    for (const KafkaMessage& m : batch) EPI_RETURN_IF_ERROR(cb(m));
  }
}

std::vector<PartitionEvent> TableReader::TakeEvents() {
  std::vector<PartitionEvent> taken;
  taken.swap(events_);
  return taken;
}

std::map<TopicPartition, int64_t> TableReader::Positions() const {
  std::map<TopicPartition, int64_t> pos;
  for (size_t i = 0; i < parts_.size(); ++i) {
    pos[tps_[i]] = std::max<int64_t>(
        parts_[i].next_offset, std::max<int64_t>(parts_[i].eof_offset, 0));
  }
  return pos;
}

}  // namespace epistream
