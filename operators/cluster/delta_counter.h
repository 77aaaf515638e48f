// DeltaCounter: a count as a function of event time, from stamped deltas.
//
// ValueAt(a) = the sum of every delta stamped <= a, whatever order the deltas
// arrived in. Deltas stamped before a horizon are folded into a base value
// (Compact) once no query can ask for an earlier time: the cluster stage
// never evaluates earlier than watermark - allowed lateness, so the map holds
// about that much recent history plus whatever is stamped ahead of the
// watermark (in Kafka mode, everything since the slowest input partition's
// time: until its idle timeout, the whole input so far).
//
// Deltas are grouped in aligned time buckets of kBucketWidth (a map by
// bucket), each holding its stamps in sorted runs ("leaves" of at most
// kLeafMax entries, like a B+ tree's), its sum, a dirty bit and its encoded
// bytes. Add is a binary search and a short memmove in one leaf: no node
// allocation per stamp (with one std::map of stamps per counter, Add alone
// was 6-8% of Kafka mode's CPU at 100k persons, plus malloc and pointer
// chasing in Encode; a sorted vector walked from the back was 85% at 1M).
//   - ValueAt(a) = base + the sums of the buckets before a's + a walk of a's
//     bucket up to a: O(buckets + one bucket), not O(stamps <= a).
//   - EncodeChunked re-encodes only the buckets changed since the last
//     encode and copies the others' cached bytes: a checkpoint that rewrites
//     a large counter (a busy venue's visitors, the city's active persons)
//     pays for what changed since the previous checkpoint, plus a copy.
//     Bucket bytes depend only on the bucket's stamps and deltas, so the
//     encoding is a function of the counter's content (state comparisons and
//     restarts see the same bytes whatever the history).
//   - GlobalAggregate goes further and stores each bucket under its own key
//     (ForEachDirtyBucket / BucketBytes / DecodeBucket), so a checkpoint
//     writes only the touched buckets.
//
// Two encodings: Encode/Decode, the flat original (base, every stamp; venue
// days and old states), and EncodeChunked/DecodeChunked (base, buckets).
// Compact folds exactly the stamps < horizon (a partial bucket stays, with
// the rest of its stamps), so ValueAt and operator== do not depend on the
// representation or on when Compact ran.
//
// Threading: owned by one stage thread (the byte caches are mutable: const
// encodes update them).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/event_time.h"

namespace epistream {

class DeltaCounter {
 public:
  // Bucket b holds the stamps in [b * kBucketWidth, (b + 1) * kBucketWidth).
  // 15 min: a steady-state counter holds the allowed lateness (1 h) plus the
  // skew between partitions, a few buckets; a checkpoint every wall second
  // in Kafka mode touches about one or two per counter.
  static constexpr DurationMs kBucketWidth = 15 * kMinuteMs;
  static int64_t BucketOf(TimestampMs ts) {
    return ts >= 0 ? ts / kBucketWidth : -((-(ts + 1)) / kBucketWidth) - 1;
  }

  void Add(TimestampMs ts, int64_t delta);
  int64_t ValueAt(TimestampMs a) const;
  // Folds deltas stamped < horizon into the base.
  void Compact(TimestampMs horizon);
  bool Empty() const { return base_ == 0 && buckets_.empty(); }
  size_t pending() const { return pending_; }
  size_t buckets() const { return buckets_.size(); }
  int64_t base() const { return base_; }

  // Flat form: base, then every stamp.
  void Encode(ByteWriter* w) const;
  // False on malformed input (the reader's ok() also turns false).
  bool Decode(ByteReader* r);

  // Chunked form: base, then per bucket its id and its bytes (cached; only
  // changed buckets are re-encoded).
  void EncodeChunked(ByteWriter* w) const;
  bool DecodeChunked(ByteReader* r);

