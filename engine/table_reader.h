// TableReader: reads every partition of one or more topics, outside any
// consumer group, from given offsets or from the beginning.
//
// Used for the global tables (epi.risk_areas, epi.persons: every instance
// reads all of them) and for reading back an output topic from recorded
// offsets (exactly-once suppression: on restart the engine reads the alerts
// written after its last checkpoint's recorded end offsets so that it does
// not emit them again).
//
// Lifecycle: Open() finds the partitions (fixed from then on: partitions
// added to a topic later are not read) and assigns them at their start
// offsets; ReadToEnd() catches up; PollBatch() follows.
// Threading: not thread-safe; one owner thread, except Wakeup(). StartCatchUp()
// runs its request on a short-lived helper thread (see there).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/kafka_consumer.h"
#include "engine/kafka_status.h"
#include "engine/status.h"

namespace epistream {

struct TableReaderOptions {
  // bootstrap.servers. Default: "127.0.0.1:9092"
  std::string brokers = "127.0.0.1:9092";
  // Topics read in full. Default: {}
  std::vector<std::string> topics;
  // Extra librdkafka properties (TLS, SASL...). Default: {}
  std::map<std::string, std::string> properties;
  // Time allowed for finding the topics' partitions. Default: 10000
  int metadata_timeout_ms = 10000;
};

class TableReader {
 public:
  // Called for each message during ReadToEnd(); a non-ok Status stops it
  // and is returned.
  using Callback = std::function<Status(const KafkaMessage&)>;

  // Partitions listed in start_offsets start at that next offset, the
  // others at the beginning. A missing topic is NotFound.
  static Result<std::unique_ptr<TableReader>> Open(
      const TableReaderOptions& options,
      const std::map<TopicPartition, int64_t>& start_offsets = {});

  ~TableReader();
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  // Captures the high watermark of every partition, then calls `cb` for
  // every message until each partition has reached its captured watermark.
  // Unavailable if that takes longer than timeout_ms (the broker is down or
  // slow); the reader can then be used again (ReadToEnd or PollBatch resume
  // where it stopped). OutOfRange if a start offset lies beyond a
  // partition's end (the topic was deleted and recreated). If `cb` fails,
  // the rest of its batch is skipped: reopen the reader to retry.
  Status ReadToEnd(const Callback& cb, int timeout_ms);

  // The barrier between the tables and the stream topics: calls `cb` for
  // every message appended to the topics before this call (captures each
  // partition's end offset with one ListOffsets request per leader, then
  // reads up to it). A stream event fetched before the call is therefore
  // applied after every table record the broker had appended before that
  // event, however late this reader's own fetches come back. Costs one
  // round trip when nothing is new. Unavailable after timeout_ms, as
  // ReadToEnd; the next CatchUp() then resumes towards the same ends (no
  // new ListOffsets), so a caller that holds its stream events back until
  // one succeeds keeps the guarantee.
  Status CatchUp(const Callback& cb, int timeout_ms);

  // Sends the ListOffsets request of the next CatchUp() now, on a helper
  // thread, so that its round trip overlaps the caller's own work; the next
  // CatchUp() then waits only for what is left of it. The ends it captures
  // are those of the moment of this call (the barrier covers what the
  // broker had appended before it, as if CatchUp() had been called here).
  // No-op while a CatchUp() that timed out is to be resumed or a request is
  // already under way. Call CatchUp() before the next PollBatch(): the ends
  // are then still ahead of what was read.
  void StartCatchUp(int timeout_ms);

  // Follows the topics: as KafkaConsumer::PollBatch (returns as soon as a
  // message is there, up to max, or after timeout_ms).
  Status PollBatch(int timeout_ms, std::vector<KafkaMessage>* out, size_t max);

  // End-of-partition, offset-gap and error events since the last call
  // (drain regularly: an event is queued each time a partition is caught
  // up).
  std::vector<PartitionEvent> TakeEvents();

  // Next offset of every partition (its start offset if nothing was read).
  std::map<TopicPartition, int64_t> Positions() const;

  const std::vector<TopicPartition>& partitions() const { return tps_; }

  // Makes a blocked PollBatch()/ReadToEnd() wait return early. Thread-safe.
  void Wakeup();

 private:
  struct PartitionState {
    const std::string* topic = nullptr;
    int32_t partition = 0;
    int64_t next_offset = -1;  // -1: from the beginning, nothing read yet
    int64_t eof_offset = -1;   // offset of the last end-of-partition seen
    bool check_gap = false;
  };

  TableReader(KafkaHandle rk, std::vector<std::string> topics);
  // Every partition's end offset now; with `check_starts`, also asks for
  // the log starts, so that a partition never read and with nothing to read
  // counts as at its end at once.
  Result<std::vector<int64_t>> CaptureEnds(int timeout_ms, bool check_starts);
  // The ListOffsets part of CaptureEnds (ends, then starts if asked; empty
  // starts otherwise). Touches only rk_ and tps_: safe on a helper thread.
  struct Ends {
    std::vector<int64_t> ends;
    std::vector<int64_t> starts;
  };
  Result<Ends> QueryEnds(int timeout_ms, bool check_starts) const;
  // The rest of CaptureEnds, on the owner thread.
  Result<std::vector<int64_t>> CheckEnds(Ends ends);
  // True while some partition has been neither read nor seen at its end.
  bool HasUnknownStart() const;
  // Calls `cb` for every message until each partition reached `target`
  // (same order as tps_); Unavailable at `deadline` (steady ms).
  Status ReadTo(const std::vector<int64_t>& target, const Callback& cb,
                int64_t deadline, int timeout_ms);
  Status Assign(const std::map<TopicPartition, int64_t>& start_offsets,
                int metadata_timeout_ms);
  PartitionState* Find(const rd_kafka_topic_t* rkt, int32_t partition);

  KafkaHandle rk_;
  KafkaQueue queue_;
  std::vector<std::string> topics_;  // interned: KafkaMessage::topic
  std::vector<TopicPartition> tps_;
  std::vector<PartitionState> parts_;  // same order as tps_
  std::vector<size_t> first_part_;     // per topic: its first index in parts_
  std::vector<rd_kafka_message_t*> raw_;
  std::vector<PartitionEvent> events_;
  // Ends captured by a CatchUp() that timed out; the next one resumes them.
  std::vector<int64_t> catch_up_target_;
  // Live KafkaMessages (see KafkaMessage); leaked with the client if any.
  std::atomic<int64_t>* outstanding_ = new std::atomic<int64_t>(0);
  // StartCatchUp()'s request (the destructor waits for it).
  std::future<Result<Ends>> pending_ends_;
};

}  // namespace epistream
