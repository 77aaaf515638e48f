// KafkaConsumer: the group consumer of the person-keyed input topics.
//
// Offsets live in the engine's state, not in Kafka: on every assignment the
// consumer asks its owner for the offset stored with the state of that
// partition and starts there; committed offsets are written only so that
// tools (kafka-consumer-groups, Burrow) can show the group's lag. Kafka
// auto-commit and auto offset store are always off.
//
// Lifecycle: Create() subscribes; PollBatch() drives everything (fetched
// messages, rebalances, errors); Close() leaves the group, which revokes the
// assignment through on_revoke first. Call Close() while what on_revoke
// touches is still alive: the destructor closes too if needed. Destroy every
// KafkaMessage before the consumer.
//
// Threading: not thread-safe. Create, PollBatch, TakeEvents, CommitOffsets,
// Lags, Watermarks, RequestCaughtUp, SetPaused and Close must all be called
// from one thread, the owner's poll thread. The offset lookup and on_revoke
// callbacks run on that thread, synchronously inside PollBatch() or Close().
// Only Wakeup() may be called from any thread. One internal helper thread
// (caught-up snapshots) only sends ListOffsets requests; it stops in Close().
//
// Rebalances (cooperative-sticky by default, so a rebalance moves only the
// partitions that change owner; an eager assignor such as range, set through
// properties["partition.assignment.strategy"], revokes the whole assignment
// at every rebalance and assigns the new one, through the same callbacks):
//  - assign: for each new partition, offset_lookup(topic, partition) gives
//    the next offset to process; nullopt means "no state for it" and the
//    partition starts from the beginning (or from the group's committed
//    offset, see KafkaConsumerOptions). The partitions are then assigned at
//    those offsets (incremental_assign).
//  - revoke: on_revoke(partitions, lost) is called BEFORE the partitions are
//    released, so the owner can checkpoint their state and offsets while it
//    still owns them. When it returns they are unassigned. Messages of
//    revoked partitions that were fetched but not yet returned are dropped,
//    so after on_revoke no message of those partitions is ever returned.
//    `lost` is true when the group already gave them to someone else
//    (session timeout): the owner must not write anything that another
//    instance may now be writing.
//  Both are also queued as PartitionEvents for the owner's bookkeeping.
//
// Delivery guarantee to the owner: within one assignment of a partition,
// messages are returned in offset order, each at most once; a message with
// an offset below the next expected one (a refetch after a seek) is dropped.
//
// Caught-up snapshots (RequestCaughtUp): "nothing more to read" must be
// fresh to be worth anything. An end-of-partition event is emitted once per
// reaching the end and says nothing about what was appended since, nor
// whether the partition's broker is still reachable (after a leader change
// or during an outage the last EOF looks current forever). So on request a
// helper thread sends one ListOffsets (high watermarks) for every assigned
// partition, off the owner's thread; once an answered partition's position
// (next offset to return, or the last end-of-partition offset) reaches that
// high watermark, PollBatch() emits a kCaughtUp event with
// as_of_ms = when the request was sent (NowMs() clock, the clock of
// KafkaMessage::received_ms). It means: every message appended before
// as_of_ms has been returned. A partition whose leader is down gets no
// answer, hence no event: waiting on it stays waiting.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <compare>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/event_time.h"
#include "engine/kafka_status.h"
#include "engine/status.h"

namespace epistream {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// Frees a message and counts it out of its owner's live count.
struct KafkaMessageDeleter {
  void operator()(rd_kafka_message_t* m) const {
    rd_kafka_message_destroy(m);
    if (outstanding != nullptr) {
      outstanding->fetch_sub(1, std::memory_order_relaxed);
    }
  }
  std::atomic<int64_t>* outstanding = nullptr;
};

// One consumed record; move-only. Zero copy: key and value point into
// librdkafka's fetch buffer, which the message keeps alive (measured
// cheaper than copying, see README-kafka.md). Release messages promptly:
// each one pins its fetch buffer.
//
// Lifetime: destroy every KafkaMessage before the consumer or reader that
// returned it. (librdkafka's destroy waits for them; a consumer destroyed
// while messages are alive logs an error and leaks its client instead of
// deadlocking.)
struct KafkaMessage {
  // Interned by the consumer or reader that returned it; valid while that
  // object lives.
  const std::string* topic = nullptr;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string_view key;    // empty if the record has no key
  std::string_view value;  // empty if the record has no value (tombstone)
  // Record timestamp (CreateTime set by the producer, or LogAppendTime);
  // -1 if absent.
  TimestampMs timestamp = -1;
  // When PollBatch() returned it (KafkaConsumer::NowMs()); -1 if unset.
  int64_t received_ms = -1;
  std::unique_ptr<rd_kafka_message_t, KafkaMessageDeleter>
      raw;  // owns key/value bytes

