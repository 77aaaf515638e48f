// RadixSortBy: the same order as std::stable_sort by the same key, for keys
// that differ in any byte, share some bytes (skipped passes) or all of them.
#include "engine/radix_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace epistream {
namespace {

struct Item {
  uint64_t key = 0;
  uint32_t seq = 0;  // input position: shows stability
  bool operator==(const Item& o) const { return key == o.key && seq == o.seq; }
};

std::vector<Item> Expected(std::vector<Item> v) {
  std::stable_sort(v.begin(), v.end(), [](const Item& a, const Item& b) { return a.key < b.key; });
  return v;
}

void CheckSorts(const std::vector<Item>& input) {
  std::vector<Item> v = input;
  std::vector<Item> scratch;
  RadixSortBy(&v, &scratch, [](const Item& i) { return i.key; });
  EXPECT_EQ(v, Expected(input));
}

TEST(RadixSortTest, MatchesAStableSortOnRandomKeys) {
  std::mt19937_64 rng(7);
  for (size_t n : {0, 1, 2, 3, 255, 256, 257, 5000}) {
    std::vector<Item> v;
    for (uint32_t i = 0; i < n; ++i) v.push_back({rng(), i});
    CheckSorts(v);
  }
}

TEST(RadixSortTest, KeepsTheInputOrderOfEqualKeys) {
  // Few distinct keys, each differing from the others in one middle byte
  // and in the top byte: six shared bytes are skipped, two are sorted.
  std::mt19937_64 rng(11);
  std::vector<Item> v;
  for (uint32_t i = 0; i < 3000; ++i) {
    const uint64_t a = rng() % 5, b = rng() % 3;
    v.push_back({(a << 24) | (b << 56) | 0x0000'00AA'0000'4242ULL, i});
  }
  CheckSorts(v);
}

TEST(RadixSortTest, AllKeysEqualLeavesTheInputAsItIs) {
  std::vector<Item> v;
  for (uint32_t i = 0; i < 100; ++i) v.push_back({0x5000'0000'0000'0001ULL, i});
  CheckSorts(v);
}

TEST(RadixSortTest, TwoPassesSortByTwoKeysMajorLast) {
  // Sorting by the minor key, then the major: lexicographic order, as
  // PersonCache::Flush sorts (partition, id prefix).
  std::mt19937_64 rng(3);
  struct Pair {
    uint16_t major = 0;
    uint64_t minor = 0;
  };
  std::vector<Pair> v;
  for (int i = 0; i < 4000; ++i) v.push_back({static_cast<uint16_t>(rng() % 300), rng() % 1000});
  std::vector<Pair> expected = v;
  std::sort(expected.begin(), expected.end(), [](const Pair& a, const Pair& b) {
    return a.major != b.major ? a.major < b.major : a.minor < b.minor;
  });
  std::vector<Pair> scratch;
  RadixSortBy(&v, &scratch, [](const Pair& p) { return p.minor; });
  RadixSortBy<2>(&v, &scratch, [](const Pair& p) { return uint64_t{p.major}; });
  ASSERT_EQ(v.size(), expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v[i].major, expected[i].major) << i;
    EXPECT_EQ(v[i].minor, expected[i].minor) << i;
  }
}

TEST(RadixSortTest, SortTiesOrdersOnlyWithinRunsOfEqualKeys) {
  // Sorted by the key (the tens digit); each run then by the whole value.
  std::vector<int> v = {13, 11, 12, 25, 21, 30, 42, 41};
  SortTies(
      &v, [](int a, int b) { return a / 10 == b / 10; }, [](int a, int b) { return a < b; });
  EXPECT_EQ(v, (std::vector<int>{11, 12, 13, 21, 25, 30, 41, 42}));
  // Runs are of neighbours only: equal keys apart stay apart.
  std::vector<int> apart = {12, 21, 11};
  SortTies(
      &apart, [](int a, int b) { return a / 10 == b / 10; }, [](int a, int b) { return a < b; });
  EXPECT_EQ(apart, (std::vector<int>{12, 21, 11}));
}

}  // namespace
}  // namespace epistream
