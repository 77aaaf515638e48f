#include "operators/cluster/global_aggregate.h"

#include "engine/byte_codec.h"

namespace epistream {

std::string GlobalAggregate::StoreKey(CityCounter c) const {
  std::string k = prefix_;
  k.push_back('N');
  k.append(CityCounterName(c));
  return k;
}

std::string GlobalAggregate::BucketPrefix(CityCounter c) const {
  std::string k = prefix_;
  k.push_back('M');
  k.append(CityCounterName(c));
  k.push_back('/');
  return k;
}

std::string GlobalAggregate::BucketKey(CityCounter c, int64_t bucket) const {
  std::string k = BucketPrefix(c);
  ByteWriter(&k).OrderedI64(bucket);
  return k;
}

Status GlobalAggregate::Load() {
  for (int i = 0; i < kNumCityCounters; ++i) {
    const auto c = static_cast<CityCounter>(i);
    DeltaCounter& counter = counters_[i];
    counter = DeltaCounter();
    counter.TrackStoredBuckets();
    dirty_[i] = false;
    bool found = false;
    EPI_RETURN_IF_ERROR(store_->Get(StoreKey(c), &scratch_, &found));
    if (found) {
      ByteReader r(scratch_);
      if (!counter.Decode(&r) || !r.done()) {
        return Status::Corruption("cluster aggregate: undecodable counter");
      }
      // An old state's stamps: listed for their bucket keys; the base is
      // rewritten without them.
      if (counter.pending() > 0) dirty_[i] = true;
    }
    const std::string prefix = BucketPrefix(c);
    bool bad = false;
    EPI_RETURN_IF_ERROR(store_->Scan(
        prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
          ByteReader key(k.substr(prefix.size()));
          const int64_t bucket = key.OrderedI64();
          bad = !key.ok() || !key.done() || !counter.DecodeBucket(bucket, v);
          return !bad;
        }));
    if (bad) return Status::Corruption("cluster aggregate: undecodable bucket");
  }
  return Status::Ok();
}

void GlobalAggregate::Add(CityCounter c, TimestampMs ts, int64_t delta) {
  counters_[static_cast<int>(c)].Add(ts, delta);
  // The base is rewritten too (a few bytes): its key then exists exactly
  // when the counter was ever written, whatever the checkpoints, as before
  // the buckets (the crash loop compares these keys byte for byte).
  dirty_[static_cast<int>(c)] = true;
}

int64_t GlobalAggregate::ValueAt(CityCounter c, TimestampMs a) const {
  return counters_[static_cast<int>(c)].ValueAt(a);
}

void GlobalAggregate::Compact(TimestampMs horizon) {
  for (int i = 0; i < kNumCityCounters; ++i) {
    const int64_t before = counters_[i].base();
    const size_t pending = counters_[i].pending();
    counters_[i].Compact(horizon);
    if (counters_[i].base() != before || counters_[i].pending() != pending)
      dirty_[i] = true;
  }
}

void GlobalAggregate::Flush() {
  for (int i = 0; i < kNumCityCounters; ++i) {
    const auto c = static_cast<CityCounter>(i);
    DeltaCounter& counter = counters_[i];
    if (dirty_[i]) {
      scratch_.clear();
      ByteWriter w(&scratch_);
      counter.EncodeBase(&w);
      store_->PutForCommit(StoreKey(c), scratch_);
      dirty_[i] = false;
    }
    counter.ForEachDirtyBucket([&](int64_t bucket, bool present) {
      if (present) {
        store_->PutForCommit(BucketKey(c, bucket), counter.BucketBytes(bucket));
      } else {
        store_->DeleteForCommit(BucketKey(c, bucket));
      }
    });
  }
}

}  // namespace epistream
