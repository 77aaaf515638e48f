// EventTimeMerger: merges several co-partitioned input topics into one
// event-time order per partition number, before the keyed stage sees them.
//
// Why: a person's scans, arrivals and fever visits come from different topics
// that the consumer fetches at different speeds. Applied in fetch order, an
// arrival could be processed after a later scan of the same person (a missed
// quarantine breach), and two runs over the same data could differ. Merged
// by (ts, source) per partition, every run applies a person's events in the
// same order whatever the fetch timing, batch size or restarts.
//
// Release rule per partition: the head with the smallest (ts, source) is
// released once every other source of that partition either has a message
// queued or is caught up *as of a time after the head was received*:
//   caught_up_as_of(s) >= head.msg.received_ms
// where SetCaughtUpAsOf(s, p, t) means "every message of s appended to the
// log before t has been pushed here" (KafkaConsumer's kCaughtUp event: a
// ListOffsets answer to a request sent at t, with the consumer's position at
// that high watermark). The head was appended before it was received, and
// inputs are produced in event-time order, so an older event of s was
// appended before t and is here already. A snapshot only vouches for heads
// received before it, so a stale one (taken before a leader change, an
// outage, or merely before the last fetch round) can never release a newer
// head. (The earlier rule, "caught up = end of partition seen and no data
// since", released heads behind a topic whose fetches had stopped after its
// last end of partition: ConsumerMergeTest in tests/kafka/kafka_consumer_test.cc
// shows the inversion; suspected cause of issue #7's lost alert.)
//
// A source waited on is either
//  - known: assigned here, or heard from (message or snapshot) since it was
//    (re)assigned. The merger waits for it without a time bound: when its
//    broker is down or it lost its leader, releasing the other topics ahead
//    of it would apply a person's later scans before an earlier arrival and
//    lose alerts. Memory is bounded by the caller: Blocked() lists the
//    partitions holding more than kMaxHeldPerPartition messages, whose
//    other topics the engine pauses fetching (Kafka Streams'
//    buffered.records.per.partition). Only at kHardMaxHeldPerPartition (a
//    pause that did not take) is a head released out of order (logged,
//    counted in forced_releases()).
//  - unknown: nothing heard since start or since DropSource (not assigned
//    to this instance). A head waiting on it is released after max_wait_ms,
//    so a topic partition owned by another instance delays alerts by a
//    bounded time only.
//
// order_inversions() counts messages pushed with an event time older than
// one already released from their partition: each is an event applied out
// of order (a producer that appended out of event-time order, an unknown
// source's late data, or a forced release).
//
// Threading: the stage thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "engine/event_time.h"
#include "engine/kafka_consumer.h"

namespace epistream {

class EventTimeMerger {
 public:
  struct Item {
    KafkaMessage msg;  // msg.received_ms: when the consumer returned it
    TimestampMs ts = 0;
    int source = 0;
    // The owner's number of the poll that returned it; Drain's
    // `max_batch` holds back the polls a table barrier has not covered.
    uint64_t batch = 0;
  };

  EventTimeMerger(int num_sources, int64_t max_wait_ms)
      : num_sources_(num_sources), max_wait_ms_(max_wait_ms) {}

  void Push(int source, Item item);
  // The source's partition was assigned to this instance: it is known from
  // now on (waited for without a time bound) even before its first fetch
  // returns, and no earlier snapshot counts for it. KafkaEngine calls it on
  // each kAssigned event.
  void Assign(int source, int32_t partition);
  // Every message of the source's partition appended before as_of_ms (the
  // clock of KafkaMessage::received_ms) has been pushed. Only ever raises.
  void SetCaughtUpAsOf(int source, int32_t partition, int64_t as_of_ms);
  // Drops a source partition's queued messages (revoked: the next owner
  // re-reads them from the checkpointed offsets).
  void DropSource(int source, int32_t partition);

  // Moves every releasable item, in release order, to *out. A head with
  // batch > max_batch is not releasable yet (KafkaEngine: its poll's
  // tables-before-events barrier has not run), and holds back its
  // partition like any head that waits: the order never changes, only
  // when it is released.
  void Drain(int64_t now_ms, std::vector<Item>* out, uint64_t max_batch = UINT64_MAX);

  // True when some head waits for a known source whose snapshot is older
  // than the head: a fresh caught-up snapshot (or its data) would unblock
  // it. KafkaEngine asks the consumer for one then.
  bool WantsSnapshot() const { return wants_snapshot_; }

  // A partition whose queues hold more than kMaxHeldPerPartition messages
  // while it waits for `waiting_for`: the sources listed in `full` (those
  // with queued messages) should stop being fetched until it drains.
  struct Held {
    int32_t partition = 0;
    std::vector<int> full;
  };
  // Partitions over the bound after the last Drain(), ascending.
  std::vector<Held> Blocked() const;

  size_t queued() const { return queued_; }
  size_t queued(int32_t partition) const;
  // Heads released ahead of a known source because of the hard memory bound.
  uint64_t forced_releases() const { return forced_releases_; }
  uint64_t order_inversions() const { return order_inversions_; }

  // Messages one partition may hold while waiting for a known source before
  // Blocked() lists it (~45 MB; 8 s of a 50k/s stream over 4 partitions).
  static constexpr size_t kMaxHeldPerPartition = 100'000;
  // Held beyond this (fetching not paused), heads are released anyway.
  static constexpr size_t kHardMaxHeldPerPartition = 4 * kMaxHeldPerPartition;

  // The event time of a contract JSON message without a full parse: the
  // value of its top-level "ts" (RFC 3339 or epoch ms); kMinTimestamp when
  // absent or malformed (the parser will dead-letter it; release it early).
  static TimestampMs PeekTs(std::string_view json);

 private:
  static constexpr int64_t kNever = INT64_MIN;
  static constexpr int64_t kAlways = INT64_MAX;
  struct Partition {
    std::vector<std::deque<Item>> queues;
    std::vector<int64_t> caught_up_as_of;  // kNever, a time, or kAlways
    std::vector<bool> known;               // heard from since (re)assignment
    size_t queued = 0;
    int64_t blocked_since_ms = -1;
    bool waiting_known = false;  // the last Drain stopped for a known source
    TimestampMs max_released = kMinTimestamp;
  };
  Partition& Get(int32_t partition);

  int num_sources_;
  int64_t max_wait_ms_;
  std::map<int32_t, Partition> partitions_;
  size_t queued_ = 0;
  uint64_t forced_releases_ = 0;
  uint64_t order_inversions_ = 0;
  bool wants_snapshot_ = false;
};

}  // namespace epistream
