// rules.community_method = weekly (operators/cluster/README.md): the
// community test with alpha spent per week (P < alpha / (C m), m = the
// disjoint community case windows in a week) instead of per evaluation, beside
// the contract's test on the same records. The cluster stage is fed its
// records directly: city counters fixing r, registered populations, and
// fever visits of each community.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/cluster/poisson.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

// 2022-09-01T00:00:00+08:00.
TimestampMs T0() { return *ParseRfc3339("2022-09-01T00:00:00+08:00"); }

struct Fever {
  TimestampMs ts;
  std::string community;
  std::string person;
};

// Built by append: g++ 12 warns (-Wrestrict, a false positive) on
// "literal" + std::to_string at -O3.
std::string Id(char prefix, int i) {
  std::string s(1, prefix);
  s.append(std::to_string(i));
  return s;
}

std::string Community(int i) { return Id('k', i); }

// The cluster stage under `method`, fed C registered communities of the given
// populations, a constant city fever rate over the community window
// (fevers / active = r), and the fever visits in time order, the watermark
// following each one. Returns the fever_cluster alerts.
class CommunityRun {
 public:
  CommunityRun(CommunityMethod method, const std::vector<int64_t>& populations,
               int64_t active, int64_t fevers) {
    ClusterStageOptions o;
    o.rules.community_method = method;
    stage_ = std::make_unique<ClusterStage>(o, &store_);
    EXPECT_OK(stage_->Open());
    for (size_t i = 0; i < populations.size(); ++i) {
      ClusterRecord r;
      r.kind = ClusterRecordKind::kCommunityRegistered;
      r.key = Community(static_cast<int>(i));
      r.delta = static_cast<int32_t>(populations[i]);
      EXPECT_OK(stage_->OnRecord(r));
    }
    Count(CityCounter::kActiveCommunity, active);
    Count(CityCounter::kFeverCommunity, fevers);
  }

  std::vector<Alert> Run(const std::vector<Fever>& visits) {
    std::vector<Alert> alerts;
    int n = 0;
    for (const Fever& f : visits) {
      ClusterRecord r;
      r.kind = ClusterRecordKind::kCommunityFever;
      r.key = f.community;
      r.ts = f.ts;
      r.person_id = f.person;
      r.event_id = Id('f', n++);
      r.clinic_id = "c1";
      EXPECT_OK(stage_->OnRecord(r));
      EXPECT_OK(stage_->OnWatermark(f.ts, &alerts));
    }
    return alerts;
  }

 private:
  void Count(CityCounter c, int64_t n) {
    ClusterRecord r;
    r.kind = ClusterRecordKind::kCityCount;
    r.key = std::string(CityCounterName(c));
    r.ts = T0() - kDayMs;
    r.delta = static_cast<int32_t>(n);
    EXPECT_OK(stage_->OnRecord(r));
  }

  MemKvStore store_;
  std::unique_ptr<ClusterStage> stage_;
};

std::string CommunityOf(const Alert& a) {
  const std::string key = "\"community_id\":\"";
  const size_t at = a.cluster_json.find(key);
  if (at == std::string::npos) return "";
  const size_t from = at + key.size();
  return a.cluster_json.substr(from, a.cluster_json.find('"', from) - from);
}

std::set<std::string> ClusterIds(const std::vector<Alert>& alerts) {
  std::set<std::string> ids;
  for (const Alert& a : alerts) ids.insert(a.cluster_id);
  return ids;
}

