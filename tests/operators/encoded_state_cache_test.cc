// EncodedStateCache: an entry is the last bytes Put for the person until it
// is erased, dropped with its partition or evicted for room; the byte bound
// holds; persons sharing a hash stay apart.
#include "operators/encoded_state_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "tests/testing/numbered.h"

namespace epistream {
namespace {

std::string Person(int i) { return testing::Num("P", i); }
uint32_t Hash(const std::string& s) { return static_cast<uint32_t>(std::hash<std::string>()(s)); }

std::string Found(const EncodedStateCache& c, const std::string& person, uint32_t hash) {
  std::string_view bytes;
  EncodedRef ref;
  return c.Find(person, hash, &bytes, &ref) ? std::string(bytes) : "<absent>";
}

// Put without a ref (a lookup by id).
void Put(EncodedStateCache* c, uint16_t partition, const std::string& person, uint32_t hash,
         const std::string& bytes) {
  EncodedRef ref;
  c->Put(partition, person, hash, bytes, &ref);
}

TEST(EncodedStateCacheTest, PutReplacesFindReadsEraseForgets) {
  EncodedStateCache c(1 << 20);
  Put(&c, 0, "A", 1, "aaaa");
  Put(&c, 0, "B", 1, "bb");  // the same hash as A: kept apart by the id
  EXPECT_EQ(Found(c, "A", 1), "aaaa");
  EXPECT_EQ(Found(c, "B", 1), "bb");
  EXPECT_EQ(Found(c, "C", 1), "<absent>");
  EXPECT_TRUE(c.MaybeContains(1));
  Put(&c, 0, "A", 1, "a2");                  // in place (same allocation)
  EXPECT_EQ(Found(c, "A", 1), "a2");
  Put(&c, 0, "A", 1, std::string(300, 'x'));  // grows: a new allocation
  EXPECT_EQ(Found(c, "A", 1), std::string(300, 'x'));
  EXPECT_EQ(c.size(), 2u);
  c.Erase("A", 1);
  EXPECT_EQ(Found(c, "A", 1), "<absent>");
  EXPECT_EQ(Found(c, "B", 1), "bb");
  c.Erase("A", 1);  // absent: no effect
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.evicted(), 0u);
}

TEST(EncodedStateCacheTest, ARefIsCurrentUntilItsEntryChanges) {
  EncodedStateCache c(1 << 20);
  EncodedRef a;
  c.Put(0, "A", 1, "aaaa", &a);
  EXPECT_TRUE(c.Current(a));
  std::string_view bytes;
  EncodedRef found;
  ASSERT_TRUE(c.Find("A", 1, &bytes, &found));
  EXPECT_EQ(found.id, a.id);
  EXPECT_EQ(found.stamp, a.stamp);
  EncodedRef a2 = a;
  c.Put(0, "A", 1, "a2", &a2);  // through the ref: in place, a new version
  EXPECT_FALSE(c.Current(a));
  EXPECT_TRUE(c.Current(a2));
  EXPECT_EQ(Found(c, "A", 1), "a2");
  EncodedRef stale = a;  // a stale ref falls back to the lookup
  c.Put(0, "A", 1, std::string(100, 'z'), &stale);
  EXPECT_EQ(Found(c, "A", 1), std::string(100, 'z'));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_FALSE(c.Current(a2));
  EXPECT_TRUE(c.Current(stale));
  c.Erase("A", 1);
  EXPECT_FALSE(c.Current(stale));
  EncodedRef b;
  c.Put(0, "B", 2, "bb", &b);  // may reuse A's slot: a new stamp all the same
  EXPECT_FALSE(c.Current(stale));
  c.DropPartition(0);
  EXPECT_FALSE(c.Current(b));
  EXPECT_FALSE(c.Current(EncodedRef()));
}

TEST(EncodedStateCacheTest, AnEntryThatGrowsKeepsItsRecordAndEvictsOthersForRoom) {
  EncodedStateCache roomy(1 << 20);
  EncodedRef a;
  roomy.Put(0, "A", 1, std::string(16, 'a'), &a);
  const size_t before = roomy.bytes();
  EncodedRef grown = a;
  roomy.Put(0, "A", 1, std::string(300, 'b'), &grown);  // another size class
  EXPECT_EQ(grown.id, a.id);  // the same record, not re-indexed
  EXPECT_EQ(roomy.bytes() - before, 304u - 32u);  // allocations rounded to 16
  EXPECT_EQ(Found(roomy, "A", 1), std::string(300, 'b'));
  roomy.Put(0, "A", 1, "small", &grown);  // and shrinks back
  EXPECT_EQ(roomy.bytes(), before - 16);
  EXPECT_EQ(Found(roomy, "A", 1), "small");

  // A budget for about four small entries: the growing one stays, the
  // others make room; too big for the budget at all, it goes.
  const size_t small = before;
  EncodedStateCache tight(4 * small + 100);
  EncodedRef ref;
  for (int i = 0; i < 4; ++i) Put(&tight, 0, Person(i), Hash(Person(i)), std::string(16, 'x'));
  ref = EncodedRef();
  tight.Put(0, Person(0), Hash(Person(0)), std::string(150, 'y'), &ref);
  EXPECT_EQ(Found(tight, Person(0), Hash(Person(0))), std::string(150, 'y'));
  EXPECT_LE(tight.bytes(), 4 * small + 100);
  EXPECT_GT(tight.evicted(), 0u);
  tight.Put(0, Person(0), Hash(Person(0)), std::string(4 * small + 100, 'z'), &ref);
  EXPECT_EQ(Found(tight, Person(0), Hash(Person(0))), "<absent>");
  EXPECT_FALSE(tight.Current(ref));
  EXPECT_LE(tight.bytes(), 4 * small + 100);
}

TEST(EncodedStateCacheTest, DropPartitionForgetsOnlyThatPartition) {
  EncodedStateCache c(1 << 20);
  for (int i = 0; i < 100; ++i) Put(&c, static_cast<uint16_t>(i % 4), Person(i), Hash(Person(i)), Person(i));
  c.DropPartition(2);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(Found(c, Person(i), Hash(Person(i))), i % 4 == 2 ? "<absent>" : Person(i));
  }
  EXPECT_EQ(c.size(), 75u);
}

