// PoissonUpperTail against values computed by hand (60-digit decimal
// arithmetic of e^-mu * sum mu^j / j!, see the comments), including tails far
// below what 1 - CDF can represent.
#include "operators/cluster/poisson.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace epistream {
namespace {

void ExpectRelative(double expected, double actual, double rel = 1e-12) {
  EXPECT_NEAR(actual, expected, std::fabs(expected) * rel)
      << "expected " << expected;
}

TEST(PoissonTest, SmallMeanTails) {
  // 1 - e^-0.1 (1 + 0.1 + 0.005)
  ExpectRelative(0.00015465307026467164, PoissonUpperTail(3, 0.1));
  // the restaurant of the tests: 12 visitors at a fever rate of 0.4%
  ExpectRelative(1.7781020061742227e-05, PoissonUpperTail(3, 0.048));
  // 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24)
  ExpectRelative(0.0036598468273437122, PoissonUpperTail(5, 1.0));
  // mu^3/6 e^-mu (1 + mu/4 + ...), mu = 1e-6
  ExpectRelative(1.6666654166671666e-19, PoissonUpperTail(3, 1e-6));
}

TEST(PoissonTest, TailsBeyondDoublePrecisionOfTheCdf) {
  // e^-0.01 0.01^10 / 10! (1 + 0.01/11 + ...)
  ExpectRelative(2.7307942836962459e-27, PoissonUpperTail(10, 0.01));
  // e^-1 / 100! (1 + 1/101 + ...): 1 - CDF would give 0 or noise
  ExpectRelative(3.9812808189568546e-159, PoissonUpperTail(100, 1.0), 1e-10);
}

TEST(PoissonTest, LargeMeanTails) {
  ExpectRelative(0.57680991887315647,
                 PoissonUpperTail(3, 3.0));  // 1 - e^-3 (1 + 3 + 4.5)
  ExpectRelative(0.93803119558334103, PoissonUpperTail(3, 6.0));
  ExpectRelative(0.0034543419758568078, PoissonUpperTail(20, 10.0), 1e-11);
  ExpectRelative(0.99999998821549929, PoissonUpperTail(50, 100.0));
  ExpectRelative(0.39346934028736658, PoissonUpperTail(1, 0.5));  // 1 - e^-0.5
}

TEST(PoissonTest, EdgeCases) {
  EXPECT_EQ(PoissonUpperTail(0, 0.0), 1.0);
  EXPECT_EQ(PoissonUpperTail(0, 5.0), 1.0);
  EXPECT_EQ(PoissonUpperTail(3, 0.0), 0.0);
  EXPECT_EQ(PoissonUpperTail(3, -1.0), 0.0);
  EXPECT_EQ(PoissonUpperTail(3, std::numeric_limits<double>::quiet_NaN()), 0.0);
  EXPECT_EQ(PoissonUpperTail(3, std::numeric_limits<double>::infinity()), 1.0);
  // Huge counts and means stay finite and in [0, 1].
  const double p = PoissonUpperTail(2'000'000'000ull, 1e9);
  EXPECT_GE(p, 0.0);
  EXPECT_LT(p, 1e-100);
  EXPECT_NEAR(PoissonUpperTail(1'000'000, 1e6), 0.5, 0.01);
}

TEST(PoissonTest, MonotoneInKAndMu) {
  for (double mu : {0.01, 0.5, 3.0, 40.0}) {
    double prev = 1.0;
    for (uint64_t k = 1; k < 80; ++k) {
      const double p = PoissonUpperTail(k, mu);
      EXPECT_LE(p, prev) << "k=" << k << " mu=" << mu;
      prev = p;
    }
  }
  for (uint64_t k : {1u, 3u, 10u}) {
    double prev = 0.0;
    for (double mu = 0.001; mu < 50; mu *= 1.3) {
      const double p = PoissonUpperTail(k, mu);
      EXPECT_GE(p, prev) << "k=" << k << " mu=" << mu;
      prev = p;
    }
  }
}

}  // namespace
}  // namespace epistream
