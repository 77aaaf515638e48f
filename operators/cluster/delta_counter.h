// DeltaCounter: a count as a function of event time, from stamped deltas.
//
// ValueAt(a) = the sum of every delta stamped <= a, whatever order the deltas
// arrived in. Deltas stamped before a horizon are folded into a base value
// (Compact) once no query can ask for an earlier time: the cluster stage
// never evaluates earlier than watermark - allowed lateness, so the map holds
// about that much recent history plus whatever is stamped ahead of the
// watermark.
//
// Deltas are an ordered map by stamp. Most pending stamps lie ahead of the
// watermark (each active person's -1 at last seen + window), while inserts and
// queries land near the watermark: a sorted vector walked from the back (the
// first version) cost O(pending) per Add, 85% of Kafka mode's CPU at 1M
// persons (perf, e2e_bench). Add is O(log n); ValueAt walks forward from the
// base over the stamps <= a, which Compact keeps to about the allowed
// lateness' worth.
//
// Threading: owned by one stage thread.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

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
  std::map<TimestampMs, int64_t> deltas_;  // no zero values
};

}  // namespace epistream
