// ChangelogWriter: writes the state changes of each checkpoint to a compacted
// changelog topic, one changelog partition per state partition, so that a
// partition moving to another process can be restored there
// (engine/changelog_restorer.h). Generic: the caller says which store keys
// belong to which changelog partition (RouteFn), so the person side
// ('P'+be16(p) prefixes, offsets) and the cluster side (its own prefixes) use
// the same writer on different topics.
//
// Record format (shared with ChangelogRestorer):
//  - a state write: key = the store key, value = its value, or no value (a
//    Kafka tombstone, so compaction drops the key) for a delete;
//  - the commit marker of a checkpoint: key = kChangelogMarkerKey (starts
//    with a zero byte, which no store key does), value = be64 writer id +
//    be64 checkpoint sequence number;
//  - every record carries header kChangelogHeader = be64 writer id + be64
//    sequence of the checkpoint it belongs to.
// A restore applies a checkpoint's writes only when its marker (same writer
// id and sequence) is seen; the writes of a checkpoint interrupted by a
// crash (no marker) are dropped even when another writer's checkpoint
// follows them. The writer id is random per writer object, so a restarted
// process can never complete a dead process's checkpoint.
//
// Protocol (the caller's): stage the state in the store, WriteCheckpoint()
// (produces the routed staged writes and the markers, flushes), and only
// then commit the store, with the returned marks (ChangelogMark::Encode)
// under keys the route leaves out. The local copy is then never ahead of
// the changelog.
//
// Cost: nothing on Put/Delete; at a checkpoint one pass over the staged
// batch (KvStore::ForEachStaged) and one produce per routed write.
//
// Threading: not thread-safe; one owner thread (the stage thread).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "engine/kafka_status.h"
#include "engine/kv_store.h"
#include "engine/status.h"

namespace epistream {

inline constexpr std::string_view kChangelogMarkerKey{"\0commit", 7};
inline constexpr const char* kChangelogHeader = "epi.cl";

// Where a changelog partition stood after a complete checkpoint.
struct ChangelogMark {
  uint64_t writer = 0;
  uint64_t seq = 0;
  int64_t end_offset = -1;  // offset after the marker; -1: nothing yet

  std::string Encode() const;
  static std::optional<ChangelogMark> Decode(std::string_view bytes);
};

struct ChangelogOptions {
  // bootstrap.servers. Default: "127.0.0.1:9092"
  std::string brokers = "127.0.0.1:9092";
  // The changelog topic. Default: "epistream.changelog"
  std::string topic = "epistream.changelog";
  // Extra librdkafka properties (TLS, SASL...). Default: {}
  std::map<std::string, std::string> properties;
  // Flush, metadata and topic creation timeout. Default: 30000
  int timeout_ms = 30000;
};

class ChangelogWriter {
 public:
  // Changelog partition of a store key, or -1 to leave the key out.
  using RouteFn = std::function<int32_t(std::string_view key)>;

  static Result<std::unique_ptr<ChangelogWriter>> Create(
      const ChangelogOptions& options);
  ~ChangelogWriter();
  ChangelogWriter(const ChangelogWriter&) = delete;
  ChangelogWriter& operator=(const ChangelogWriter&) = delete;

  // Creates the topic with `partitions` partitions and cleanup.policy=compact
  // if it does not exist (a broker without the CreateTopics API, such as the
  // embedded one, auto-creates it on the metadata request instead). Returns
  // its partition count; InvalidArgument if it has fewer than
  // `partitions`.
  Result<int32_t> EnsureTopic(int32_t partitions);

  // Produces one checkpoint of `store`: each staged write whose route is in
  // `partitions`, in call order, then a marker with sequence `seq` on every
  // partition of `partitions` (also those without writes: the marker says
  // "complete up to here"); waits until all are delivered. Unavailable on a
  // flush timeout (nothing may be committed locally then). The marks, by
  // partition, to store locally with the commit.
  Result<std::map<int32_t, ChangelogMark>> WriteCheckpoint(
      const KvStore& store, const RouteFn& route,
      const std::set<int32_t>& partitions, uint64_t seq);

  uint64_t writer_id() const { return writer_id_; }
  uint64_t records_written() const { return records_; }
  uint64_t bytes_written() const { return bytes_; }

 private:
  ChangelogWriter(KafkaHandle rk, std::string topic, int timeout_ms,
                  uint64_t writer_id);
  // The topic's partition count, 0 if it does not exist (no auto-creation).
  Result<int32_t> PartitionsIfExists();
  static void DeliveryTrampoline(rd_kafka_t* rk, const rd_kafka_message_t* m,
                                 void* opaque);
  Status Produce(int32_t partition, std::string_view key,
                 const std::string_view* value, const std::string& header);

  KafkaHandle rk_;
  std::string topic_;
  int timeout_ms_;
  uint64_t writer_id_;
  rd_kafka_topic_t* rkt_ = nullptr;  // owned
  Status delivery_error_;  // first failed delivery since the last flush
  std::map<int32_t, int64_t> delivered_end_;  // last delivered offset + 1
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace epistream
