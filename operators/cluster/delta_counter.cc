#include "operators/cluster/delta_counter.h"

namespace epistream {
namespace {

// The first leaf whose last stamp is >= ts (where ts belongs), or the last
// leaf when ts is past every stamp.
template <typename Leaves>
auto LeafFor(Leaves& leaves, TimestampMs ts) {
  auto it = std::lower_bound(
      leaves.begin(), leaves.end(), ts,
      [](const auto& leaf, TimestampMs t) { return leaf.back().ts < t; });
  return it == leaves.end() ? std::prev(it) : it;
}

}  // namespace

void DeltaCounter::Touch(int64_t b, Bucket& bucket) {
  bucket.stale = true;
  if (track_stored_ && !bucket.listed) {
    bucket.listed = true;
    dirty_.push_back(b);
  }
}

void DeltaCounter::AddToBucket(Bucket& bucket, TimestampMs ts, int64_t delta,
                               bool* inserted, bool* erased) {
  *inserted = *erased = false;
  bucket.sum += delta;
  if (bucket.leaves.empty()) {
    bucket.leaves.emplace_back().push_back(Entry{ts, delta});
    *inserted = true;
    return;
  }
  auto leaf = LeafFor(bucket.leaves, ts);
  auto pos =
      std::lower_bound(leaf->begin(), leaf->end(), ts,
                       [](const Entry& e, TimestampMs t) { return e.ts < t; });
  if (pos != leaf->end() && pos->ts == ts) {
    pos->delta += delta;
    if (pos->delta != 0) return;
    leaf->erase(pos);
    *erased = true;
    if (leaf->empty()) bucket.leaves.erase(leaf);
    return;
  }
  leaf->insert(pos, Entry{ts, delta});
  *inserted = true;
  if (leaf->size() > kLeafMax) {
    // Split in two: the upper half becomes the next leaf.
    Leaf upper(leaf->begin() + static_cast<ptrdiff_t>(leaf->size() / 2),
               leaf->end());
    leaf->resize(leaf->size() / 2);
    bucket.leaves.insert(std::next(leaf), std::move(upper));
  }
}

void DeltaCounter::Add(TimestampMs ts, int64_t delta) {
  if (delta == 0) return;
  const int64_t b = BucketOf(ts);
  BucketMap::iterator bit;
  if (!fingers_.Find(b, &bit)) {
    bit = buckets_.try_emplace(b).first;
    fingers_.Remember(b, bit);
  }
  Bucket& bucket = bit->second;
  bool inserted = false, erased = false;
  AddToBucket(bucket, ts, delta, &inserted, &erased);
  if (inserted) {
    ++bucket.count;
    ++pending_;
  } else if (erased) {
    --bucket.count;
    --pending_;
  }
  if (bucket.count == 0) {
    // Cancelled out (its sum is 0 then): gone, like its stored copy.
    fingers_.Forget();
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
  for (; bit != buckets_.end() && bit->first < last; ++bit)
    v += bit->second.sum;
  if (bit == buckets_.end() || bit->first != last) return v;
  for (const Leaf& leaf : bit->second.leaves) {
    for (const Entry& e : leaf) {
      if (e.ts > a) return v;
      v += e.delta;
    }
  }
  return v;
}

void DeltaCounter::Compact(TimestampMs horizon) {
  fingers_.Forget();  // buckets may be erased below
  const int64_t partial = BucketOf(horizon);
  auto bit = buckets_.begin();
  // Whole buckets before the horizon's: their sums.
  for (; bit != buckets_.end() && bit->first < partial;
       bit = buckets_.erase(bit)) {
    base_ += bit->second.sum;
    pending_ -= bit->second.count;
    if (track_stored_) dirty_.push_back(bit->first);
  }
  if (bit == buckets_.end() || bit->first != partial) return;
  // The horizon's bucket: its stamps < horizon.
  Bucket& bucket = bit->second;
  uint32_t folded = 0;
  auto leaf = bucket.leaves.begin();
  for (; leaf != bucket.leaves.end(); ++leaf) {
    auto e = leaf->begin();
    for (; e != leaf->end() && e->ts < horizon; ++e) {
      base_ += e->delta;
      bucket.sum -= e->delta;
      ++folded;
    }
    if (e != leaf->end()) {
      leaf->erase(leaf->begin(), e);
      break;
    }
  }
  bucket.leaves.erase(bucket.leaves.begin(), leaf);
  if (folded == 0) return;
  bucket.count -= folded;
  pending_ -= folded;
  if (bucket.count == 0) {
    buckets_.erase(bit);
    if (track_stored_) dirty_.push_back(partial);
    return;
  }
  Touch(partial, bucket);
}

bool DeltaCounter::operator==(const DeltaCounter& o) const {
  if (base_ != o.base_ || pending_ != o.pending_ ||
      buckets_.size() != o.buckets_.size())
    return false;
  for (auto a = buckets_.begin(), b = o.buckets_.begin(); a != buckets_.end();
       ++a, ++b) {
    if (a->first != b->first || a->second.count != b->second.count)
      return false;
    // Leaves may split differently: compare the runs entry by entry.
    auto la = a->second.leaves.begin(), lb = b->second.leaves.begin();
    size_t ia = 0, ib = 0;
    for (uint32_t n = 0; n < a->second.count; ++n) {
      if (!((*la)[ia] == (*lb)[ib])) return false;
      if (++ia == la->size()) ++la, ia = 0;
      if (++ib == lb->size()) ++lb, ib = 0;
    }
  }
  return true;
}

void DeltaCounter::Encode(ByteWriter* w) const {
  w->SignedVarint(base_);
  w->Varint(pending_);
  // Stamps ascend: the first absolute, then gaps (small varints).
  TimestampMs prev = 0;
  bool first = true;
  for (const auto& [b, bucket] : buckets_) {
    for (const Leaf& leaf : bucket.leaves) {
      for (const Entry& e : leaf) {
        if (first) {
          w->SignedVarint(e.ts);
          first = false;
        } else {
          w->Varint(static_cast<uint64_t>(e.ts - prev));
        }
        w->SignedVarint(e.delta);
        prev = e.ts;
      }
    }
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
void DeltaCounter::EncodeBucketBytes(int64_t b, const Bucket& bucket, std::string* out) {
  out->clear();
  ByteWriter w(out);
  w.Varint(bucket.count);
  TimestampMs prev = b * kBucketWidth;
  for (const Leaf& leaf : bucket.leaves) {
    for (const Entry& e : leaf) {
      w.Varint(static_cast<uint64_t>(e.ts - prev));
      w.SignedVarint(e.delta);
      prev = e.ts;
    }
  }
}

const std::string& DeltaCounter::BytesOf(int64_t b, Bucket& bucket) {
  if (bucket.stale) {
    EncodeBucketBytes(b, bucket, &bucket.bytes);
    bucket.stale = false;
  }
  return bucket.bytes;
}

const std::string& DeltaCounter::BucketBytes(int64_t b) const { return BytesOf(b, buckets_.at(b)); }

void DeltaCounter::EncodeChunked(ByteWriter* w) const {
  w->SignedVarint(base_);
  w->Varint(buckets_.size());
  int64_t prev = 0;
  bool first = true;
  // The bucket from the walk itself: a lookup by id per bucket walked the
  // map from its root again (~190 buckets per venue counter in Kafka mode).
  for (auto& [b, bucket] : buckets_) {
    if (first) {
      w->SignedVarint(b);
      first = false;
    } else {
      w->Varint(static_cast<uint64_t>(b - prev));
    }
    prev = b;
    w->Str(BytesOf(b, bucket));
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

}  // namespace epistream
