// DeltaCounter's time buckets (issue #5): values at bucket boundaries, late
// deltas into folded buckets, compaction across and inside buckets, the
// chunked encoding (cached bytes equal a fresh encode), CaseWindow's old
// version 1, and GlobalAggregate's per-bucket keys across a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/mem_kv_store.h"
#include "operators/cluster/case_window.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/cluster/delta_counter.h"
#include "operators/cluster/global_aggregate.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr DurationMs kW = DeltaCounter::kBucketWidth;
// An aligned bucket start well inside positive time.
constexpr TimestampMs kT0 = 1000 * kW;

std::string Chunked(const DeltaCounter& c) {
  std::string bytes;
  ByteWriter w(&bytes);
  c.EncodeChunked(&w);
  return bytes;
}

// The reference: every delta kept, summed by brute force.
struct Brute {
  std::vector<std::pair<TimestampMs, int64_t>> deltas;
  int64_t ValueAt(TimestampMs a) const {
    int64_t v = 0;
    for (const auto& [ts, d] : deltas) v += ts <= a ? d : 0;
    return v;
  }
};

class DeltaCounterBucketTest : public ::testing::Test {};

TEST_F(DeltaCounterBucketTest, BucketOfFloorsNegativeStamps) {
  EXPECT_EQ(DeltaCounter::BucketOf(0), 0);
  EXPECT_EQ(DeltaCounter::BucketOf(kW - 1), 0);
  EXPECT_EQ(DeltaCounter::BucketOf(kW), 1);
  EXPECT_EQ(DeltaCounter::BucketOf(-1), -1);
  EXPECT_EQ(DeltaCounter::BucketOf(-kW), -1);
  EXPECT_EQ(DeltaCounter::BucketOf(-kW - 1), -2);
}

TEST_F(DeltaCounterBucketTest, ValuesAtBucketBoundaries) {
  DeltaCounter c;
  c.Add(kT0 - 1, 1);         // last ms of the previous bucket
  c.Add(kT0, 10);            // first ms of a bucket
  c.Add(kT0 + kW - 1, 100);  // its last ms
  c.Add(kT0 + kW, 1000);     // the next bucket's first
  EXPECT_EQ(c.buckets(), 3u);
  EXPECT_EQ(c.ValueAt(kT0 - 2), 0);
  EXPECT_EQ(c.ValueAt(kT0 - 1), 1);
  EXPECT_EQ(c.ValueAt(kT0), 11);
  EXPECT_EQ(c.ValueAt(kT0 + kW - 2), 11);
  EXPECT_EQ(c.ValueAt(kT0 + kW - 1), 111);
  EXPECT_EQ(c.ValueAt(kT0 + kW), 1111);
  EXPECT_EQ(c.ValueAt(kT0 + 5 * kW), 1111);  // past every bucket
}

TEST_F(DeltaCounterBucketTest, CancelledStampsDropTheirBucket) {
  DeltaCounter c;
  c.Add(kT0 + 5, 1);
  c.Add(kT0 + kW + 5, 1);
  c.Add(kT0 + 5, -1);
  EXPECT_EQ(c.buckets(), 1u);
  EXPECT_EQ(c.pending(), 1u);
  EXPECT_EQ(c.ValueAt(kT0 + kW), 0);
  EXPECT_EQ(c.ValueAt(kT0 + kW + 5), 1);
}

