#include "operators/cluster/poisson.h"

#include <cmath>

namespace epistream {
namespace {

constexpr int kMaxIterations = 100000;
constexpr double kEpsilon = 1e-16;
constexpr double kTiny = 1e-300;

// log of e^-x x^a / Gamma(a): the common prefactor of both expansions.
double LogPrefactor(double a, double x) {
  return -x + a * std::log(x) - std::lgamma(a);
}

// P(a, x) by the series sum_n x^n / (a (a+1) ... (a+n)); for x < a + 1.
double LowerSeries(double a, double x) {
  double term = 1.0 / a;
  double sum = term;
  double ap = a;
  for (int n = 0; n < kMaxIterations; ++n) {
    ap += 1.0;
    term *= x / ap;
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kEpsilon) break;
  }
  return std::exp(LogPrefactor(a, x) + std::log(sum));
}

// Q(a, x) = 1 - P(a, x) by Lentz's continued fraction; for x >= a + 1.
double UpperFraction(double a, double x) {
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return std::exp(LogPrefactor(a, x) + std::log(h));
}

}  // namespace

double PoissonUpperTail(uint64_t k, double mu) {
  if (k == 0) return 1.0;
  if (!(mu > 0.0)) return 0.0;  // also NaN
  if (std::isinf(mu)) return 1.0;
  // P(X >= k; mu) = P(k, mu), the regularised lower incomplete gamma.
  const auto a = static_cast<double>(k);
  double p = mu < a + 1.0 ? LowerSeries(a, mu) : 1.0 - UpperFraction(a, mu);
  if (p < 0.0) p = 0.0;
  if (p > 1.0) p = 1.0;
  return p;
}

}  // namespace epistream