TEST(EncodedStateCacheTest, StaysWithinItsBytesAndKeepsWhatItKeepsExact) {
  const size_t budget = 64 << 10;
  EncodedStateCache c(budget);
  std::map<std::string, std::string> model;  // the last value Put
  std::mt19937 rng(5);
  for (int step = 0; step < 50000; ++step) {
    const std::string p = Person(static_cast<int>(rng() % 3000));
    if (rng() % 10 == 0) {
      c.Erase(p, Hash(p));
      model.erase(p);
    } else {
      std::string v(50 + rng() % 400, static_cast<char>('a' + step % 26));
      Put(&c, 0, p, Hash(p), v);
      ASSERT_EQ(Found(c, p, Hash(p)), v);  // the newest Put is always kept
      model[p] = v;
    }
    ASSERT_LE(c.bytes(), budget);
  }
  EXPECT_GT(c.evicted(), 0u);
  size_t kept = 0;
  for (const auto& [p, v] : model) {
    const std::string got = Found(c, p, Hash(p));
    if (got == "<absent>") continue;
    ++kept;
    ASSERT_EQ(got, v) << p;  // never an older value
  }
  EXPECT_EQ(kept, c.size());
  EXPECT_GT(kept, 50u);  // the budget holds more than a handful
}

TEST(EncodedStateCacheTest, ZeroBudgetKeepsNothing) {
  EncodedStateCache c(0);
  Put(&c, 0, "A", 1, "aaaa");
  EXPECT_EQ(Found(c, "A", 1), "<absent>");
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.bytes(), 0u);
}

}  // namespace
}  // namespace epistream
