// AliasTable: O(1) sampling from a fixed discrete distribution (Vose's alias
// method). Used for Zipf venue popularity, region weights and the like.
//
// Built once from weights (any non-negative doubles, not all zero); immutable
// and thread-compatible afterwards. Sampling is a pure function of one 64-bit
// random value, so it stays deterministic under the city's hashing scheme.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace epistream {

class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);

  // Index in [0, size()) drawn with probability weight / sum(weights).
  // Requires !empty().
  uint32_t Sample(uint64_t random) const {
    const uint32_t col = static_cast<uint32_t>(
        (static_cast<uint64_t>(random >> 32) * cells_.size()) >> 32);
    const Cell& c = cells_[col];
    return static_cast<uint32_t>(random) < c.threshold ? col : c.alias;
  }

  size_t size() const { return cells_.size(); }
  bool empty() const { return cells_.empty(); }

 private:
  struct Cell {
    uint32_t threshold;  // coin (low 32 bits) below it keeps the column
    uint32_t alias;
  };
  std::vector<Cell> cells_;
};

// Zipf popularity weights 1 / (rank + offset) for ranks 0..n-1 (exponent 1:
// exact IEEE division, identical on every platform). A larger offset flattens
// the head.
std::vector<double> ZipfWeights(size_t n, double offset);

}  // namespace epistream
