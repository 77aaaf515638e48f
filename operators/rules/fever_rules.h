// fever_returnee and fever_key_worker (CONTRACT.md section 4).
//
// fever_returnee: a fever visit at f by a person with a returnee_risk_area
// exposure whose arrival is in [f - 14 d, f]; one alert per fever visit. Joins
// in event time both ways: an exposure found after the visit (retroactive
// listing) fires for the visits within 14 days after the arrival. The
// evidence names one exposure, independent of when the table was read:
// listings in force at the visit first (most recent arrival, most severe,
// smallest code), else the earliest listed after the visit.
// fever_key_worker: a fever visit by a person registered as cold_chain,
// medical or transport in epi.persons; one alert per fever visit.
#pragma once

#include "operators/person_registry.h"
#include "operators/rules/rule_context.h"

namespace epistream {

class FeverRules {
 public:
  static constexpr std::string_view kFeverReturnee = "fever_returnee";
  static constexpr std::string_view kFeverKeyWorker = "fever_key_worker";

  // A new fever visit, already appended to ctx.state.fevers (the last one).
  static void OnFever(RuleContext& ctx, const Event& fever, const PersonInfo* info);
  // A new exposure: earlier fever visits within the lookback after it fire.
  static void OnExposure(RuleContext& ctx, const ExposureRecord& exposure);

 private:
  static void EmitReturnee(RuleContext& ctx, FeverRecord& fever, const ExposureRecord& x);
  // The exposure that explains a visit at `fever_ts` (arrival within the
  // lookback before it), or nullptr; see the ranking in the source.
  static const ExposureRecord* BestExposure(const RuleContext& ctx, TimestampMs fever_ts);
};

}  // namespace epistream
