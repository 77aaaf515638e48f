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
// released once every source of that partition either has a message queued
// or is caught up (end of partition reached, nothing more to read now).
// A source waited on is either
//  - known: it has delivered a message or an end of partition since it was
//    (re)assigned. It is ours and its broker answers normally within a fetch
//    round trip, so the merger waits for it without a time bound: when its
//    broker is down or it lost its leader, releasing the other topics ahead
//    of it would apply a person's later scans before an earlier arrival and
//    lose alerts (found by tests/reliability/broker_fault_test.cc: a 10 s
//    outage of the transport topic's broker lost 2 of 58 alerts when heads
//    were released after 3 s). Only when a partition holds more than
//    kMaxHeldPerPartition messages (~45 MB; 8 s of a 50k/s stream over 4
//    partitions) is the head released anyway (memory bound; logged). The
//    better bound is for the engine to pause fetching the other topics of a
//    partition while it waits (KafkaConsumer has no pause yet).
//  - unknown: nothing heard since start or since DropSource (not assigned
//    to this instance, or its first fetch still under way). A head waiting
//    on it is released after max_wait_ms, so a topic partition owned by
//    another instance delays alerts by a bounded time only.
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
    KafkaMessage msg;
    TimestampMs ts = 0;
    int source = 0;
  };

  EventTimeMerger(int num_sources, int64_t max_wait_ms)
      : num_sources_(num_sources), max_wait_ms_(max_wait_ms) {}

  void Push(int source, Item item);
  // The source's partition was assigned to this instance: it is known from
  // now on (waited for without a time bound) even before its first fetch
  // returns. Without this call a source becomes known at its first message
  // or end of partition, and until then is waited for max_wait_ms only: a
  // start under load whose first fetch of one topic takes longer applies the
  // other topics' events of that partition first. KafkaEngine should call it
  // on each kAssigned event (it does).
  void Assign(int source, int32_t partition);
  // The source's partition reached its end (true) or got data again.
  void SetCaughtUp(int source, int32_t partition, bool caught_up);
  // Drops a source partition's queued messages (revoked: the next owner
  // re-reads them from the checkpointed offsets).
  void DropSource(int source, int32_t partition);

  // Moves every releasable item, in release order, to *out.
  void Drain(int64_t now_ms, std::vector<Item>* out);

  size_t queued() const { return queued_; }
  // Heads released ahead of a known source because of the memory bound.
  uint64_t forced_releases() const { return forced_releases_; }

  // Messages one partition may hold while waiting for a known source.
  static constexpr size_t kMaxHeldPerPartition = 100'000;

  // The event time of a contract JSON message without a full parse: the
  // value of its top-level "ts" (RFC 3339 or epoch ms); kMinTimestamp when
  // absent or malformed (the parser will dead-letter it; release it early).
  static TimestampMs PeekTs(std::string_view json);

 private:
  struct Partition {
    std::vector<std::deque<Item>> queues;
    std::vector<bool> caught_up;
    std::vector<bool> known;  // heard from since (re)assignment
    size_t queued = 0;
    int64_t blocked_since_ms = -1;
  };
  Partition& Get(int32_t partition);

  int num_sources_;
  int64_t max_wait_ms_;
  std::map<int32_t, Partition> partitions_;
  size_t queued_ = 0;
  uint64_t forced_releases_ = 0;
};

}  // namespace epistream
