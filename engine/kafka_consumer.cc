#include "engine/kafka_consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <tuple>
#include <utility>

namespace epistream {

KafkaMessage KafkaMessage::Wrap(rd_kafka_message_t* m, const std::string* topic,
                                std::atomic<int64_t>* outstanding) {
  KafkaMessage k;
  k.topic = topic;
  k.partition = m->partition;
  k.offset = m->offset;
  if (m->key != nullptr) {
    k.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  }
  if (m->payload != nullptr) {
    k.value = std::string_view(static_cast<const char*>(m->payload), m->len);
  }
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const int64_t ts = rd_kafka_message_timestamp(m, &type);
  k.timestamp = type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
  k.raw = std::unique_ptr<rd_kafka_message_t, KafkaMessageDeleter>(
      m, KafkaMessageDeleter{outstanding});
  if (outstanding != nullptr)
    outstanding->fetch_add(1, std::memory_order_relaxed);
  return k;
}

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(
    const KafkaConsumerOptions& options, OffsetLookup offset_lookup,
    RevokeCallback on_revoke) {
  if (options.topics.empty()) {
    return Status::InvalidArgument("kafka consumer: no topics to subscribe");
  }
  if (!offset_lookup) {
    return Status::InvalidArgument("kafka consumer: offset lookup is required");
  }
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group},
      {"client.id", "epistream"},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},
      // With the default (100000) the fetcher pauses and resumes around a
      // full queue and 4 partitions consume 4x slower than one (measured
      // on the embedded broker); memory stays bounded by
      // queued.max.messages.kbytes.
      {"queued.min.messages", "1000000"},
      // librdkafka's 500 ms default lets a fetch sit on the broker while
      // some partitions have nothing new, and the event-time merger then
      // waits for it: Kafka mode did 79.6k events/s with it and 114k with
      // 20 ms (e2e_bench, 100k persons x 3 days, 32 partitions per topic,
      // 5 ms gave the same), and alerts come out sooner. Costs at most 50
      // fetch requests per second per broker on an idle stream.
      {"fetch.wait.max.ms", "20"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  // Offsets are stored with the engine's state; Kafka's copies are written
  // explicitly (CommitOffsets) and only for monitoring.
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";

  KafkaConf conf(rd_kafka_conf_new());
  KafkaSetLogger(conf.get());
  EPI_RETURN_IF_ERROR(KafkaConfSetAll(conf.get(), props));

  // The callbacks need the object, so it exists before the client.
  std::unique_ptr<KafkaConsumer> self(new KafkaConsumer(
      nullptr, nullptr, std::move(offset_lookup), std::move(on_revoke),
      options.start_from_beginning_without_stored_offset));
  rd_kafka_conf_set_opaque(conf.get(), self.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), &RebalanceTrampoline);
  rd_kafka_conf_set_error_cb(conf.get(), &ErrorTrampoline);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), &CommitTrampoline);

  auto rk = KafkaCreate(RD_KAFKA_CONSUMER, std::move(conf));
  if (!rk.ok()) return rk.status();
  self->rk_ = std::move(rk).value();
  // Errors, logs and commit results are then served by the same batch
  // call as messages and rebalances, on the owner's thread.
  EPI_RETURN_IF_ERROR(KafkaStatus(rd_kafka_poll_set_consumer(self->rk_.get()),
                                  "kafka consumer: poll_set_consumer"));
  self->queue_.reset(rd_kafka_queue_get_consumer(self->rk_.get()));
  if (!self->queue_) {
    return Status::Internal("kafka consumer: no consumer queue");
  }
  self->prober_ = std::thread(&KafkaConsumer::ProbeLoop, self.get(),
                              std::max(1, options.caught_up_interval_ms),
                              std::max(1, options.caught_up_timeout_ms));

  KafkaPartitionList list(rd_kafka_topic_partition_list_new(
      static_cast<int>(options.topics.size())));
  for (const std::string& t : options.topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(),
                                      RD_KAFKA_PARTITION_UA);
  }
  EPI_RETURN_IF_ERROR(
      KafkaStatus(rd_kafka_subscribe(self->rk_.get(), list.get()),
                  "kafka consumer: subscribe"));
  return self;
}

