#include "operators/rules/returnee_rule.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "engine/event_time.h"

namespace epistream {

std::vector<ExposureRecord> ReturneeRule::OnEntry(RuleContext& ctx, const EntryRecord& entry,
                                                  const RiskAreaTable& areas) {
  std::vector<Coverage> covs;
  for (const std::string& code : entry.regions) {
    areas.Covering(code, entry.ts, ctx.rules.risk_lookback, &covs);
  }
  // One finding per area even when several of the entry's codes match it;
  // areas in code order so output does not depend on the travel card's order.
  std::sort(covs.begin(), covs.end(),
            [](const Coverage& a, const Coverage& b) { return a.interval.area < b.interval.area; });
  std::vector<ExposureRecord> out;
  for (size_t i = 0; i < covs.size(); ++i) {
    if (i > 0 && covs[i].interval.area == covs[i - 1].interval.area) continue;
    if (auto x = Flag(ctx, entry, covs[i])) out.push_back(std::move(*x));
  }
  return out;
}

std::optional<ExposureRecord> ReturneeRule::Flag(RuleContext& ctx, const EntryRecord& entry,
                                                 const Coverage& cov) {
  const std::string& area = cov.interval.area;
  if (ctx.state.HasExposure(area)) return std::nullopt;
  const bool first_for_entry =
      std::none_of(ctx.state.exposures.begin(), ctx.state.exposures.end(),
                   [&](const ExposureRecord& x) { return x.entry_event_id == entry.event_id; });
  ExposureRecord x;
  x.area = area;
  x.entry_ts = entry.ts;
  x.entry_event_id = entry.event_id;
  x.level = cov.level;
  x.listing_event_id = cov.interval.listing_event_id;
  x.listed_at = cov.interval.listed_at;
  ctx.state.exposures.push_back(x);

  Alert a;
  a.rule = kRiskArea;
  a.severity = cov.level == RiskLevel::kHigh ? kSeverityCritical : kSeverityWarning;
  a.person_id = std::string(ctx.person_id);
  a.ts = entry.ts;
  a.alert_id = MakeAlertId(a.rule, ctx.person_id, area);
  a.evidence_json.push_back('[');
  evidence::Entry(entry, ctx.tz_offset_minutes, &a.evidence_json);
  evidence::Listing(area, cov.interval.listing_event_id, cov.interval.listed_at, cov.level,
                    ctx.tz_offset_minutes, &a.evidence_json);
  a.evidence_json.push_back(']');
  const std::string_view origin = entry.regions.empty() ? "" : std::string_view(entry.regions[0]);
  a.explanation = fmt::format(
      "arrived by {} from {} at hub {} on {}; {} listed {} risk from {}{}; must report and be "
      "tested within {} h",
      TransportModeName(entry.mode), origin, entry.hub_id,
      FormatRfc3339(entry.ts, ctx.tz_offset_minutes).substr(0, 16), area,
      RiskLevelName(cov.level),
      FormatLocalDate(LocalDay(cov.interval.listed_at, ctx.tz_offset_minutes)),
      // Said from event time, not from arrival order, so that file and Kafka
      // runs (which see the table at different moments) explain alike.
      cov.interval.listed_at > entry.ts ? " (listed after the arrival)" : "",
      ctx.rules.test_deadline / kHourMs);
  ctx.alerts->push_back(std::move(a));

  if (first_for_entry && ctx.timers != nullptr) {
    std::string key(ctx.person_id);
    key.push_back('\0');
    key.append(entry.event_id);
    ctx.timers->Schedule(entry.ts + ctx.rules.test_deadline, kTimerTestDeadline, key);
  }
  return x;
}

void ReturneeRule::OnTestDeadline(RuleContext& ctx, std::string_view entry_event_id) {
  const PersonState& s = ctx.state;
  auto entry = std::find_if(s.entries.begin(), s.entries.end(),
                            [&](const EntryRecord& e) { return e.event_id == entry_event_id; });
  if (entry == s.entries.end()) return;  // pruned by retention
  const TimestampMs deadline = entry->ts + ctx.rules.test_deadline;
  // Which listing explains it must not depend on the order listings were
  // read. Listings in force by the deadline come first, the most severe, then
  // the smallest code: a run reading the table in event time knows all of
  // them when the timer fires. Listings made after the deadline come next,
  // the earliest listed first: such a run fires (retroactively) as soon as the
  // first of them is read and knows no later one, while a run that read the
  // whole table first knows them all; both name the earliest.
  const ExposureRecord* exposure = nullptr;
  auto rank = [&](const ExposureRecord& x) {
    const bool late = x.listed_at > deadline;
    return std::make_tuple(late, late ? x.listed_at : TimestampMs{0}, -static_cast<int>(x.level),
                           std::string_view(x.area));
  };
  for (const ExposureRecord& x : s.exposures) {
    if (x.entry_event_id != entry_event_id) continue;
    if (exposure == nullptr || rank(x) < rank(*exposure)) exposure = &x;
  }
  if (exposure == nullptr) return;
  const bool tested = std::any_of(s.tests.begin(), s.tests.end(), [&](TimestampMs t) {
    return t >= entry->ts && t <= deadline;
  });
  if (tested) return;
  Alert a;
  a.rule = kUntested;
  a.severity = kSeverityWarning;
  a.person_id = std::string(ctx.person_id);
  a.ts = deadline;
  a.alert_id = MakeAlertId(a.rule, ctx.person_id, entry_event_id);
  a.evidence_json.push_back('[');
  evidence::Entry(*entry, ctx.tz_offset_minutes, &a.evidence_json);
  evidence::Listing(exposure->area, exposure->listing_event_id, exposure->listed_at,
                    exposure->level, ctx.tz_offset_minutes, &a.evidence_json);
  a.evidence_json.push_back(']');
  a.explanation = fmt::format("no test_site scan within {} h of arriving from {} ({} risk) on {}",
                              ctx.rules.test_deadline / kHourMs, exposure->area,
                              RiskLevelName(exposure->level),
                              FormatRfc3339(entry->ts, ctx.tz_offset_minutes).substr(0, 16));
  ctx.alerts->push_back(std::move(a));
}

}  // namespace epistream
