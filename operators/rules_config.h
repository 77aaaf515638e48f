// Rule parameters (CONTRACT.md section 4). Mirrors the `rules:` section of
// config/epistream.yaml; every number is configurable.
#pragma once

#include "engine/event_time.h"

namespace epistream {

struct RulesConfig {
  // A listing covers entries up to this long before it. Default: 14d
  DurationMs risk_lookback = 14 * kDayMs;
  // Retroactive listings fire for entries within this of the watermark. Default: 14d
  DurationMs retroactive_window = 14 * kDayMs;
  // A flagged returnee must have a test_site scan within this. Default: 24h
  DurationMs test_deadline = 24 * kHourMs;
  // Home quarantine after an inbound_released entry. Default: 14d
  DurationMs quarantine_inbound = 14 * kDayMs;
  // Home quarantine after a high-risk returnee_risk_area. Default: 7d
  DurationMs quarantine_high_risk = 7 * kDayMs;
  // fever_returnee looks back this far for an exposure. Default: 14d
  DurationMs fever_exposure_lookback = 14 * kDayMs;
  // Venue trail kept per person (fever links). Default: 7d
  DurationMs venue_trail = 7 * kDayMs;
};

}  // namespace epistream