  // Wraps a fetched (error-free) librdkafka message, taking ownership;
  // counts it in *outstanding (if given) until it is destroyed.
  static KafkaMessage Wrap(rd_kafka_message_t* m, const std::string* topic,
                           std::atomic<int64_t>* outstanding);
};

// Something other than a message that PollBatch() observed.
struct PartitionEvent {
  enum class Kind {
    kAssigned,        // offset: the start offset chosen (or a logical
                      // RD_KAFKA_OFFSET_* value such as BEGINNING = -2)
    kRevoked,         // released after on_revoke returned
    kLost,            // revoked as lost (see above)
    kEndOfPartition,  // reached the end: offset is the high watermark then
    kOffsetGap,       // first message after a seek to `expected` had
                      // another `offset`. Larger: the records in between
                      // are gone from the broker (retention) or were
                      // compacted away. Smaller: the log restarts below the
                      // stored offset (topic recreated); records below
                      // `expected` are dropped, not returned.
    kError,           // status says what; tp.partition is -1 for
                      // client-wide errors (all brokers down...)
    kCaughtUp,        // every message appended before as_of_ms has been
                      // returned; offset: the high watermark then (see
                      // "Caught-up snapshots" above)
  };
  Kind kind = Kind::kError;
  TopicPartition tp;
  int64_t offset = -1;
  int64_t expected = -1;
  // The event happened before out[batch_index] of the PollBatch() call that
  // produced it (0 for rebalances: they complete before any message of the
  // batch is handed over).
  size_t batch_index = 0;
  Status status;
  int64_t as_of_ms = -1;  // kCaughtUp only
};

struct PartitionLag {
  TopicPartition tp;
  int64_t next_offset = -1;     // next offset to return; -1 unknown yet
  int64_t high_watermark = -1;  // last seen by the fetcher; -1 unknown
  int64_t lag = -1;             // high_watermark - next_offset; -1 unknown
};

// Asks the partitions' leaders for an offset of each partition: `which` is
// RD_KAFKA_OFFSET_END (the high watermark) or RD_KAFKA_OFFSET_BEGINNING
// (the log start). Blocks at most timeout_ms, also while brokers are down
// (rd_kafka_query_watermark_offsets may block far longer: the engine does
// not use it). Results are in the order of `tps`.
Result<std::vector<int64_t>> QueryOffsets(
    rd_kafka_t* rk, const std::vector<TopicPartition>& tps, int64_t which,
    int timeout_ms);

// Next offset to process for a partition, from the engine's state.
using OffsetLookup = std::function<std::optional<int64_t>(
    const std::string& topic, int32_t partition)>;
// Called before partitions are released; see the header comment.
using RevokeCallback = std::function<void(
    const std::vector<TopicPartition>& partitions, bool lost)>;

struct KafkaConsumerOptions {
  // bootstrap.servers. Default: "127.0.0.1:9092"
  std::string brokers = "127.0.0.1:9092";
  // group.id. Default: "epistream"
  std::string group = "epistream";
  // Topics to subscribe to. Default: {}
  std::vector<std::string> topics;
  // Extra librdkafka properties (TLS, SASL, fetch tuning...). They override
  // the defaults (partition.assignment.strategy, auto.offset.reset...) but
  // not enable.auto.commit / enable.auto.offset.store, which stay false.
  // Default: {}
  std::map<std::string, std::string> properties;
  // With no stored offset: true starts at the beginning of the partition,
  // false at the group's committed offset (else auto.offset.reset). Default:
  // true (the state is the truth: no state means no event applied yet)
  bool start_from_beginning_without_stored_offset = true;
  // Caught-up snapshots: at most one ListOffsets per this interval while
  // requested, each waiting at most the timeout for its answers (a down
  // leader costs the timeout, and the others' answers wait with it).
  // Defaults: 5 ms, 1000 ms
  int caught_up_interval_ms = 5;
  int caught_up_timeout_ms = 1000;
};

class KafkaConsumer {
 public:
  // Creates the client and subscribes; the first assignment arrives during
  // a later PollBatch(). on_revoke may be empty.
  static Result<std::unique_ptr<KafkaConsumer>> Create(
      const KafkaConsumerOptions& options, OffsetLookup offset_lookup,
      RevokeCallback on_revoke);

  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Clears `out` and fills it with up to `max` messages. Returns as soon as
  // at least one message is available (with all others already fetched, up
  // to max), or after timeout_ms with none. Rebalance callbacks and errors
  // are served inside; message-level errors and EOFs become events, not a
  // failed Status. Returns non-ok only for a fatal client error or misuse.
  Status PollBatch(int timeout_ms, std::vector<KafkaMessage>* out, size_t max);

  // Events since the last call, oldest first.
  std::vector<PartitionEvent> TakeEvents();

  // Asynchronously commits the given next-offsets to the group (for lag
  // monitoring only; failures are counted, not reported as events).
  Status CommitOffsets(const std::map<TopicPartition, int64_t>& offsets);

  // Low and high watermark of a partition, asked from the broker (blocking).
  Result<std::pair<int64_t, int64_t>> Watermarks(const std::string& topic,
                                                 int32_t partition,
                                                 int timeout_ms = 5000);