  // Per-bucket storage (GlobalAggregate). fn(bucket, present) for each bucket
  // changed since the last call: present false when it has no stamps left
  // (folded or cancelled out), so its stored copy must go. Clears the marks.
  // Turns on the tracking ForEachDirtyBucket needs (off by default: a
  // counter stored in one record has no use for it).
  void TrackStoredBuckets() { track_stored_ = true; }
  template <typename Fn>
  void ForEachDirtyBucket(Fn fn) {
    std::sort(dirty_.begin(), dirty_.end());
    dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
    for (int64_t b : dirty_) {
      auto it = buckets_.find(b);
      if (it != buckets_.end()) it->second.listed = false;
      fn(b, it != buckets_.end());
    }
    dirty_.clear();
  }
  // The bytes of bucket b (as in EncodeChunked); b must exist.
  const std::string& BucketBytes(int64_t b) const;
  // The base alone (flat form with no stamps).
  void EncodeBase(ByteWriter* w) const;
  // Adds the stamps of stored bucket b (which must not be in the counter
  // yet); false if the bytes are malformed or stamps lie outside b.
  bool DecodeBucket(int64_t b, std::string_view bytes);

  // Same base and the same stamps with the same deltas.
  bool operator==(const DeltaCounter& o) const;

 private:
  struct Entry {
    TimestampMs ts;
    int64_t delta;  // never 0
    bool operator==(const Entry& o) const {
      return ts == o.ts && delta == o.delta;
    }
  };
  // A leaf splits in two above this size: inserts stay a short memmove
  // however many stamps a bucket holds (the city counters: tens of
  // thousands per bucket at 1M persons).
  static constexpr size_t kLeafMax = 128;
  using Leaf = std::vector<Entry>;  // sorted by ts, never empty
  struct Bucket {
    int64_t sum = 0;
    uint32_t count = 0;        // stamps in the leaves
    std::vector<Leaf> leaves;  // consecutive runs, ascending
    bool stale = true;         // bytes out of date
    bool listed = false;       // in dirty_
    std::string bytes;         // cached encoding when !stale
  };
  void Touch(int64_t b, Bucket& bucket);
  // Empty, keeping track_stored_.
  void Reset();
  static void EncodeBucketBytes(int64_t b, const Bucket& bucket, std::string* out);
  // Bucket b's cached bytes, encoded first if stale.
  static const std::string& BytesOf(int64_t b, Bucket& bucket);
  bool ReadBucket(int64_t b, std::string_view bytes);

  // Adds delta at ts to the bucket: *inserted if a new stamp, *erased if it
  // cancelled a stamp out.
  static void AddToBucket(Bucket& bucket, TimestampMs ts, int64_t delta,
                          bool* inserted, bool* erased);

  using BucketMap = std::map<int64_t, Bucket>;
  // The two buckets the last Adds went to, by id and position: a counter
  // takes its +1 and -1 stamps in two buckets at a time (now and now + a
  // window), and an Add to either skips the map's walk from the root
  // (perf, cluster thread, 1M persons: 96% of Add's time on one load of
  // that walk; ~8 dependent cache misses at 192 buckets). Forgotten on
  // every erase; a copy or a move starts without them.
  class Fingers {
   public:
    Fingers() = default;
    Fingers(const Fingers&) {}
    Fingers& operator=(const Fingers&) {
      Forget();
      return *this;
    }
    // The position of bucket b if remembered.
    bool Find(int64_t b, BucketMap::iterator* it) {
      for (int i = 0; i < 2; ++i) {
        if (valid_[i] && ids_[i] == b) {
          *it = its_[i];
          next_ = 1 - i;  // the other one is replaced first
          return true;
        }
      }
      return false;
    }
    void Remember(int64_t b, BucketMap::iterator it) {
      ids_[next_] = b;
      its_[next_] = it;
      valid_[next_] = true;
      next_ = 1 - next_;
    }
    void Forget() { valid_[0] = valid_[1] = false; }

   private:
    int64_t ids_[2] = {0, 0};
    BucketMap::iterator its_[2];
    bool valid_[2] = {false, false};
    int next_ = 0;
  };

  int64_t base_ = 0;
  size_t pending_ = 0;                         // stamps over all buckets
  mutable BucketMap buckets_;  // only buckets with count > 0
  Fingers fingers_;            // Add's shortcut into buckets_
  // With track_stored_: buckets changed since ForEachDirtyBucket (may
  // repeat; may name erased buckets, whose stored copies must go).
  bool track_stored_ = false;
  std::vector<int64_t> dirty_;
};

}  // namespace epistream