// Background fevers: each community's visits a Poisson process at its
// expected rate (population x r per community window), persons never
// repeating; a fixed seed, so the draws (and the counts below) are the same
// on every run.
std::vector<Fever> Background(const std::vector<int64_t>& populations,
                              double r_per_window, DurationMs window,
                              int days, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&rng] {  // (0, 1], independent of the library's distributions
    return (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;
  };
  std::vector<Fever> out;
  int person = 0;
  for (size_t i = 0; i < populations.size(); ++i) {
    const double per_ms =
        static_cast<double>(populations[i]) * r_per_window / window;
    double t = 0;
    for (;;) {
      t += -std::log(uniform()) / per_ms;
      if (t >= static_cast<double>(days) * kDayMs) break;
      out.push_back({T0() + static_cast<TimestampMs>(t),
                     Community(static_cast<int>(i)),
                     Id('p', person++)});
    }
  }
  std::sort(out.begin(), out.end(), [](const Fever& a, const Fever& b) {
    return a.ts < b.ts;
  });
  return out;
}

// P(X >= k) + (7 d / w) mu P(X = k - 1), by hand.
TEST(CommunityWeeklyTest, WeeklyScanPIsTheTailPlusTheUpCrossingsOfAWeek) {
  const DurationMs w = 3 * kDayMs;
  // mu = 0.24, k = 3: 1.9266e-3 + (7 / 3) 0.24 e^-0.24 0.24^2 / 2.
  const double up3 = 7.0 / 3 * 0.24 * std::exp(-0.24) * 0.24 * 0.24 / 2;
  EXPECT_NEAR(CommunityWeeklyScanP(3, 0.24, w),
              PoissonUpperTail(3, 0.24) + up3, 1e-12);
  EXPECT_NEAR(CommunityWeeklyScanP(3, 0.24, w), 1.4611e-2, 1e-5);
  // mu = 3, k = 10: the tail 1.1025e-3, up-crossings 7 e^-3 3^10 / 9! / ...
  const double up10 = 7.0 / 3 * 3 * std::exp(-3.0) * std::pow(3.0, 9) / 362880;
  EXPECT_NEAR(CommunityWeeklyScanP(10, 3.0, w),
              PoissonUpperTail(10, 3.0) + up10, 1e-12);
  // A 7-day window: one window a week.
  EXPECT_NEAR(CommunityWeeklyScanP(3, 0.5, 7 * kDayMs),
              PoissonUpperTail(3, 0.5) + 0.5 * std::exp(-0.5) * 0.125, 1e-12);
  // Large k in a large compound stays finite; capped at 1; mu = 0.
  EXPECT_LT(CommunityWeeklyScanP(200, 100.0, w), 1e-15);
  EXPECT_EQ(CommunityWeeklyScanP(3, 5.0, w), 1.0);
  EXPECT_EQ(CommunityWeeklyScanP(3, 0.0, w), 0.0);
  // Always at least the contract's p.
  for (double mu : {0.05, 0.3, 2.0, 8.0})
    for (uint64_t k : {3u, 5u, 12u})
      EXPECT_GE(CommunityWeeklyScanP(k, mu, w), PoissonUpperTail(k, mu));
}

// 60 communities of 300-2400 residents with their usual fevers (r = 3e-3 per
// 3 days: ~1-7 in 3 days) tested at every fever visit for 12 weeks. The
// contract's bound (alpha / C per evaluation) lets chance alarms accumulate
// over the overlapping windows; the weekly bound keeps them near alpha per
// week for the whole city.
TEST(CommunityWeeklyTest, UsualFeversAlarmUnderTheContractButNotWeekly) {
  std::vector<int64_t> populations;
  for (int i = 0; i < 60; ++i) populations.push_back(300 + (i % 8) * 300);
  const int days = 84;
  const std::vector<Fever> visits =
      Background(populations, 3e-3, 3 * kDayMs, days, 20221);
  ASSERT_GT(visits.size(), 5000u);

  CommunityRun contract(CommunityMethod::kContract, populations, 100000, 300);
  const std::vector<Alert> ca = contract.Run(visits);
  CommunityRun weekly(CommunityMethod::kWeekly, populations, 100000, 300);
  const std::vector<Alert> wa = weekly.Run(visits);

  const std::set<std::string> contract_ids = ClusterIds(ca),
                              weekly_ids = ClusterIds(wa);
  // Chance alarms under the contract: several over 12 weeks (about alpha per
  // evaluation round, several rounds a week).
  EXPECT_GE(contract_ids.size(), 3u);
  // Under weekly: alpha (0.2) per city-week bounds the expected chance
  // alarms, 12 weeks: <= 2.4.
  EXPECT_LE(weekly_ids.size(), 2u);
  // Every weekly alarm's community also alarmed under the contract.
  std::set<std::string> contract_communities;
  for (const Alert& a : ca) contract_communities.insert(CommunityOf(a));
  for (const Alert& a : wa)
    EXPECT_EQ(contract_communities.count(CommunityOf(a)), 1u) << CommunityOf(a);
  std::printf("chance alarms over %d days, %zu fever visits: contract %zu, "
              "weekly %zu\n",
              days, visits.size(), contract_ids.size(), weekly_ids.size());
}

