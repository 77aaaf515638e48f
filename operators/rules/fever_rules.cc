#include "operators/rules/fever_rules.h"

#include <fmt/format.h>

#include <tuple>

namespace epistream {

void FeverRules::EmitReturnee(RuleContext& ctx, FeverRecord& fever, const ExposureRecord& x) {
  fever.returnee_alerted = true;
  Alert a;
  a.rule = kFeverReturnee;
  a.severity = kSeverityCritical;
  a.person_id = std::string(ctx.person_id);
  a.ts = fever.ts;
  a.alert_id = MakeAlertId(a.rule, ctx.person_id, fever.event_id);
  a.evidence_json.push_back('[');
  evidence::FeverRecord(fever, ctx.tz_offset_minutes, &a.evidence_json);
  for (const EntryRecord& e : ctx.state.entries) {
    if (e.event_id == x.entry_event_id) evidence::Entry(e, ctx.tz_offset_minutes, &a.evidence_json);
  }
  evidence::Listing(x.area, x.listing_event_id, x.listed_at, x.level, ctx.tz_offset_minutes,
                    &a.evidence_json);
  a.evidence_json.push_back(']');
  const double days = static_cast<double>(fever.ts - x.entry_ts) / kDayMs;
  a.explanation =
      fmt::format("fever {:.1f} C at clinic {}, {:.1f} days after arriving from {} ({} risk)",
                  fever.temp_c, fever.clinic_id, days, x.area, RiskLevelName(x.level));
  ctx.alerts->push_back(std::move(a));
}

void FeverRules::OnFever(RuleContext& ctx, const Event& fever, const PersonInfo* info) {
  FeverRecord& rec = ctx.state.fevers.back();
  const ExposureRecord* best = BestExposure(ctx, fever.ts);
  if (best != nullptr) EmitReturnee(ctx, rec, *best);

  if (info != nullptr && info->occupation != Occupation::kOther) {
    Alert a;
    a.rule = kFeverKeyWorker;
    a.severity = kSeverityWarning;
    a.person_id = std::string(ctx.person_id);
    a.ts = fever.ts;
    a.alert_id = MakeAlertId(a.rule, ctx.person_id, fever.event_id);
    a.evidence_json.push_back('[');
    evidence::Fever(fever, ctx.tz_offset_minutes, &a.evidence_json);
    a.evidence_json.push_back(']');
    a.explanation = fmt::format("fever {:.1f} C at clinic {}; registered {} worker", fever.temp_c,
                                fever.clinic_id, OccupationName(info->occupation));
    ctx.alerts->push_back(std::move(a));
  }
}

void FeverRules::OnExposure(RuleContext& ctx, const ExposureRecord& exposure) {
  for (FeverRecord& f : ctx.state.fevers) {
    if (f.returnee_alerted) continue;
    if (f.ts < exposure.entry_ts || f.ts > exposure.entry_ts + ctx.rules.fever_exposure_lookback)
      continue;
    // Not necessarily `exposure`: an arrival read after the visit (another
    // topic) brings all its exposures at once, and the best of them is the
    // one OnFever would have named had the arrival been read first.
    const ExposureRecord* best = BestExposure(ctx, f.ts);
    EmitReturnee(ctx, f, best != nullptr ? *best : exposure);
  }
}

const ExposureRecord* FeverRules::BestExposure(const RuleContext& ctx, TimestampMs fever_ts) {
  // Which exposure explains a visit must not depend on the order listings
  // were read. Listings in force at the visit come first (a run reading the
  // table in event time knows all of them at the visit): the most recent
  // arrival, the most severe level, the smallest code. Listings made after
  // the visit come next, the earliest listed first: such a run fires
  // (retroactively) as soon as the first of them is read and knows no later
  // one, while a run that read the whole table first knows them all; both
  // name the earliest.
  auto rank = [&](const ExposureRecord& x) {
    const bool late = x.listed_at > fever_ts;
    return std::make_tuple(late, late ? x.listed_at : TimestampMs{0}, -x.entry_ts,
                           -static_cast<int>(x.level), std::string_view(x.area));
  };
  const ExposureRecord* best = nullptr;
  for (const ExposureRecord& x : ctx.state.exposures) {
    if (x.entry_ts > fever_ts || x.entry_ts < fever_ts - ctx.rules.fever_exposure_lookback) continue;
    if (best == nullptr || rank(x) < rank(*best)) best = &x;
  }
  return best;
}

}  // namespace epistream
