// quarantine_breach (CONTRACT.md section 4): a person under home quarantine
// scans at a venue other than test_site, hospital or residential; at most once
// per person per local day. Home quarantine is [t, t + 14 d) after an
// inbound_released arrival and [t, t + 7 d) after a high-risk
// returnee_risk_area finding. A retroactive high-risk finding starts the
// quarantine from the arrival but does not turn past scans into breaches (the
// person could not have known).
#pragma once

#include "operators/rules/rule_context.h"

namespace epistream {

class QuarantineRule {
 public:
  static constexpr std::string_view kBreach = "quarantine_breach";

  // Starts (or widens) the quarantine [start, end) of an entry.
  static void Start(PersonState& state, TimestampMs start, TimestampMs end,
                    std::string_view entry_event_id);
  static void OnScan(RuleContext& ctx, const Event& scan);
};

}  // namespace epistream
