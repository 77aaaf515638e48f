// GlobalAggregate: the city-wide distinct counts of the cluster stage (active
// persons and fever persons over the case and community windows, active
// venues), each a DeltaCounter of event-time stamped deltas.
//
// Every instance would read all of it (a small global table); in one
// process it is fed by kCityCount records and by the venue activity spans.
// Persisted under the stage prefix (default G C), staged by Flush with the
// checkpoint:
//   N<counter name>                      the base (flat DeltaCounter form,
//                                        no stamps)
//   M<counter name>/<OrderedI64 bucket>  the stamps of one DeltaCounter
//                                        bucket (15 min of event time)
// Why per bucket: the active-person counters hold one stamp per person who
// arrived or left since the horizon (in Kafka mode, since the slowest input
// partition's time), up to O(persons); written whole, every checkpoint
// (once per wall second) re-encoded and rewrote all of them. Now a
// checkpoint writes the buckets touched since the last one (new stamps land
// in one or two), deletes the folded ones, and rewrites the base of each
// counter that changed. Old states (stamps inside N<name>) still load; their
// stamps move to bucket keys at the next Flush.
//
// Threading: owned by the cluster stage thread.
#pragma once

#include <array>
#include <string>
#include <utility>

#include "engine/kv_store.h"
#include "engine/status.h"
#include "operators/cluster/cluster_record.h"
#include "operators/cluster/delta_counter.h"

namespace epistream {

class GlobalAggregate {
 public:
  // `prefix`: the owning stage's key prefix (ClusterStageKeyPrefix).
  GlobalAggregate(KvStore* store, std::string prefix)
      : store_(store), prefix_(std::move(prefix)) {
    for (DeltaCounter& c : counters_) c.TrackStoredBuckets();
  }

  Status Load();
  void Add(CityCounter c, TimestampMs ts, int64_t delta);
  int64_t ValueAt(CityCounter c, TimestampMs a) const;
  // Folds stamps < horizon into each counter's base.
  void Compact(TimestampMs horizon);
  // Stages the counters changed since the last Flush.
  void Flush();

  // N<name>: the counter's base.
  std::string StoreKey(CityCounter c) const;
  // M<name>/: the prefix of its bucket keys; BucketKey adds the bucket.
  std::string BucketPrefix(CityCounter c) const;
  std::string BucketKey(CityCounter c, int64_t bucket) const;
  size_t pending(CityCounter c) const {
    return counters_[static_cast<int>(c)].pending();
  }

 private:
  KvStore* store_;
  std::string prefix_;
  std::array<DeltaCounter, kNumCityCounters> counters_{};
  std::array<bool, kNumCityCounters> dirty_{};  // base to write
  std::string scratch_;
};

}  // namespace epistream
