#include "operators/cluster/delta_counter.h"

namespace epistream {

void DeltaCounter::Add(TimestampMs ts, int64_t delta) {
  if (delta == 0) return;
  auto [it, inserted] = deltas_.try_emplace(ts, delta);
  if (!inserted) {
    it->second += delta;
    if (it->second == 0) deltas_.erase(it);
  }
}

int64_t DeltaCounter::ValueAt(TimestampMs a) const {
  int64_t v = base_;
  for (auto it = deltas_.begin(); it != deltas_.end() && it->first <= a; ++it)
    v += it->second;
  return v;
}

void DeltaCounter::Compact(TimestampMs horizon) {
  auto it = deltas_.begin();
  for (; it != deltas_.end() && it->first < horizon; ++it) base_ += it->second;
  deltas_.erase(deltas_.begin(), it);
}

void DeltaCounter::Encode(ByteWriter* w) const {
  w->SignedVarint(base_);
  w->Varint(deltas_.size());
  // Stamps ascend: the first absolute, then gaps (small varints).
  TimestampMs prev = 0;
  bool first = true;
  for (const auto& [ts, d] : deltas_) {
    if (first) {
      w->SignedVarint(ts);
      first = false;
    } else {
      w->Varint(static_cast<uint64_t>(ts - prev));
    }
    w->SignedVarint(d);
    prev = ts;
  }
}

bool DeltaCounter::Decode(ByteReader* r) {
  base_ = r->SignedVarint();
  deltas_.clear();
  const uint64_t n = r->Varint();
  TimestampMs ts = 0;
  for (uint64_t i = 0; i < n && r->ok(); ++i) {
    ts =
        i == 0 ? r->SignedVarint() : ts + static_cast<TimestampMs>(r->Varint());
    const int64_t d = r->SignedVarint();
    // A repeated stamp (gap 0) only comes from a foreign encoder: sum it.
    Add(ts, d);
  }
  return r->ok();
}

}  // namespace epistream
