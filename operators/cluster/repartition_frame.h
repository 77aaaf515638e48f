// RepartitionFrame: one message of the repartition topic
// `epistream.repartition.cluster` (operators/cluster/README.md, "Scale-out").
//
// The person side of upstream (input) partition p numbers the records it
// sends with one sequence counter per p (seq 1, 2, ...; checkpointed with p's
// state, so a replay after a crash regenerates the same numbers) and also
// sends watermark markers WM(p, w): "every person timer of p <= w has fired
// and its records were sent before this marker". A marker carries p's
// current record seq but does not consume one: markers are idempotent (the
// runner keeps the maximum), so resending one is harmless. A
// ClusterPartitionRunner drops records whose seq is <= the last one it
// applied from p (replays) and advances its watermark to the minimum of the
// N upstream markers.
//
// Wire form (version 1): u8 version, u8 type, be16 upstream, varint seq,
// then the ClusterRecord encoding (type record) or an ordered i64 watermark
// (type watermark). Decode rejects anything else (unknown version or type,
// truncated, trailing bytes): the caller counts it as a dead letter.
//
// Threading: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/cluster/cluster_record.h"

namespace epistream {

enum class RepartitionFrameType : uint8_t {
  kRecord = 1,
  kWatermark = 2,
};

struct RepartitionFrame {
  RepartitionFrameType type = RepartitionFrameType::kRecord;
  uint16_t upstream = 0;                  // the input partition p that made it
  uint64_t seq = 0;                       // records: p's sequence number (>= 1)
  ClusterRecord record;                   // type kRecord
  TimestampMs watermark = kMinTimestamp;  // type kWatermark

  void Encode(std::string* out) const;
  // Corruption on any malformed input (*this is then unspecified).
  Status Decode(std::string_view bytes);
};

}  // namespace epistream
