// Rule parameters (CONTRACT.md section 4). Mirrors the `rules:` section of
// config/epistream.yaml; every number is configurable.
#pragma once

#include <cstdint>

#include "engine/event_time.h"

namespace epistream {

// The clinic_surge test. EARS C2 is the contract's rule; C3 (the sum of the
// last 3 days' C2 excesses) is an option that also catches slower rises.
enum class SurgeMethod : uint8_t { kEarsC2, kEarsC3 };

// The venue test of fever_cluster. kContract is the contract's rule (7-day
// cases against 14-day visitors, alpha / V); kVenueDay tests each venue-day
// (cases who visited v on day D against the visitors of v on D, alpha /
// (7 V)), an option that finds 3-case point-source outbreaks at venues the
// contract's rule cannot (operators/cluster/README.md). Communities use the
// contract's test either way.
enum class ClusterMethod : uint8_t { kContract, kVenueDay };

// The community test of fever_cluster. kContract is the contract's rule
// (P(X >= k) < alpha / C at each evaluation). A community is re-tested at
// every fever visit over overlapping windows, so chance alarms accumulate
// over time; kWeekly spends alpha per city-week instead: it bounds the
// chance that the community's sliding window count reaches k at any time
// in a week (a Poisson scan statistic, CommunityWeeklyScanP) and fires when
// that is < alpha / C (operators/cluster/README.md).
enum class CommunityMethod : uint8_t { kContract, kWeekly };

// RulesConfig::cluster_evaluation_delay for "the allowed lateness + 1 ms".
inline constexpr DurationMs kDeterministicEvaluationDelay = -1;

struct RulesConfig {
  // A listing covers entries up to this long before it. Default: 14d
  DurationMs risk_lookback = 14 * kDayMs;
  // Retroactive listings fire for entries within this of the watermark. Default: 14d
  DurationMs retroactive_window = 14 * kDayMs;
  // A flagged returnee must have a test_site scan within this. Default: 24h
  DurationMs test_deadline = 24 * kHourMs;
  // Home quarantine after an inbound_released entry. Default: 14d
  DurationMs quarantine_inbound = 14 * kDayMs;
  // Home quarantine after a high-risk returnee_risk_area. Default: 7d
  DurationMs quarantine_high_risk = 7 * kDayMs;
  // fever_returnee looks back this far for an exposure. Default: 14d
  DurationMs fever_exposure_lookback = 14 * kDayMs;
  // Venue trail kept per person (fever links). Default: 7d
  DurationMs venue_trail = 7 * kDayMs;

  // fever_cluster: venue and community scans (Poisson test with a Bonferroni bound).
  // Fever visits counted as cases k, and the window of the city fever rate r. Default: 7d
  DurationMs cluster_case_window = 7 * kDayMs;
  // Distinct visitors of a venue over this window form its population N. Default: 14d
  DurationMs cluster_population_window = 14 * kDayMs;
  // Fever visits in one community counted over this window. Default: 3d
  DurationMs community_case_window = 3 * kDayMs;
  // Fewest distinct cases k before a cluster can fire. Default: 3
  uint32_t cluster_min_cases = 3;
  // Chance alarms allowed per evaluation, split over the venues (or
  // communities) tested: fires when P(X >= k) < alpha / V. Default: 0.2
  double cluster_alpha = 0.2;
  // The venue test: kContract (YAML "contract") or kVenueDay ("venue_day").
  // Default: kContract
  ClusterMethod cluster_method = ClusterMethod::kContract;
  // The community test: kContract (YAML "contract") or kWeekly ("weekly").
  // Default: kContract
  CommunityMethod community_method = CommunityMethod::kContract;
  // fever_cluster and clinic_surge evaluate at time a once the watermark
  // reaches a + this (ClusterStageOptions::evaluation_delay). 0: at a, the
  // contract's timing; a late record (within the allowed lateness) then
  // re-runs later evaluations, so versions can depend on how input
  // partitions interleaved. kDeterministicEvaluationDelay (YAML
  // "deterministic"): the allowed lateness + 1 ms, after which no accepted
  // event can still make a record stamped <= a, so cluster alerts depend on
  // the input only, one lateness later. Default: 0
  DurationMs cluster_evaluation_delay = 0;

  // clinic_surge: EARS C2 (or C3) on daily fever visits per clinic.
  // The test: kEarsC2 (YAML "c2") or kEarsC3 ("c3"). Default: kEarsC2
  SurgeMethod surge_method = SurgeMethod::kEarsC2;
  // Baseline length in days. Default: 7
  uint32_t surge_baseline_days = 7;
  // Days between the end of the baseline and the day tested. Default: 2
  uint32_t surge_guard_days = 2;
  // Threshold = mean + surge_sd_multiplier * max(sd, surge_min_sd). Default: 3.0
  double surge_sd_multiplier = 3.0;
  // Floor of the standard deviation in the threshold. Default: 0.5
  double surge_min_sd = 0.5;
  // Fewest visits on the day tested for an alert. Default: 5
  uint32_t surge_min_visits = 5;
  // Days of history a clinic needs before it can alert. Default: 9
  uint32_t surge_min_history_days = 9;
  // C3 only: day i adds max(0, C2_i - surge_c3_day_offset), C2_i = (visits -
  // mean) / max(sd, surge_min_sd) on day i's own baseline. Default: 1.0
  double surge_c3_day_offset = 1.0;
  // C3 only: fires when the sum over the day tested and the 2 days before
  // is strictly above this. Default: 2.0
  double surge_c3_threshold = 2.0;
};

}  // namespace epistream