TEST_F(DeltaCounterBucketTest, CompactFoldsExactlyTheStampsBeforeTheHorizon) {
  DeltaCounter c;
  c.Add(kT0 + 1, 1);
  c.Add(kT0 + kW + 1, 2);
  c.Add(kT0 + kW + 100, 4);
  c.Add(kT0 + 3 * kW, 8);
  // Inside the second bucket: the first bucket and one stamp of the second.
  c.Compact(kT0 + kW + 50);
  EXPECT_EQ(c.base(), 3);
  EXPECT_EQ(c.pending(), 2u);
  EXPECT_EQ(c.buckets(), 2u);
  EXPECT_EQ(c.ValueAt(kT0 + kW + 50), 3);
  EXPECT_EQ(c.ValueAt(kT0 + kW + 100), 7);
  EXPECT_EQ(c.ValueAt(kT0 + 3 * kW), 15);
  // Folding once or in steps gives the same counter (and the same bytes).
  DeltaCounter once;
  once.Add(kT0 + 3 * kW, 8);
  once.Add(kT0 + kW + 100, 4);
  once.Add(kT0 + kW + 1, 2);
  once.Add(kT0 + 1, 1);
  c.Compact(kT0 + 2 * kW);
  once.Compact(kT0 + 2 * kW);
  EXPECT_TRUE(c == once);
  EXPECT_EQ(Chunked(c), Chunked(once));
  EXPECT_EQ(c.buckets(), 1u);
}

TEST_F(DeltaCounterBucketTest, LateDeltaIntoAFoldedBucketStillCounts) {
  DeltaCounter c;
  c.Add(kT0 + 10, 1);
  c.Add(kT0 + 2 * kW + 10, 1);
  c.Compact(kT0 + 2 * kW);
  EXPECT_EQ(c.buckets(), 1u);
  // Late, stamped in the folded bucket: reads after it include it...
  c.Add(kT0 + 20, 5);
  EXPECT_EQ(c.buckets(), 2u);
  EXPECT_EQ(c.ValueAt(kT0 + 2 * kW), 6);
  EXPECT_EQ(c.ValueAt(kT0 + 2 * kW + 10), 7);
  // ...and the next compaction folds it like any other.
  c.Compact(kT0 + 2 * kW);
  EXPECT_EQ(c.base(), 6);
  EXPECT_EQ(c.buckets(), 1u);
  EXPECT_EQ(c.ValueAt(kT0 + 3 * kW), 7);
}

TEST_F(DeltaCounterBucketTest,
       MatchesBruteForceUnderRandomDisorderAndCompaction) {
  std::mt19937_64 rng(7);
  DeltaCounter c;
  Brute brute;
  TimestampMs horizon = -3 * kW;
  for (int step = 0; step < 4000; ++step) {
    // Stamps around the horizon, some behind it (late), some in negative
    // time, many on bucket edges.
    TimestampMs ts = horizon + static_cast<TimestampMs>(rng() % (6 * kW)) - kW;
    if (rng() % 4 == 0)
      ts = DeltaCounter::BucketOf(ts) * kW + (rng() % 2 == 0 ? 0 : kW - 1);
    const int64_t d = static_cast<int64_t>(rng() % 5) - 2;
    c.Add(ts, d);
    if (d != 0) brute.deltas.emplace_back(ts, d);
    if (step % 97 == 0) {
      horizon += static_cast<TimestampMs>(rng() % kW);
      c.Compact(horizon);
    }
    if (step % 13 == 0) {
      for (int q = 0; q < 5; ++q) {
        const TimestampMs a =
            horizon + static_cast<TimestampMs>(rng() % (5 * kW));
        ASSERT_EQ(c.ValueAt(a), brute.ValueAt(a))
            << "step " << step << " at " << a;
      }
    }
    if (step % 301 == 0) {
      // Through a copy that then dies: Add's remembered bucket positions
      // must not follow (they would point into the dead copy's map).
      DeltaCounter copy = c;
      c = DeltaCounter();
      c = copy;
    }
    if (step % 211 == 0) {
      // Cached bytes equal a fresh encode of the same content.
      const std::string bytes = Chunked(c);
      DeltaCounter back;
      ByteReader r(bytes);
      ASSERT_TRUE(back.DecodeChunked(&r));
      ASSERT_TRUE(r.done());
      ASSERT_TRUE(back == c);
      ASSERT_EQ(Chunked(back), bytes);
      DeltaCounter flat;
      std::string flat_bytes;
      ByteWriter w(&flat_bytes);
      c.Encode(&w);
      ByteReader fr(flat_bytes);
      ASSERT_TRUE(flat.Decode(&fr));
      ASSERT_EQ(Chunked(flat), bytes);
    }
  }
}