// A small compound (40 residents, mu = 0.12 over 3 days) with 3 fevers in a
// day alerts under both rules, at the third fever visit: p 2.6e-4 (contract),
// 2.0e-3 (weekly) < 0.2 / 60.
TEST(CommunityWeeklyTest, SmallCommunityOutbreakStillAlerts) {
  std::vector<int64_t> populations(60, 1000);
  populations[7] = 40;
  std::vector<Fever> visits;
  for (int i = 0; i < 3; ++i)
    visits.push_back({T0() + 2 * kDayMs + i * 3 * kHourMs, Community(7),
                      Id('q', i)});
  ASSERT_LT(CommunityWeeklyScanP(3, 40 * 3e-3, 3 * kDayMs), 0.2 / 60);

  for (CommunityMethod m :
       {CommunityMethod::kContract, CommunityMethod::kWeekly}) {
    CommunityRun run(m, populations, 100000, 300);
    const std::vector<Alert> alerts = run.Run(visits);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].version, 1);
    EXPECT_EQ(alerts[0].ts, visits[2].ts);
    EXPECT_NE(alerts[0].cluster_json.find("\"tests\":60"), std::string::npos)
        << alerts[0].cluster_json;
  }
}

// Between the two: 3 fevers in 3 days among 80 residents (mu = 0.24) give
// p = 1.9e-3 < alpha / C = 3.3e-3, but a week's scan reaches 3 somewhere with
// chance 1.5e-2: the contract's rule fires at the third case, weekly at the
// fourth (1.1e-3).
TEST(CommunityWeeklyTest, BetweenTheBoundsWeeklyNeedsOneCaseMore) {
  std::vector<int64_t> populations(60, 1000);
  populations[3] = 80;
  const double p3 = PoissonUpperTail(3, 80 * 3e-3);
  ASSERT_LT(p3, 0.2 / 60);
  ASSERT_GT(CommunityWeeklyScanP(3, 80 * 3e-3, 3 * kDayMs), 0.2 / 60);
  ASSERT_LT(CommunityWeeklyScanP(4, 80 * 3e-3, 3 * kDayMs), 0.2 / 60);
  std::vector<Fever> visits;
  for (int i = 0; i < 4; ++i)
    visits.push_back({T0() + kDayMs + i * 5 * kHourMs, Community(3),
                      Id('s', i)});

  CommunityRun contract(CommunityMethod::kContract, populations, 100000, 300);
  const std::vector<Alert> ca = contract.Run(visits);
  ASSERT_EQ(ca.size(), 2u);  // versions at 3 and 4 members
  EXPECT_EQ(ca[0].ts, visits[2].ts);
  CommunityRun weekly(CommunityMethod::kWeekly, populations, 100000, 300);
  const std::vector<Alert> wa = weekly.Run(visits);
  ASSERT_EQ(wa.size(), 1u);
  EXPECT_EQ(wa[0].ts, visits[3].ts);
  EXPECT_EQ(wa[0].version, 1);
}

}  // namespace
}  // namespace epistream
