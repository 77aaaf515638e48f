// returnee_risk_area and returnee_untested (CONTRACT.md section 4).
//
// returnee_risk_area: an arrival at t whose origin or trip region is covered
// by a medium/high listing interval [L, D] with L - 14 d <= t <= D; at most one
// alert per person per listed area; ts = the arrival's time (also when the
// listing arrives later: retroactive). returnee_untested: a flagged arrival
// with no test_site scan in [t, t + 24 h]; checked by an event-time timer at
// t + 24 h, ts = t + 24 h, once per arrival. Its evidence names one listing,
// chosen so that a run that read the whole table first (Kafka mode) and one
// that read it in event time (file mode) name the same: listings in force by
// the deadline first (most severe, then smallest code), else the earliest
// listed after it.
#pragma once

#include <optional>
#include <vector>

#include "operators/risk_area_table.h"
#include "operators/rules/rule_context.h"

namespace epistream {

class ReturneeRule {
 public:
  static constexpr std::string_view kRiskArea = "returnee_risk_area";
  static constexpr std::string_view kUntested = "returnee_untested";

  // Flags `entry` for every listed area covering it. Returns the new exposures.
  static std::vector<ExposureRecord> OnEntry(RuleContext& ctx, const EntryRecord& entry,
                                             const RiskAreaTable& areas);

  // Flags `entry` for one coverage unless the person already has an exposure
  // for that area. Schedules the test deadline for the entry's first exposure.
  static std::optional<ExposureRecord> Flag(RuleContext& ctx, const EntryRecord& entry,
                                            const Coverage& cov);

  // The test-deadline timer of the entry with this event id fired.
  static void OnTestDeadline(RuleContext& ctx, std::string_view entry_event_id);
};

}  // namespace epistream