TEST_F(DeltaCounterBucketTest, ManyStampsInOneBucketInAnyOrder) {
  // 3000 stamps in one bucket (many leaves), added shuffled and in order:
  // leaves split differently, the counters and their bytes are equal.
  std::vector<TimestampMs> stamps;
  for (int i = 0; i < 3000; ++i) stamps.push_back(kT0 + i * 97 % kW);
  std::mt19937_64 rng(11);
  std::vector<TimestampMs> shuffled = stamps;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  DeltaCounter in_order, any_order;
  Brute brute;
  for (TimestampMs ts : stamps) in_order.Add(ts, 1);
  for (TimestampMs ts : shuffled) {
    any_order.Add(ts, 1);
    brute.deltas.emplace_back(ts, 1);
  }
  EXPECT_EQ(any_order.buckets(), 1u);
  EXPECT_TRUE(in_order == any_order);
  EXPECT_EQ(Chunked(in_order), Chunked(any_order));
  for (TimestampMs a = kT0 - 1; a <= kT0 + kW; a += 997)
    ASSERT_EQ(any_order.ValueAt(a), brute.ValueAt(a)) << a;
  // Cancel every other stamp (empties runs in the middle), then fold half.
  for (size_t i = 0; i < shuffled.size(); i += 2) {
    any_order.Add(shuffled[i], -1);
    brute.deltas.emplace_back(shuffled[i], -1);
  }
  EXPECT_EQ(any_order.pending(), 1500u);
  for (TimestampMs a = kT0 - 1; a <= kT0 + kW; a += 997)
    ASSERT_EQ(any_order.ValueAt(a), brute.ValueAt(a)) << a;
  any_order.Compact(kT0 + kW / 2);
  EXPECT_EQ(any_order.base(), brute.ValueAt(kT0 + kW / 2 - 1));
  for (TimestampMs a = kT0 + kW / 2; a <= kT0 + kW; a += 997)
    ASSERT_EQ(any_order.ValueAt(a), brute.ValueAt(a)) << a;
  DeltaCounter back;
  const std::string bytes = Chunked(any_order);
  ByteReader r(bytes);
  ASSERT_TRUE(back.DecodeChunked(&r));
  EXPECT_TRUE(back == any_order);
  EXPECT_FALSE(back == in_order);
}

TEST_F(DeltaCounterBucketTest, ChunkedDecodeRejectsStampsOutsideTheirBucket) {
  DeltaCounter c;
  c.Add(kT0 + 1, 1);
  std::string bytes;
  ByteWriter w(&bytes);
  w.SignedVarint(0);  // base
  w.Varint(1);        // one bucket
  w.SignedVarint(DeltaCounter::BucketOf(kT0));
  std::string bucket;
  ByteWriter bw(&bucket);
  bw.Varint(1);
  bw.Varint(static_cast<uint64_t>(kW));  // offset = the next bucket's start
  bw.SignedVarint(1);
  w.Str(bucket);
  DeltaCounter back;
  ByteReader r(bytes);
  EXPECT_FALSE(back.DecodeChunked(&r));
}

TEST_F(DeltaCounterBucketTest, CaseWindowVersionOneStillDecodes) {
  // Version 1: links, the flat population, registered, no episode.
  std::string v1;
  ByteWriter w(&v1);
  w.U8(1);
  w.Varint(0);
  DeltaCounter pop;
  pop.Add(kT0 + 1, 1);
  pop.Add(kT0 + kW + 1, 1);
  pop.Compact(kT0 + 2);
  pop.Encode(&w);
  w.SignedVarint(3);
  w.U8(0);
  CaseWindow win;
  ASSERT_OK(win.Decode(v1));
  EXPECT_TRUE(win.population == pop);
  EXPECT_EQ(win.registered, 3);
  EXPECT_EQ(win.population.ValueAt(kT0 + kW + 1), 2);
  // Written back as version 2, which decodes to the same window.
  std::string v2;
  win.Encode(&v2);
  EXPECT_EQ(static_cast<uint8_t>(v2[0]), 2);
  CaseWindow back;
  ASSERT_OK(back.Decode(v2));
  EXPECT_TRUE(back.population == pop);
  EXPECT_EQ(back.registered, 3);
  std::string again;
  back.Encode(&again);
  EXPECT_EQ(again, v2);
  v2[0] = 3;
  EXPECT_FALSE(back.Decode(v2).ok());
}

