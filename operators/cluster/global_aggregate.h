// GlobalAggregate: the city-wide distinct counts of the cluster stage (active
// persons and fever persons over the case and community windows, active
// venues), each a DeltaCounter of event-time stamped deltas.
//
// Every instance would read all of it (a small global table); in one
// process it is fed by kCityCount records and by the venue activity spans.
// Persisted under <stage prefix> N<counter name> (default prefix G C), staged
// by Flush with the checkpoint.
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
      : store_(store), prefix_(std::move(prefix)) {}

  Status Load();
  void Add(CityCounter c, TimestampMs ts, int64_t delta);
  int64_t ValueAt(CityCounter c, TimestampMs a) const;
  // Folds stamps < horizon into each counter's base.
  void Compact(TimestampMs horizon);
  // Stages the counters changed since the last Flush.
  void Flush();

  std::string StoreKey(CityCounter c) const;

 private:
  KvStore* store_;
  std::string prefix_;
  std::array<DeltaCounter, kNumCityCounters> counters_{};
  std::array<bool, kNumCityCounters> dirty_{};
  std::string scratch_;
};

}  // namespace epistream