KafkaConsumer::KafkaConsumer(KafkaHandle rk, KafkaQueue queue,
                             OffsetLookup offset_lookup,
                             RevokeCallback on_revoke,
                             bool start_from_beginning)
    : rk_(std::move(rk)),
      queue_(std::move(queue)),
      offset_lookup_(std::move(offset_lookup)),
      on_revoke_(std::move(on_revoke)),
      start_from_beginning_(start_from_beginning) {}

KafkaConsumer::~KafkaConsumer() {
  StopProber();
  if (rk_) {
    Status st = Close();
    if (!st.ok()) spdlog::warn("kafka consumer close: {}", st.ToString());
  }
  queue_.reset();  // before the client it belongs to
  const int64_t alive = outstanding_->load();
  if (alive != 0) {
    // rd_kafka_destroy would wait for them forever.
    spdlog::error(
        "kafka consumer destroyed with {} messages alive: leaking "
        "its client",
        alive);
    (void)rk_.release();
    return;  // outstanding_ leaks too: the live messages still point to it
  }
  delete outstanding_;
}

Status KafkaConsumer::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  StopProber();  // it uses the client
  return KafkaStatus(rd_kafka_consumer_close(rk_.get()),
                     "kafka consumer: close");
}

void KafkaConsumer::Wakeup() { rd_kafka_queue_yield(queue_.get()); }

int64_t KafkaConsumer::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// --- caught-up snapshots ---------------------------------------------------

void KafkaConsumer::RequestCaughtUp() {
  {
    std::lock_guard<std::mutex> lock(probe_mu_);
    probe_wanted_ = true;
  }
  probe_cv_.notify_one();
}

void KafkaConsumer::StopProber() {
  if (!prober_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(probe_mu_);
    probe_stop_ = true;
  }
  probe_cv_.notify_one();
  prober_.join();
}

void KafkaConsumer::PublishAssignment() {
  std::vector<TopicPartition> tps = Assignment();
  {
    std::lock_guard<std::mutex> lock(probe_mu_);
    probe_tps_ = std::move(tps);
  }
  probe_cv_.notify_one();  // a request made before the assignment may wait
}

// The prober thread. Why a thread: ListOffsets has no asynchronous form in
// librdkafka 2.0 and blocks up to its timeout while a leader is down; the
// owner's loop must not.
void KafkaConsumer::ProbeLoop(int interval_ms, int timeout_ms) {
  std::unique_lock<std::mutex> lock(probe_mu_);
  for (;;) {
    probe_cv_.wait(lock, [this] {
      return probe_stop_ || (probe_wanted_ && !probe_tps_.empty());
    });
    if (probe_stop_) return;
    probe_wanted_ = false;
    const std::vector<TopicPartition> tps = probe_tps_;
    lock.unlock();
    // Sent after every message the owner holds was appended: an answer
    // vouches for them (see the header).
    const int64_t as_of = NowMs();
    KafkaPartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(tps.size())));
    for (const TopicPartition& tp : tps) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(),
                                        tp.partition)
          ->offset = RD_KAFKA_OFFSET_END;
    }
    // offsets_for_times (logical END) keeps to its timeout when a leader is
    // unreachable, and fills in what did answer.
    const rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(rk_.get(), list.get(), timeout_ms);
    std::vector<ProbeAnswer> answers;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = list->elems[i];
      // Unanswered partitions keep the logical END (-1) or carry an error.
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR || p.offset < 0) continue;
      answers.push_back({{p.topic, p.partition}, p.offset, as_of});
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::debug("kafka consumer: caught-up probe: {} ({} of {} answered)",
                    rd_kafka_err2name(err), answers.size(), tps.size());
    }
    lock.lock();
    if (!answers.empty()) {
      for (ProbeAnswer& a : answers) probe_answers_.push_back(std::move(a));
      rd_kafka_queue_yield(queue_.get());  // the owner may be waiting
    }
    probe_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms),
                       [this] { return probe_stop_; });
  }
}