class GlobalAggregateBucketTest : public ::testing::Test {
 protected:
  // Keys staged since the last commit, with their values (null: deleted).
  std::map<std::string, std::optional<std::string>> Staged() const {
    std::map<std::string, std::optional<std::string>> out;
    EXPECT_OK(store_.ForEachStaged(
        [&](std::string_view k, const std::string_view* v) {
          out[std::string(k)] =
              v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
        }));
    return out;
  }
  size_t StoredKeysUnder(const std::string& prefix) {
    size_t n = 0;
    EXPECT_OK(store_.Scan(prefix, PrefixEnd(prefix),
                          [&](std::string_view, std::string_view) {
                            ++n;
                            return true;
                          }));
    return n;
  }

  MemKvStore store_;
  const std::string prefix_ = "GC";
};

TEST_F(GlobalAggregateBucketTest, FlushWritesOnlyTouchedBuckets) {
  GlobalAggregate agg(&store_, prefix_);
  ASSERT_OK(agg.Load());
  const CityCounter c = CityCounter::kActiveCase;
  for (int i = 0; i < 10; ++i) agg.Add(c, kT0 + i * kW + 7, 1);
  agg.Flush();
  EXPECT_EQ(Staged().size(), 11u);  // ten buckets and the base
  ASSERT_OK(store_.Commit());
  // One new stamp: its bucket key and the base (a few bytes) rewritten,
  // nothing else.
  agg.Add(c, kT0 + 9 * kW + 8, 1);
  agg.Flush();
  auto staged = Staged();
  ASSERT_EQ(staged.size(), 2u);
  EXPECT_TRUE(
      staged.count(agg.BucketKey(c, DeltaCounter::BucketOf(kT0 + 9 * kW))));
  EXPECT_TRUE(staged.count(agg.StoreKey(c)));
  ASSERT_OK(store_.Commit());
  // Folding three whole buckets: three deletes and the base.
  agg.Compact(kT0 + 3 * kW);
  agg.Flush();
  staged = Staged();
  EXPECT_EQ(staged.size(), 4u);
  EXPECT_TRUE(staged.count(agg.StoreKey(c)));
  for (int i = 0; i < 3; ++i) {
    auto it =
        staged.find(agg.BucketKey(c, DeltaCounter::BucketOf(kT0 + i * kW)));
    ASSERT_NE(it, staged.end());
    EXPECT_FALSE(it->second.has_value());
  }
  ASSERT_OK(store_.Commit());
  EXPECT_EQ(StoredKeysUnder(agg.BucketPrefix(c)), 7u);
  // Nothing changed: nothing written.
  agg.Flush();
  EXPECT_TRUE(Staged().empty());
}

TEST_F(GlobalAggregateBucketTest, RestartFromStoredBucketsGivesTheSameValues) {
  std::mt19937_64 rng(3);
  GlobalAggregate agg(&store_, prefix_);
  ASSERT_OK(agg.Load());
  TimestampMs horizon = kT0;
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < 50; ++i) {
      const auto c = static_cast<CityCounter>(rng() % kNumCityCounters);
      // Some late: behind the horizon, into folded buckets.
      agg.Add(c, horizon - kW + static_cast<TimestampMs>(rng() % (4 * kW)),
              rng() % 3 == 0 ? -1 : 1);
    }
    horizon += static_cast<TimestampMs>(rng() % kW);
    agg.Compact(horizon);
    agg.Flush();
    ASSERT_OK(store_.Commit());
    GlobalAggregate back(&store_, prefix_);
    ASSERT_OK(back.Load());
    for (int i = 0; i < kNumCityCounters; ++i) {
      const auto c = static_cast<CityCounter>(i);
      for (TimestampMs a = horizon; a < horizon + 4 * kW; a += kW / 7) {
        ASSERT_EQ(back.ValueAt(c, a), agg.ValueAt(c, a)) << "round " << round;
      }
      ASSERT_EQ(back.pending(c), agg.pending(c));
    }
    // The reloaded copy stages nothing until it changes.
    back.Flush();
    ASSERT_TRUE(Staged().empty());
  }
}