  // Lag of every assigned partition from the fetcher's cached high
  // watermarks (no broker round trip; stale by up to one fetch).
  std::vector<PartitionLag> Lags() const;

  // Currently assigned partitions.
  std::vector<TopicPartition> Assignment() const;

  // Leaves the group (on_revoke runs first). Idempotent.
  Status Close();

  // Makes a blocked PollBatch() return early. Thread-safe.
  void Wakeup();

  // Asks for a caught-up snapshot of every assigned partition (see the
  // header comment); its kCaughtUp events come from a later PollBatch().
  // Cheap and non-blocking: requests while one is under way coalesce.
  void RequestCaughtUp();
  // Stops (true) or restarts fetching the given assigned partitions, e.g.
  // while the owner holds too much of them. Messages already fetched may
  // still be returned; a resumed partition continues at its next offset.
  // A new assignment of a partition starts unpaused.
  Status SetPaused(const std::vector<TopicPartition>& tps, bool paused);

  // The clock of KafkaMessage::received_ms and kCaughtUp's as_of_ms:
  // steady, in ms.
  static int64_t NowMs();

  uint64_t dropped_stale_messages() const { return dropped_stale_; }
  uint64_t commit_failures() const { return commit_failures_; }

 private:
  struct PartitionState {
    bool assigned = false;
    bool check_gap = false;    // first message after a seek to a stored offset
    int64_t next_offset = -1;  // -1: not known yet (start at beginning...)
    int64_t eof_offset = -1;   // offset of the last end of partition
    // Caught-up answers not reached yet: (high watermark, as_of_ms), oldest
    // first.
    std::deque<std::pair<int64_t, int64_t>> pending;
  };
  static constexpr size_t kMaxPendingAnswers = 8;
  // The prober thread's inbox and outbox (guarded by probe_mu_).
  struct ProbeAnswer {
    TopicPartition tp;
    int64_t high_watermark = -1;
    int64_t as_of_ms = -1;
  };
  using PartitionKey = std::pair<const std::string*, int32_t>;
  struct PartitionKeyHash {
    size_t operator()(const PartitionKey& k) const {
      return std::hash<const void*>()(k.first) * 31 +
             std::hash<int32_t>()(k.second);
    }
  };

  KafkaConsumer(KafkaHandle rk, KafkaQueue queue, OffsetLookup offset_lookup,
                RevokeCallback on_revoke, bool start_from_beginning);

  static void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* parts,
                                  void* opaque);
  static void ErrorTrampoline(rd_kafka_t* rk, int err, const char* reason,
                              void* opaque);
  static void CommitTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* offsets,
                               void* opaque);
  void OnRebalance(rd_kafka_resp_err_t err,
                   rd_kafka_topic_partition_list_t* parts);
  void OnAssign(rd_kafka_topic_partition_list_t* parts, bool cooperative);
  void OnRevoke(rd_kafka_topic_partition_list_t* parts, bool cooperative);
  void Pump(int timeout_ms, size_t max);
  void Convert(rd_kafka_message_t* m, std::vector<KafkaMessage>* out);
  const std::string* Intern(std::string_view topic);
  const std::string* Intern(const rd_kafka_topic_t* rkt);
  PartitionState* State(const std::string* topic, int32_t partition);
  void AddError(Status status, const std::string* topic, int32_t partition);
  void ProbeLoop(int interval_ms, int timeout_ms);
  void StopProber();
  void PublishAssignment();
  void TakeProbeAnswers(size_t batch_index);

  KafkaHandle rk_;
  KafkaQueue queue_;  // the consumer queue (main queue forwarded into it)
  OffsetLookup offset_lookup_;
  RevokeCallback on_revoke_;
  bool start_from_beginning_;
  bool closed_ = false;
  bool fatal_ = false;

  std::set<std::string, std::less<>> topics_;  // interned names
  const rd_kafka_topic_t* last_rkt_ = nullptr;
  const std::string* last_topic_ = nullptr;
  std::unordered_map<PartitionKey, PartitionState, PartitionKeyHash> parts_;
  // Partitions SetPaused stopped and did not restart: librdkafka keeps the
  // pause across assignments, so OnAssign resumes these (and only these).
  std::set<std::pair<std::string, int32_t>> paused_;
  std::vector<rd_kafka_message_t*> raw_;
  std::vector<PartitionEvent> events_;
  // Live KafkaMessages; heap-allocated so it can be leaked with the client.
  std::atomic<int64_t>* outstanding_ = new std::atomic<int64_t>(0);
  uint64_t dropped_stale_ = 0;
  uint64_t commit_failures_ = 0;

  std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  bool probe_stop_ = false;
  bool probe_wanted_ = false;
  std::vector<TopicPartition> probe_tps_;  // the assignment, for the prober
  std::vector<ProbeAnswer> probe_answers_;
  bool any_pending_ = false;  // some PartitionState::pending is not empty
  std::thread prober_;
};

}  // namespace epistream