void KafkaConsumer::TakeProbeAnswers(size_t batch_index) {
  std::vector<ProbeAnswer> answers;
  {
    std::lock_guard<std::mutex> lock(probe_mu_);
    answers.swap(probe_answers_);
  }
  // An answer waits until the position reaches its high watermark: under a
  // steady stream the fetcher is rarely exactly there when it arrives, but
  // gets there soon after (measured: checked only on arrival, the latency
  // bench's p50 went from 0.5 s to 1.2 s).
  for (ProbeAnswer& a : answers) {
    PartitionState* st = State(Intern(a.tp.topic), a.tp.partition);
    if (st == nullptr) continue;                             // revoked since
    if (st->pending.size() >= kMaxPendingAnswers) continue;  // keep the oldest
    st->pending.emplace_back(a.high_watermark, a.as_of_ms);
    any_pending_ = true;
  }
  if (!any_pending_) return;
  any_pending_ = false;
  for (auto& [key, st] : parts_) {
    if (st.pending.empty() || !st.assigned) continue;
    const int64_t position = std::max(st.next_offset, st.eof_offset);
    int64_t as_of = -1;
    int64_t high_watermark = -1;
    // Answers come in request order: take the latest one reached.
    while (!st.pending.empty() && position >= 0 &&
           st.pending.front().first <= position) {
      std::tie(high_watermark, as_of) = st.pending.front();
      st.pending.pop_front();
    }
    any_pending_ = any_pending_ || !st.pending.empty();
    if (as_of < 0) continue;
    PartitionEvent ev;
    ev.kind = PartitionEvent::Kind::kCaughtUp;
    ev.tp = {*key.first, key.second};
    ev.offset = high_watermark;
    ev.as_of_ms = as_of;
    ev.batch_index = batch_index;
    events_.push_back(std::move(ev));
  }
}

Status KafkaConsumer::SetPaused(const std::vector<TopicPartition>& tps,
                                bool paused) {
  if (tps.empty()) return Status::Ok();
  KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(tps.size())));
  for (const TopicPartition& tp : tps) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(),
                                      tp.partition);
  }
  const char* what =
      paused ? "kafka consumer: pause" : "kafka consumer: resume";
  EPI_RETURN_IF_ERROR(
      KafkaStatus(paused ? rd_kafka_pause_partitions(rk_.get(), list.get())
                         : rd_kafka_resume_partitions(rk_.get(), list.get()),
                  what));
  for (int i = 0; i < list->cnt; ++i) {
    EPI_RETURN_IF_ERROR(KafkaStatus(list->elems[i].err, what));
  }
  for (const TopicPartition& tp : tps) {
    if (paused) {
      paused_.emplace(tp.topic, tp.partition);
    } else {
      paused_.erase({tp.topic, tp.partition});
    }
  }
  return Status::Ok();
}

// --- callbacks (run on the owner's thread, inside PollBatch/Close) --------

void KafkaConsumer::RebalanceTrampoline(rd_kafka_t* /*rk*/,
                                        rd_kafka_resp_err_t err,
                                        rd_kafka_topic_partition_list_t* parts,
                                        void* opaque) {
  static_cast<KafkaConsumer*>(opaque)->OnRebalance(err, parts);
}

void KafkaConsumer::ErrorTrampoline(rd_kafka_t* rk, int err, const char* reason,
                                    void* opaque) {
  auto* self = static_cast<KafkaConsumer*>(opaque);
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  std::string detail = reason != nullptr ? reason : "";
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    self->fatal_ = true;
    std::array<char, 512> buf{};
    code = rd_kafka_fatal_error(rk, buf.data(), buf.size());
    detail = buf.data();
  }
  self->AddError(KafkaStatus(code, "kafka consumer", detail), nullptr, -1);
}

void KafkaConsumer::CommitTrampoline(rd_kafka_t* /*rk*/,
                                     rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* offsets,
                                     void* opaque) {
  auto* self = static_cast<KafkaConsumer*>(opaque);
  bool failed =
      err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET;
  for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
    failed = failed || offsets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  if (failed) {
    ++self->commit_failures_;
    spdlog::debug("kafka consumer: offset commit failed: {}",
                  rd_kafka_err2name(err));
  }
}

void KafkaConsumer::OnRebalance(rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* parts) {
  last_rkt_ = nullptr;  // the partition map changes: drop the lookup cache
  // NULL while the group handle is being torn down (a revoke during Close):
  // strcmp on it was the exit-139 at SIGTERM. No group protocol then: eager.
  const char* protocol = rd_kafka_rebalance_protocol(rk_.get());
  const bool cooperative =
      protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    OnAssign(parts, cooperative);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    OnRevoke(parts, cooperative);
  } else {
    // A failed rebalance: drop everything, the group will assign again.
    AddError(KafkaStatus(err, "kafka consumer: rebalance"), nullptr, -1);
    OnRevoke(parts, cooperative);
  }
}

