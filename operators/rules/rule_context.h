// RuleContext: what a person rule sees while one record of one person is
// processed: the person's decoded state (which it may change), the config,
// where to put alerts, and the person's partition timers.
//
// Threading: built and used on the stage thread for one record.
#pragma once

#include <string_view>
#include <vector>

#include "engine/timer_service.h"
#include "operators/alert.h"
#include "operators/person_state.h"
#include "operators/rules_config.h"

namespace epistream {

// Timer kinds of the person stage (one byte in the timer key).
enum PersonTimerKind : uint8_t {
  kTimerTestDeadline = 1,  // returnee_untested: entry + test_deadline
};

struct RuleContext {
  const RulesConfig& rules;
  int tz_offset_minutes;
  std::string_view person_id;
  PersonState& state;
  std::vector<Alert>* alerts;
  TimerService* timers;
};

// Evidence items, appended to an evidence JSON array under construction
// (callers open with '[' and close with ']'; items are comma-separated).
namespace evidence {
void Entry(const EntryRecord& e, int tz, std::string* out);
void Scan(const Event& scan, int tz, std::string* out);
void Fever(const Event& fever, int tz, std::string* out);
void FeverRecord(const struct FeverRecord& f, int tz, std::string* out);
void Listing(std::string_view area, std::string_view event_id, TimestampMs ts, RiskLevel level,
             int tz, std::string* out);
void Quarantine(const QuarantineRecord& q, int tz, std::string* out);
}  // namespace evidence

}  // namespace epistream