TEST_F(GlobalAggregateBucketTest, OldFlatCounterLoadsAndMovesToBuckets) {
  const CityCounter c = CityCounter::kFeverCase;
  DeltaCounter old;
  old.Add(kT0 + 1, 1);
  old.Add(kT0 + kW + 1, 1);
  old.Compact(kT0);  // nothing folded; base 0
  old.Add(kT0 - 5 * kW, 4);
  old.Compact(kT0);  // base 4
  std::string bytes;
  ByteWriter w(&bytes);
  old.Encode(&w);
  {
    GlobalAggregate names(&store_, prefix_);
    store_.Put(names.StoreKey(c), bytes);
  }
  ASSERT_OK(store_.Commit());
  GlobalAggregate agg(&store_, prefix_);
  ASSERT_OK(agg.Load());
  EXPECT_EQ(agg.ValueAt(c, kT0 + 1), 5);
  EXPECT_EQ(agg.ValueAt(c, kT0 + kW + 1), 6);
  agg.Flush();
  ASSERT_OK(store_.Commit());
  EXPECT_EQ(StoredKeysUnder(agg.BucketPrefix(c)), 2u);
  GlobalAggregate back(&store_, prefix_);
  ASSERT_OK(back.Load());
  EXPECT_EQ(back.ValueAt(c, kT0 + 1), 5);
  EXPECT_EQ(back.ValueAt(c, kT0 + kW + 1), 6);
  EXPECT_EQ(back.pending(c), 2u);
}

TEST_F(GlobalAggregateBucketTest, UndecodableBucketIsCorruption) {
  GlobalAggregate agg(&store_, prefix_);
  store_.Put(agg.BucketKey(CityCounter::kActiveCase, 5), "\x01");
  ASSERT_OK(store_.Commit());
  EXPECT_FALSE(agg.Load().ok());
}

TEST(ClusterStageBucketTest, CityCountsSurviveARestartAcrossBuckets) {
  MemKvStore store;
  ClusterStageOptions opts;
  std::vector<Alert> alerts;
  const TimestampMs t0 = 19000 * kDayMs;
  {
    ClusterStage stage(opts, &store);
    ASSERT_OK(stage.Open());
    for (int i = 0; i < 200; ++i) {
      ClusterRecord r;
      r.kind = ClusterRecordKind::kCityCount;
      r.key = std::string(CityCounterName(CityCounter::kActiveCase));
      r.ts = t0 + i * (kW / 9);  // ~22 buckets, some stamps on edges
      r.delta = i % 5 == 4 ? -1 : 1;
      ASSERT_OK(stage.OnRecord(r));
    }
    ASSERT_OK(stage.OnWatermark(t0 + 10 * kW, &alerts));
    ASSERT_OK(stage.Flush());
    ASSERT_OK(store.Commit());
  }
  ClusterStage back(opts, &store);
  ASSERT_OK(back.Open());
  int64_t expected = 0;
  for (int i = 0; i < 200; ++i) {
    expected += i % 5 == 4 ? -1 : 1;
    const TimestampMs a = t0 + i * (kW / 9);
    if (a < t0 + 10 * kW - opts.allowed_lateness) continue;  // folded
    ASSERT_EQ(back.CityCountAt(CityCounter::kActiveCase, a), expected) << i;
  }
}

}  // namespace
}  // namespace epistream