void KafkaConsumer::OnAssign(rd_kafka_topic_partition_list_t* parts,
                             bool cooperative) {
  for (int i = 0; i < parts->cnt; ++i) {
    rd_kafka_topic_partition_t& p = parts->elems[i];
    const std::string* topic = Intern(p.topic);
    std::optional<int64_t> stored = offset_lookup_(*topic, p.partition);
    PartitionState& st = parts_[{topic, p.partition}];
    st = PartitionState{};
    st.assigned = true;
    if (stored.has_value() && *stored >= 0) {
      p.offset = *stored;
      st.next_offset = *stored;
      st.check_gap = true;
    } else {
      p.offset = start_from_beginning_ ? RD_KAFKA_OFFSET_BEGINNING
                                       : RD_KAFKA_OFFSET_INVALID;
    }
    PartitionEvent ev;
    ev.kind = PartitionEvent::Kind::kAssigned;
    ev.tp = {*topic, p.partition};
    ev.offset = p.offset;
    events_.push_back(std::move(ev));
  }
  Status st;
  if (cooperative) {
    st = KafkaErrorStatus(rd_kafka_incremental_assign(rk_.get(), parts),
                          "kafka consumer: incremental assign");
  } else {
    st = KafkaStatus(rd_kafka_assign(rk_.get(), parts),
                     "kafka consumer: assign");
  }
  if (!st.ok()) AddError(std::move(st), nullptr, -1);
  // A partition paused in an earlier assignment starts fetching again. Only
  // those: resuming a partition that was never paused makes librdkafka drop
  // its in-flight start-offset lookup and retry it 500 ms later (measured:
  // first fetch 0.51 s after the assignment instead of 0.06 s).
  KafkaPartitionList resume(rd_kafka_topic_partition_list_new(1));
  for (int i = 0; i < parts->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = parts->elems[i];
    if (paused_.erase({p.topic, p.partition}) > 0) {
      rd_kafka_topic_partition_list_add(resume.get(), p.topic, p.partition);
    }
  }
  if (resume->cnt > 0) {
    Status resumed = KafkaStatus(rd_kafka_resume_partitions(rk_.get(), resume.get()),
                                 "kafka consumer: resume assigned");
    if (!resumed.ok()) AddError(std::move(resumed), nullptr, -1);
  }
  PublishAssignment();
}

void KafkaConsumer::OnRevoke(rd_kafka_topic_partition_list_t* parts,
                             bool cooperative) {
  const bool lost = rd_kafka_assignment_lost(rk_.get()) != 0;
  std::vector<TopicPartition> tps;
  tps.reserve(parts->cnt);
  for (int i = 0; i < parts->cnt; ++i) {
    tps.push_back({parts->elems[i].topic, parts->elems[i].partition});
  }
  // Events of these partitions not yet taken (TakeEvents) are dropped: an
  // assignment revoked before its owner saw it never took effect. Kept, its
  // kAssigned was applied after the revoke callback had released the
  // partition, and the owner then went on as if it held it: KafkaEngine
  // counted it as owned and checkpointed it with no sink recovery pending,
  // storing sink positions past output its state had not produced; the
  // next owner then re-emitted that output (doubled alerts and dead
  // letters in ScaleOutRepartitionTest under load).
  std::erase_if(events_, [&](const PartitionEvent& ev) {
    return std::find(tps.begin(), tps.end(), ev.tp) != tps.end();
  });
  // The owner checkpoints while it still owns the partitions.
  if (on_revoke_ && !tps.empty()) on_revoke_(tps, lost);
  for (TopicPartition& tp : tps) {
    parts_.erase({Intern(tp.topic), tp.partition});
    PartitionEvent ev;
    ev.kind =
        lost ? PartitionEvent::Kind::kLost : PartitionEvent::Kind::kRevoked;
    ev.tp = std::move(tp);
    events_.push_back(std::move(ev));
  }
  Status st;
  if (cooperative) {
    st = KafkaErrorStatus(rd_kafka_incremental_unassign(rk_.get(), parts),
                          "kafka consumer: incremental unassign");
  } else {
    parts_.clear();
    st = KafkaStatus(rd_kafka_assign(rk_.get(), nullptr),
                     "kafka consumer: unassign");
  }
  if (!st.ok()) AddError(std::move(st), nullptr, -1);
  PublishAssignment();
}

// --- polling -------------------------------------------------------------

