#include "operators/rules/abnormal_code_rule.h"

#include <fmt/format.h>

namespace epistream {

void AbnormalCodeRule::OnScan(RuleContext& ctx, const Event& scan) {
  if (scan.code_color == CodeColor::kGreen) return;
  if (scan.venue_kind == VenueKind::kTestSite || scan.venue_kind == VenueKind::kHospital) return;
  const bool red = scan.code_color == CodeColor::kRed;
  const int64_t day = LocalDay(scan.ts, ctx.tz_offset_minutes);
  if (!ctx.state.TestAndSetDayFlag(day, red ? kFlagCodeRed : kFlagCodeYellow)) return;
  Alert a;
  a.rule = kAbnormalCode;
  a.severity = red ? kSeverityCritical : kSeverityWarning;
  a.person_id = std::string(ctx.person_id);
  a.ts = scan.ts;
  a.alert_id = MakeAlertId(a.rule, ctx.person_id,
                           fmt::format("{}/{}", FormatLocalDate(day), a.severity));
  a.evidence_json.push_back('[');
  evidence::Scan(scan, ctx.tz_offset_minutes, &a.evidence_json);
  a.evidence_json.push_back(']');
  a.explanation = fmt::format("{} health code scanned at {} {}", CodeColorName(scan.code_color),
                              VenueKindName(scan.venue_kind), scan.venue_id);
  ctx.alerts->push_back(std::move(a));
}

}  // namespace epistream
