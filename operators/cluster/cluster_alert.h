// Cluster alerts (CONTRACT.md section 3, `epi.alerts.cluster`, key
// cluster_id): `fever_cluster` for venues and communities, `clinic_surge`
// for clinics. Builds the Alert with its "cluster" object, version,
// evidence and explanation; alert_id = MakeAlertId(rule, cluster_id,
// version), so a replay reproduces it.
//
// The "cluster" object: cluster_id, venue_id | community_id | clinic_id,
// member_count, members (the first 100 person ids), first_ts, last_ts,
// statistic, expected, p_value, then extra fields that explain the numbers
// (fever_cluster: population, fever_rate, tests, threshold; clinic_surge:
// day, baseline_sd, threshold; clinic_surge has no p-value: null).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/event_time.h"
#include "operators/alert.h"
#include "operators/cluster/case_window.h"
#include "operators/cluster/clinic_surge.h"

namespace epistream {

inline constexpr std::string_view kFeverClusterRule = "fever_cluster";
inline constexpr std::string_view kClinicSurgeRule = "clinic_surge";

enum class ClusterSubject : uint8_t { kVenue = 0, kCommunity = 1, kClinic = 2 };
// "venue_id", "community_id", "clinic_id".
std::string_view ClusterSubjectField(ClusterSubject s);

// A stable, short id for an episode: "<venue|community|clinic>-" + 16 hex
// chars of SHA-256 over (subject, key, start).
std::string MakeClusterId(ClusterSubject subject, std::string_view key,
                          TimestampMs start);

// The numbers of one fever_cluster evaluation.
struct ClusterTest {
  uint64_t cases = 0;     // k
  double population = 0;  // N, or the community's population
  double fever_rate = 0;  // r
  double expected = 0;    // mu = population * r
  double p_value = 1;     // P(X >= k; mu)
  int64_t tests = 0;      // V or C
  double threshold = 0;   // alpha / tests
};

// The alert announcing `episode`'s current version, evaluated at `ts`.
Alert FeverClusterAlert(ClusterSubject subject, std::string_view key,
                        const ClusterEpisode& episode, const ClusterTest& test,
                        DurationMs case_window, TimestampMs ts,
                        int tz_offset_minutes);

// The clinic_surge alert of one clinic-day.
Alert ClinicSurgeAlert(std::string_view clinic, const ClinicDay& day,
                       const EarsC2Result& ears, TimestampMs ts,
                       int tz_offset_minutes);

}  // namespace epistream