Status KafkaConsumer::PollBatch(int timeout_ms, std::vector<KafkaMessage>* out,
                                size_t max) {
  out->clear();
  if (closed_) return Status::InvalidArgument("kafka consumer: closed");
  if (max == 0) return Status::Ok();
  raw_.resize(max);
  const ssize_t n =
      KafkaConsumeAvailable(queue_.get(), timeout_ms, raw_.data(), max);
  if (n < 0) {
    return KafkaStatus(rd_kafka_last_error(), "kafka consumer: consume batch");
  }
  out->reserve(static_cast<size_t>(n));
  for (ssize_t i = 0; i < n; ++i) Convert(raw_[i], out);
  if (!out->empty()) {
    const int64_t now = NowMs();
    for (KafkaMessage& m : *out) m.received_ms = now;
  }
  // After this batch's messages: the positions checked include them.
  TakeProbeAnswers(out->size());
  if (fatal_) {
    std::array<char, 512> buf{};
    const rd_kafka_resp_err_t err =
        rd_kafka_fatal_error(rk_.get(), buf.data(), buf.size());
    return Status::Internal(std::string("kafka consumer: fatal error: ") +
                            rd_kafka_err2name(err) + ": " + buf.data());
  }
  return Status::Ok();
}

void KafkaConsumer::Convert(rd_kafka_message_t* m,
                            std::vector<KafkaMessage>* out) {
  const std::string* topic = m->rkt != nullptr ? Intern(m->rkt) : nullptr;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      PartitionState* st = topic ? State(topic, m->partition) : nullptr;
      if (st != nullptr) {
        st->eof_offset = m->offset;
        PartitionEvent ev;
        ev.kind = PartitionEvent::Kind::kEndOfPartition;
        ev.tp = {*topic, m->partition};
        ev.offset = m->offset;
        ev.batch_index = out->size();
        events_.push_back(std::move(ev));
      }
    } else {
      if (m->err == RD_KAFKA_RESP_ERR__FATAL) fatal_ = true;
      std::string ctx = "kafka consumer";
      if (topic != nullptr) {
        ctx += " " + *topic + " [" + std::to_string(m->partition) + "]";
      }
      Status st = KafkaStatus(m->err, ctx, rd_kafka_message_errstr(m));
      PartitionEvent ev;
      ev.kind = PartitionEvent::Kind::kError;
      ev.tp = {topic ? *topic : std::string(), topic ? m->partition : -1};
      ev.offset = m->offset;
      ev.batch_index = out->size();
      ev.status = std::move(st);
      events_.push_back(std::move(ev));
    }
    rd_kafka_message_destroy(m);
    return;
  }
  PartitionState* st = State(topic, m->partition);
  if (st != nullptr && st->check_gap && m->offset < st->next_offset) {
    // The log restarts below the stored offset (topic deleted and
    // recreated): say so once; the records are dropped as refetches.
    st->check_gap = false;
    PartitionEvent ev;
    ev.kind = PartitionEvent::Kind::kOffsetGap;
    ev.tp = {*topic, m->partition};
    ev.offset = m->offset;
    ev.expected = st->next_offset;
    ev.batch_index = out->size();
    events_.push_back(std::move(ev));
  }
  if (st == nullptr || (st->next_offset >= 0 && m->offset < st->next_offset)) {
    // Not (or no longer) ours, or a refetch of something already returned.
    ++dropped_stale_;
    rd_kafka_message_destroy(m);
    return;
  }
  if (st->check_gap) {
    st->check_gap = false;
    if (m->offset > st->next_offset) {
      PartitionEvent ev;
      ev.kind = PartitionEvent::Kind::kOffsetGap;
      ev.tp = {*topic, m->partition};
      ev.offset = m->offset;
      ev.expected = st->next_offset;
      ev.batch_index = out->size();
      events_.push_back(std::move(ev));
    }
  }
  st->next_offset = m->offset + 1;
  out->push_back(KafkaMessage::Wrap(m, topic, outstanding_));
}

const std::string* KafkaConsumer::Intern(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) it = topics_.emplace(topic).first;
  return &*it;
}

const std::string* KafkaConsumer::Intern(const rd_kafka_topic_t* rkt) {
  // Messages come in runs of one topic; the name check guards against a
  // topic handle freed and its address reused.
  const char* name = rd_kafka_topic_name(rkt);
  if (rkt != last_rkt_ || *last_topic_ != name) {
    last_topic_ = Intern(std::string_view(name));
    last_rkt_ = rkt;
  }
  return last_topic_;
}

