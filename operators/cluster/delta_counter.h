// DeltaCounter: a count as a function of event time, from stamped deltas.
//
// ValueAt(a) = the sum of every delta stamped <= a, whatever order the deltas
// arrived in. Deltas stamped before a horizon are folded into a base value
// (Compact) once no query can ask for an earlier time: the cluster stage
// never evaluates earlier than watermark - allowed lateness, so the map holds
// about that much recent history plus whatever is stamped ahead of the
// watermark.
//
// Deltas are a vector sorted by stamp: they arrive nearly in time order, so an
// insert is an append or a short move near the end, and ValueAt walks back
// from a running total over the stamps after a (the usual query, a near the
// watermark, costs the few stamps ahead of it).
//
// Threading: owned by one stage thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/event_time.h"

namespace epistream {

class DeltaCounter {
 public:
  void Add(TimestampMs ts, int64_t delta);
  int64_t ValueAt(TimestampMs a) const;
  // Folds deltas stamped < horizon into the base.
  void Compact(TimestampMs horizon);
  bool Empty() const { return base_ == 0 && deltas_.empty(); }
  size_t pending() const { return deltas_.size(); }

  void Encode(ByteWriter* w) const;
  // False on malformed input (the reader's ok() also turns false).
  bool Decode(ByteReader* r);

  bool operator==(const DeltaCounter& o) const {
    return base_ == o.base_ && deltas_ == o.deltas_;
  }

 private:
  int64_t base_ = 0;
  int64_t total_ = 0;  // base_ + every delta
  std::vector<std::pair<TimestampMs, int64_t>>
      deltas_;  // ascending stamps, no zero values
};

}  // namespace epistream
