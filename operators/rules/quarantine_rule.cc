#include "operators/rules/quarantine_rule.h"

#include <fmt/format.h>

namespace epistream {

void QuarantineRule::Start(PersonState& state, TimestampMs start, TimestampMs end,
                           std::string_view entry_event_id) {
  if (end <= start) return;
  for (QuarantineRecord& q : state.quarantines) {
    if (q.entry_event_id == entry_event_id) {
      q.start = std::min(q.start, start);
      q.end = std::max(q.end, end);
      return;
    }
  }
  state.quarantines.push_back({start, end, std::string(entry_event_id)});
}

void QuarantineRule::OnScan(RuleContext& ctx, const Event& scan) {
  if (scan.venue_kind == VenueKind::kTestSite || scan.venue_kind == VenueKind::kHospital ||
      scan.venue_kind == VenueKind::kResidential)
    return;
  const QuarantineRecord* active = nullptr;
  for (const QuarantineRecord& q : ctx.state.quarantines) {
    if (scan.ts >= q.start && scan.ts < q.end && (active == nullptr || q.end > active->end)) {
      active = &q;
    }
  }
  if (active == nullptr) return;
  const int64_t day = LocalDay(scan.ts, ctx.tz_offset_minutes);
  if (!ctx.state.TestAndSetDayFlag(day, kFlagBreach)) return;
  Alert a;
  a.rule = kBreach;
  a.severity = kSeverityWarning;
  a.person_id = std::string(ctx.person_id);
  a.ts = scan.ts;
  a.alert_id = MakeAlertId(a.rule, ctx.person_id, FormatLocalDate(day));
  a.evidence_json.push_back('[');
  evidence::Scan(scan, ctx.tz_offset_minutes, &a.evidence_json);
  evidence::Quarantine(*active, ctx.tz_offset_minutes, &a.evidence_json);
  a.evidence_json.push_back(']');
  a.explanation = fmt::format("scanned at {} {} during home quarantine (until {})",
                              VenueKindName(scan.venue_kind), scan.venue_id,
                              FormatRfc3339(active->end, ctx.tz_offset_minutes).substr(0, 16));
  ctx.alerts->push_back(std::move(a));
}

}  // namespace epistream