KafkaConsumer::PartitionState* KafkaConsumer::State(const std::string* topic,
                                                    int32_t partition) {
  auto it = parts_.find({topic, partition});
  if (it == parts_.end() || !it->second.assigned) return nullptr;
  return &it->second;
}

void KafkaConsumer::AddError(Status status, const std::string* topic,
                             int32_t partition) {
  PartitionEvent ev;
  ev.kind = PartitionEvent::Kind::kError;
  ev.tp = {topic ? *topic : std::string(), topic ? partition : -1};
  ev.status = std::move(status);
  events_.push_back(std::move(ev));
}

std::vector<PartitionEvent> KafkaConsumer::TakeEvents() {
  std::vector<PartitionEvent> taken;
  taken.swap(events_);
  return taken;
}

// --- offsets and lag -------------------------------------------------------

Status KafkaConsumer::CommitOffsets(
    const std::map<TopicPartition, int64_t>& offsets) {
  if (offsets.empty()) return Status::Ok();
  KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(),
                                      tp.partition)
        ->offset = offset;
  }
  return KafkaStatus(rd_kafka_commit(rk_.get(), list.get(), /*async=*/1),
                     "kafka consumer: commit");
}

Result<std::vector<int64_t>> QueryOffsets(
    rd_kafka_t* rk, const std::vector<TopicPartition>& tps, int64_t which,
    int timeout_ms) {
  KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(tps.size())));
  for (const TopicPartition& tp : tps) {
    // offsets_for_times with the logical timestamps -1/-2 is a plain
    // ListOffsets request, and unlike query_watermark_offsets it keeps to
    // its timeout when the leader is unreachable.
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(),
                                      tp.partition)
        ->offset = which;
  }
  EPI_RETURN_IF_ERROR(KafkaStatus(
      rd_kafka_offsets_for_times(rk, list.get(), timeout_ms), "list offsets"));
  std::vector<int64_t> offsets;
  offsets.reserve(tps.size());
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    EPI_RETURN_IF_ERROR(
        KafkaStatus(p.err, std::string("list offsets of ") + p.topic + " [" +
                               std::to_string(p.partition) + "]"));
    offsets.push_back(p.offset);
  }
  if (offsets.size() != tps.size()) {
    return Status::Internal("list offsets: partial answer");
  }
  return offsets;
}

Result<std::pair<int64_t, int64_t>> KafkaConsumer::Watermarks(
    const std::string& topic, int32_t partition, int timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<TopicPartition> tps = {{topic, partition}};
  auto lo = QueryOffsets(rk_.get(), tps, RD_KAFKA_OFFSET_BEGINNING, timeout_ms);
  if (!lo.ok()) return lo.status();
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  auto hi =
      QueryOffsets(rk_.get(), tps, RD_KAFKA_OFFSET_END,
                   std::max<int>(1, timeout_ms - static_cast<int>(spent)));
  if (!hi.ok()) return hi.status();
  return std::make_pair((*lo)[0], (*hi)[0]);
}

std::vector<PartitionLag> KafkaConsumer::Lags() const {
  std::vector<PartitionLag> lags;
  lags.reserve(parts_.size());
  for (const auto& [key, st] : parts_) {
    PartitionLag l;
    l.tp = {*key.first, key.second};
    int64_t lo = -1;
    int64_t hi = -1;
    if (rd_kafka_get_watermark_offsets(rk_.get(), key.first->c_str(),
                                       key.second, &lo,
                                       &hi) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      l.high_watermark = hi;
    }
    l.next_offset = st.next_offset;
    const int64_t position = st.next_offset >= 0 ? st.next_offset : lo;
    if (l.high_watermark >= 0 && position >= 0) {
      l.lag = std::max<int64_t>(0, l.high_watermark - position);
    }
    lags.push_back(std::move(l));
  }
  std::sort(
      lags.begin(), lags.end(),
      [](const PartitionLag& a, const PartitionLag& b) { return a.tp < b.tp; });
  return lags;
}

std::vector<TopicPartition> KafkaConsumer::Assignment() const {
  std::vector<TopicPartition> tps;
  for (const auto& [key, st] : parts_) {
    if (st.assigned) tps.push_back({*key.first, key.second});
  }
  std::sort(tps.begin(), tps.end());
  return tps;
}

}  // namespace epistream
