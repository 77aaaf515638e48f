// clinic_surge: EARS C2 (the contract's rule) or, as an option, EARS C3 on
// the daily fever visits of one clinic (CONTRACT.md section 4).
//
// Day d (a local calendar day) is tested once the watermark passes its last
// millisecond: baseline = the surge_baseline_days days ending
// surge_guard_days + 1 days before d (defaults: d-9 .. d-3), days without
// visits counting 0; threshold = mean + surge_sd_multiplier *
// max(sample sd, surge_min_sd); fires when visits(d) > threshold strictly,
// visits(d) >= surge_min_visits and the clinic's first visit is at least
// surge_min_history_days days before d. Visits are counted, not persons.
//
// EARS C3 (rules.surge_method = kEarsC3; Hutwagner et al. 2003): with
// C2_i = (visits(i) - mean_i) / max(sd_i, surge_min_sd) on day i's own C2
// baseline, C3(d) = sum over i = d-2, d-1, d of max(0, C2_i -
// surge_c3_day_offset); fires when C3(d) > surge_c3_threshold strictly,
// visits(d) >= surge_min_visits and the first visit is at least
// surge_min_history_days + 2 days before d (the baseline of d-2 complete).
// Defaults 1 and 2 are the EARS ones.
//
// ClinicState is the per-clinic state (G C L<clinic>): a count per recent
// day, the first day ever seen, and the first visits of the last days for
// the alert's members and evidence.
// Threading: owned by the cluster stage thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/rules_config.h"

namespace epistream {

struct ClinicVisit {
  std::string person_id;
  std::string event_id;
  TimestampMs ts = 0;
};

struct ClinicDay {
  int64_t day = 0;  // local day number
  uint32_t visits = 0;
  bool alerted = false;
  std::vector<ClinicVisit>
      first_visits;  // up to kMaxKeptVisits, by (ts, event_id)
};

struct ClinicState {
  static constexpr size_t kMaxKeptVisits = 100;
  static constexpr int64_t kNoDay = INT64_MAX;

  int64_t first_day = kNoDay;   // earliest day with a visit
  std::vector<ClinicDay> days;  // ascending

  // Counts a visit on `day`; returns the day's record.
  ClinicDay& AddVisit(int64_t day, const ClinicVisit& v);
  const ClinicDay* Day(int64_t day) const;
  ClinicDay* Day(int64_t day);
  uint32_t VisitsOn(int64_t day) const;
  // Drops days < keep_from and the visit details of days < details_from.
  void Prune(int64_t keep_from, int64_t details_from);
  // The latest day with a visit (kNoDay when none).
  int64_t LastDay() const { return days.empty() ? kNoDay : days.back().day; }
  bool Empty() const { return days.empty() && first_day == kNoDay; }

  void Encode(std::string* out) const;
  Status Decode(std::string_view bytes);
};

// The outcome of either test on day d (mean, sd: d's own C2 baseline).
struct EarsC2Result {
  SurgeMethod method = SurgeMethod::kEarsC2;
  uint32_t visits = 0;
  double mean = 0;
  double sd = 0;
  // Visits on d above which the test fires. C3: given the two days before;
  // 0 when they alone already exceed surge_c3_threshold.
  double threshold = 0;
  // C2: (visits - mean) / max(sd, surge_min_sd); C3: the 3-day sum C3(d).
  // +infinity when visits > mean and the sd floor is 0 with sd 0.
  double statistic = 0;
  int64_t history_days = 0;  // days from the first visit to d
  bool fires = false;
};

// The EARS C2 test of `day` on the clinic's counts.
EarsC2Result EvaluateEarsC2(const ClinicState& clinic, int64_t day,
                            const RulesConfig& rules);
// The EARS C3 test of `day` (see the file comment).
EarsC2Result EvaluateEarsC3(const ClinicState& clinic, int64_t day,
                            const RulesConfig& rules);
// The test rules.surge_method names.
EarsC2Result EvaluateClinicSurge(const ClinicState& clinic, int64_t day,
                                 const RulesConfig& rules);
// "EARS C2" / "EARS C3", for explanations.
const char* SurgeMethodName(SurgeMethod method);

}  // namespace epistream
