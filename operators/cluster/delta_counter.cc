#include "operators/cluster/delta_counter.h"

namespace epistream {

void DeltaCounter::Touch(int64_t b, Bucket& bucket) {
  bucket.stale = true;
  if (track_stored_ && !bucket.listed) {
    bucket.listed = true;
    dirty_.push_back(b);
  }
}

void DeltaCounter::Add(TimestampMs ts, int64_t delta) {
  if (delta == 0) return;
  const int64_t b = BucketOf(ts);
  auto bit = buckets_.try_emplace(b).first;
  Bucket& bucket = bit->second;
  auto [it, inserted] = deltas_.try_emplace(ts, delta);
  if (inserted) {
    ++bucket.count;
  } else {
    it->second += delta;
    if (it->second == 0) {
      deltas_.erase(it);
      --bucket.count;
    }
  }
  bucket.sum += delta;
  if (bucket.count == 0) {
    // Cancelled out (its sum is 0 then): gone, like its stored copy.
    buckets_.erase(bit);
    if (track_stored_) dirty_.push_back(b);
    return;
  }
  Touch(b, bucket);
}

int64_t DeltaCounter::ValueAt(TimestampMs a) const {
  int64_t v = base_;
  const int64_t last = BucketOf(a);
  auto bit = buckets_.begin();
  for (; bit != buckets_.end() && bit->first < last; ++bit) v += bit->second.sum;
  if (bit == buckets_.end() || bit->first != last) return v;
  for (auto it = deltas_.lower_bound(last * kBucketWidth);
       it != deltas_.end() && it->first <= a; ++it) {
    v += it->second;
  }
  return v;
}

void DeltaCounter::Compact(TimestampMs horizon) {
  const int64_t partial = BucketOf(horizon);
  auto bit = buckets_.begin();
  // Whole buckets before the horizon's: their sums.
  for (; bit != buckets_.end() && bit->first < partial;
       bit = buckets_.erase(bit)) {
    base_ += bit->second.sum;
    if (track_stored_) dirty_.push_back(bit->first);
  }
  auto end = deltas_.lower_bound(partial * kBucketWidth);
  deltas_.erase(deltas_.begin(), end);
  if (bit == buckets_.end() || bit->first != partial) return;
  // The horizon's bucket: its stamps < horizon.
  Bucket& bucket = bit->second;
  auto it = end;
  uint32_t folded = 0;
  for (; it != deltas_.end() && it->first < horizon; ++it) {
    base_ += it->second;
    bucket.sum -= it->second;
    ++folded;
  }
  if (folded == 0) return;
  deltas_.erase(end, it);
  bucket.count -= folded;
  if (bucket.count == 0) {
    buckets_.erase(bit);
    if (track_stored_) dirty_.push_back(partial);
    return;
  }
  Touch(partial, bucket);
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

void DeltaCounter::Reset() {
  const bool track = track_stored_;
  *this = DeltaCounter();
  track_stored_ = track;
}

bool DeltaCounter::Decode(ByteReader* r) {
  Reset();
  base_ = r->SignedVarint();
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

void DeltaCounter::EncodeBase(ByteWriter* w) const {
  w->SignedVarint(base_);
  w->Varint(0);
}

// A bucket's bytes: the count, then per stamp its offset from the previous
// one (the first from the bucket's start) and its delta.
void DeltaCounter::EncodeBucketBytes(int64_t b, std::string* out) const {
  out->clear();
  ByteWriter w(out);
  const TimestampMs start = b * kBucketWidth;
  auto it = deltas_.lower_bound(start);
  const TimestampMs end = start + kBucketWidth;
  const Bucket& bucket = buckets_.at(b);
  w.Varint(bucket.count);
  TimestampMs prev = start;
  for (; it != deltas_.end() && it->first < end; ++it) {
    w.Varint(static_cast<uint64_t>(it->first - prev));
    w.SignedVarint(it->second);
    prev = it->first;
  }
}

const std::string& DeltaCounter::BucketBytes(int64_t b) const {
  Bucket& bucket = buckets_.at(b);
  if (bucket.stale) {
    EncodeBucketBytes(b, &bucket.bytes);
    bucket.stale = false;
  }
  return bucket.bytes;
}

void DeltaCounter::EncodeChunked(ByteWriter* w) const {
  w->SignedVarint(base_);
  w->Varint(buckets_.size());
  int64_t prev = 0;
  bool first = true;
  for (const auto& [b, bucket] : buckets_) {
    if (first) {
      w->SignedVarint(b);
      first = false;
    } else {
      w->Varint(static_cast<uint64_t>(b - prev));
    }
    prev = b;
    w->Str(BucketBytes(b));
  }
}

bool DeltaCounter::ReadBucket(int64_t b, std::string_view bytes) {
  ByteReader r(bytes);
  const TimestampMs start = b * kBucketWidth;
  const TimestampMs end = start + kBucketWidth;
  const uint64_t n = r.Varint();
  if (n == 0 || n > bytes.size()) return false;
  TimestampMs ts = start;
  bool canonical = true;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const uint64_t gap = r.Varint();
    if (gap >= static_cast<uint64_t>(kBucketWidth)) return false;
    ts += static_cast<TimestampMs>(gap);
    const int64_t d = r.SignedVarint();
    if (ts >= end) return false;
    if ((i > 0 && gap == 0) || d == 0) canonical = false;
    Add(ts, d);
  }
  if (!r.ok() || !r.done()) return false;
  auto it = buckets_.find(b);
  // Bytes as this encoder writes them: keep them, the bucket is clean.
  if (canonical && it != buckets_.end() && it->second.count == n) {
    it->second.bytes.assign(bytes);
    it->second.stale = false;
  }
  return true;
}

bool DeltaCounter::DecodeChunked(ByteReader* r) {
  Reset();
  base_ = r->SignedVarint();
  const uint64_t n = r->Varint();
  int64_t b = 0;
  for (uint64_t i = 0; i < n && r->ok(); ++i) {
    if (i == 0) {
      b = r->SignedVarint();
    } else {
      const uint64_t gap = r->Varint();
      if (gap == 0) return false;
      b += static_cast<int64_t>(gap);
    }
    const std::string_view bytes = r->Str();
    if (!r->ok() || !ReadBucket(b, bytes)) return false;
  }
  return r->ok();
}

bool DeltaCounter::DecodeBucket(int64_t b, std::string_view bytes) {
  if (buckets_.count(b) != 0) return false;
  if (!ReadBucket(b, bytes)) return false;
  // Loaded from its key: nothing to write back.
  auto it = buckets_.find(b);
  if (it != buckets_.end()) it->second.listed = false;
  dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), b), dirty_.end());
  return true;
}

void DeltaCounter::MarkAllDirty() {
  for (auto& [b, bucket] : buckets_) Touch(b, bucket);
}

}  // namespace epistream
