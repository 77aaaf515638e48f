// Poisson upper tail P(X >= k) for X ~ Poisson(mu), the significance of k
// fever cases where mu were expected (fever_cluster, CONTRACT.md section 4).
//
// Computed as the regularised lower incomplete gamma function P(k, mu), in
// log space: a power series when mu < k + 1 (where the tail is small and must
// keep its relative precision down to ~1e-300) and a continued fraction for
// the complement otherwise (where the tail is not small). No cancellation, no
// factorial overflow, for k up to billions and mu up to 1e12.
#pragma once

#include <cstdint>

namespace epistream {

// P(X >= k; mu). 1 when k == 0; 0 when mu <= 0 and k > 0; NaN never (a
// negative or NaN mu counts as 0).
double PoissonUpperTail(uint64_t k, double mu);

}  // namespace epistream
