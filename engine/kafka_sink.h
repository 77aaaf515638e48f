// KafkaSink: a RecordSink writing one Kafka topic through a shared
// idempotent producer, exactly once across crashes and restarts.
//
// Why read-back and not Kafka transactions: alerts must be visible within 1 s
// of their event (a transaction per checkpoint makes read_committed consumers
// wait for the commit, and Flink-style two-phase commit takes a minute), and
// epidemiology consumers use kcat and simple clients that read uncommitted.
// So records are produced immediately, and the checkpoint records where the
// topic ended after the sink's last successful Flush (Position()). After a
// crash the engine replays from its checkpoint; before that, Recover() reads
// the topic from the recorded ends to its current end and remembers the ids
// of what is there, and Write() drops a replayed record whose id it has seen.
// The producer's idempotence removes duplicates from internal retries. Record
// ids are deterministic (alert_id; the source position of a dead letter), so
// the replay reproduces exactly the ids written before the crash.
//
// Threading: the stage thread only (as the producer).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/kafka_producer.h"
#include "engine/record_sink.h"
#include "engine/table_reader.h"

namespace epistream {

class KafkaSink : public RecordSink {
 public:
  // The identity of a record, for suppression of replayed output.
  using IdFn = std::function<std::string(std::string_view key, std::string_view value)>;

  KafkaSink(KafkaProducer* producer, std::string topic, IdFn id, int flush_timeout_ms = 10000);

  // Reads back what was written to the topic after `position` (as returned by
  // Position() at the last checkpoint). Call before the first Write.
  Status Recover(const std::string& position, const TableReaderOptions& reader, int timeout_ms);

  // Scale-out (input partitions assigned, maybe taken over from another
  // instance): for each input partition of `positions`, also reads what was
  // written after its position (at its last checkpoint, in Position()'s
  // format) and remembers the ids of the records `keep` accepts (by input
  // partition and key; null keeps all) as expected from that partition's
  // replay. One read of the topic for all of them. May be called at any time;
  // does not change Position(). Unlike Recover()'s, these ids do not make
  // Flush() postpone the checkpoint: the owner instead keeps the
  // partition's stored position where it was while pending_for(partition)
  // > 0, so a later recovery reads them again. (With several partitions'
  // output in one topic, ids of other partitions are kept too; they are
  // never regenerated and go at ForgetPending().)
  Status AddRecovery(const std::map<int32_t, std::string>& positions, const TableReaderOptions& reader,
                     int timeout_ms, const std::function<bool(int32_t partition, std::string_view key)>& keep);
  // Ids from AddRecovery(..., partition) not yet regenerated.
  size_t pending_for(int32_t partition) const {
    auto it = taken_pending_.find(partition);
    return it == taken_pending_.end() ? 0 : it->second;
  }

  Status Write(std::string_view key, std::string_view value) override;
  // Waits for every queued record, then captures the topic's end offsets.
  // Unavailable while replayed output is still expected (see Recover): the
  // caller postpones its checkpoint, keeping input and output positions paired.
  Status Flush() override;
  // Drops the ids still expected from the replay (the input is caught up and
  // they were not regenerated); returns how many.
  size_t ForgetPending();
  std::string Position() const override { return position_; }

  uint64_t written() const { return written_; }
  uint64_t suppressed() const { return suppressed_; }
  size_t pending_suppressions() const { return seen_.size() + taken_seen_.size(); }

  // The alert_id of an alert JSON object (its first field), or the whole key.
  static std::string AlertIdOf(std::string_view key, std::string_view value);
  static std::string KeyOf(std::string_view key, std::string_view value);
  // The position format (Position(), and what Recover/AddRecovery take):
  // version 1, then each sink partition's end offset; no ends at all means
  // "before anything" (a partition never checkpointed).
  static std::string EncodePosition(const std::map<int32_t, int64_t>& ends);

 private:
  KafkaProducer* producer_;
  std::string topic_;
  IdFn id_;
  int flush_timeout_ms_;
  std::string position_;
  std::unordered_set<std::string> seen_;
  // AddRecovery's ids, each with the partitions whose recovery read it.
  std::unordered_map<std::string, std::vector<int32_t>> taken_seen_;
  std::map<int32_t, size_t> taken_pending_;
  uint64_t written_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace epistream
