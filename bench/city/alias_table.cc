#include "bench/city/alias_table.h"

namespace epistream {

AliasTable::AliasTable(const std::vector<double>& weights) {
  const size_t n = weights.size();
  if (n == 0) return;
  double sum = 0;
  for (double w : weights) sum += w > 0 ? w : 0;
  cells_.resize(n);
  if (!(sum > 0)) {  // degenerate: uniform
    for (size_t i = 0; i < n; ++i)
      cells_[i] = {UINT32_MAX, static_cast<uint32_t>(i)};
    return;
  }
  // Vose: scaled probabilities, split into small (< 1) and large (>= 1)
  // worklists.
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] =
        (weights[i] > 0 ? weights[i] : 0) * static_cast<double>(n) / sum;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  auto threshold = [](double p) -> uint32_t {
    if (p >= 1.0) return UINT32_MAX;
    if (p <= 0.0) return 0;
    return static_cast<uint32_t>(p * 4294967296.0);
  };
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    cells_[s] = {threshold(scaled[s]), l};
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Leftovers are 1 up to rounding.
  for (uint32_t i : large) cells_[i] = {UINT32_MAX, i};
  for (uint32_t i : small) cells_[i] = {UINT32_MAX, i};
}

std::vector<double> ZipfWeights(size_t n, double offset) {
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = 1.0 / (static_cast<double>(i) + offset);
  return w;
}

}  // namespace epistream
