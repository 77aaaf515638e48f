#include "operators/cluster/global_aggregate.h"

#include "engine/byte_codec.h"


namespace epistream {

std::string GlobalAggregate::StoreKey(CityCounter c) const {
  std::string k = prefix_;
  k.push_back('N');
  k.append(CityCounterName(c));
  return k;
}

Status GlobalAggregate::Load() {
  for (int i = 0; i < kNumCityCounters; ++i) {
    const auto c = static_cast<CityCounter>(i);
    bool found = false;
    EPI_RETURN_IF_ERROR(store_->Get(StoreKey(c), &scratch_, &found));
    counters_[i] = DeltaCounter();
    dirty_[i] = false;
    if (!found) continue;
    ByteReader r(scratch_);
    if (!counters_[i].Decode(&r) || !r.done()) {
      return Status::Corruption("cluster aggregate: undecodable counter");
    }
  }
  return Status::Ok();
}

void GlobalAggregate::Add(CityCounter c, TimestampMs ts, int64_t delta) {
  counters_[static_cast<int>(c)].Add(ts, delta);
  dirty_[static_cast<int>(c)] = true;
}

int64_t GlobalAggregate::ValueAt(CityCounter c, TimestampMs a) const {
  return counters_[static_cast<int>(c)].ValueAt(a);
}

void GlobalAggregate::Compact(TimestampMs horizon) {
  for (int i = 0; i < kNumCityCounters; ++i) {
    const size_t before = counters_[i].pending();
    counters_[i].Compact(horizon);
    if (counters_[i].pending() != before) dirty_[i] = true;
  }
}

void GlobalAggregate::Flush() {
  for (int i = 0; i < kNumCityCounters; ++i) {
    if (!dirty_[i]) continue;
    scratch_.clear();
    ByteWriter w(&scratch_);
    counters_[i].Encode(&w);
    store_->Put(StoreKey(static_cast<CityCounter>(i)), scratch_);
    dirty_[i] = false;
  }
}

}  // namespace epistream
