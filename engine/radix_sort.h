// RadixSortBy: a stable sort of a vector by a 64-bit unsigned key, least
// significant byte first, one pass per byte that the elements do not all
// share.
//
// Why: a checkpoint sorts the keys of every state it writes (tens of
// thousands per second in Kafka mode) so that RocksDB's memtable inserts
// run in key order. std::sort spent ~8 ms per checkpoint on 60k keys there,
// most of it in mispredicted compares, and every event that arrives during
// a checkpoint waits for it. Counting passes have no data-dependent
// branches, and ids with a common leading letter or zero padding share
// whole bytes, whose passes are skipped.
//
// Stable: sort by the minor key first, then by the major one. Keys that
// are only a prefix of the true order (the first 8 bytes of an id) leave
// runs of equal keys for SortTies to finish.
// Threading: none.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace epistream {

// `scratch` is working space (its content is lost; reusing it across calls
// saves its allocation). T must be default-constructible and movable. Keys
// must fit in kKeyBytes bytes (fewer bytes: fewer histogram updates).
template <size_t kKeyBytes = 8, typename T, typename KeyFn>
void RadixSortBy(std::vector<T>* v, std::vector<T>* scratch, KeyFn&& key) {
  static_assert(kKeyBytes >= 1 && kKeyBytes <= 8);
  const size_t n = v->size();
  if (n < 2) return;
  // One histogram per byte, all from one read of the keys.
  std::array<std::array<size_t, 256>, kKeyBytes> counts{};
  for (const T& t : *v) {
    const uint64_t k = key(t);
    for (size_t b = 0; b < kKeyBytes; ++b) ++counts[b][(k >> (8 * b)) & 0xff];
  }
  scratch->resize(n);
  const uint64_t first = key((*v)[0]);
  for (size_t b = 0; b < kKeyBytes; ++b) {
    std::array<size_t, 256>& at = counts[b];
    if (at[(first >> (8 * b)) & 0xff] == n) continue;  // a byte all share
    size_t sum = 0;
    for (size_t& c : at) sum += std::exchange(c, sum);  // counts -> starts
    for (T& t : *v) (*scratch)[at[(key(t) >> (8 * b)) & 0xff]++] = std::move(t);
    v->swap(*scratch);
  }
}

// After a sort by a key: sorts each run of neighbours for which same(a, b)
// holds by `less` (the full order; runs are short when the key is
// selective, so `less` may be slow).
template <typename T, typename Same, typename Less>
void SortTies(std::vector<T>* v, Same&& same, Less&& less) {
  auto run = v->begin();
  while (run != v->end()) {
    auto end = run + 1;
    while (end != v->end() && same(*run, *end)) ++end;
    if (end - run > 1) std::sort(run, end, less);
    run = end;
  }
}

}  // namespace epistream
