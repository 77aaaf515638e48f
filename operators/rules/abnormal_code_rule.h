// abnormal_code_at_venue (CONTRACT.md section 4): a red (critical) or yellow
// (warning) health code scanned at a venue other than test_site or hospital;
// at most once per person, local day and severity (a red after a yellow the
// same day still alerts).
#pragma once

#include "operators/rules/rule_context.h"

namespace epistream {

class AbnormalCodeRule {
 public:
  static constexpr std::string_view kAbnormalCode = "abnormal_code_at_venue";
  static void OnScan(RuleContext& ctx, const Event& scan);
};

}  // namespace epistream
