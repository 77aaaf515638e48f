#include "operators/cluster/delta_counter.h"

#include <iterator>

namespace epistream {

void DeltaCounter::Add(TimestampMs ts, int64_t delta) {
  if (delta == 0) return;
  total_ += delta;
  // The insertion point, searched from the back (usually the end).
  auto it = deltas_.end();
  while (it != deltas_.begin() && std::prev(it)->first > ts) --it;
  if (it != deltas_.begin() && std::prev(it)->first == ts) {
    --it;
    it->second += delta;
    if (it->second == 0) deltas_.erase(it);
    return;
  }
  deltas_.insert(it, {ts, delta});
}

int64_t DeltaCounter::ValueAt(TimestampMs a) const {
  int64_t v = total_;
  for (auto it = deltas_.rbegin(); it != deltas_.rend() && it->first > a; ++it)
    v -= it->second;
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
  total_ = base_;
  deltas_.clear();
  const uint64_t n = r->Varint();
  TimestampMs ts = 0;
  for (uint64_t i = 0; i < n && r->ok(); ++i) {
    ts =
        i == 0 ? r->SignedVarint() : ts + static_cast<TimestampMs>(r->Varint());
    const int64_t d = r->SignedVarint();
    if (d != 0) deltas_.emplace_back(ts, d);
    total_ += d;
  }
  return r->ok();
}

}  // namespace epistream
