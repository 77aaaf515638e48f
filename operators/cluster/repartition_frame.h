// RepartitionFrame: one message of the repartition topic
// `epistream.repartition.cluster` (operators/cluster/README.md, "Scale-out").
//
// Every frame names the upstream (input) partition p that made it and the
// generation of p's owner: a number the writer draws afresh each time it
// takes p over (never 0), so frames of a dead or fenced-off owner are told
// apart from the new owner's. Per p one sequence counter numbers the record
// and watermark frames (seq 1, 2, ...; checkpointed with p's state, so a new
// owner continues from p's last checkpoint):
//   kRecord    one ClusterRecord of p.
//   kWatermark WM(p, w): every person timer of p <= w has fired and its
//              records have smaller seqs.
//   kCommit    C(p, S): p's checkpoint holding every frame with seq <= S is
//              committed (sent after the local commit); frames above S are
//              still pending and may be superseded.
//   kTakeover  T(p, S): a new owner restored p at seq S; pending frames of
//              p above S (the previous owners' uncommitted output) are void,
//              and from here on only this generation's frames of p count.
// A ClusterPartitionRunner applies records and markers of p only once a
// commit of their generation covers them (or a takeover at or above them).
//
// Wire form (version 2): u8 version, u8 type, be16 upstream, varint
// generation, varint seq, then the ClusterRecord encoding (kRecord) or an
// ordered i64 watermark (kWatermark); nothing more for kCommit / kTakeover.
// Decode rejects anything else (unknown version or type, truncated, trailing
// bytes): the caller counts it as a dead letter.
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
  kCommit = 3,
  kTakeover = 4,
};

struct RepartitionFrame {
  RepartitionFrameType type = RepartitionFrameType::kRecord;
  uint16_t upstream = 0;                  // the input partition p that made it
  uint64_t generation = 0;                // p's owner (> 0 from a writer)
  uint64_t seq = 0;                       // see the types above
  ClusterRecord record;                   // type kRecord
  TimestampMs watermark = kMinTimestamp;  // type kWatermark

  // Record and watermark frames wait for a commit; the others decide.
  bool is_data() const {
    return type == RepartitionFrameType::kRecord ||
           type == RepartitionFrameType::kWatermark;
  }

  void Encode(std::string* out) const;
  // Corruption on any malformed input (*this is then unspecified).
  Status Decode(std::string_view bytes);
};

}  // namespace epistream
