// Alert: one finding of a rule, and its wire form (CONTRACT.md section 3).
//
// alert_id is deterministic: a hash of (rule, subject, discriminator) where
// the discriminator names the finding (the area, the entry, the local day...),
// so a replay, restart or duplicate input reproduces the same id and
// consumers can dedupe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/event_time.h"

namespace epistream {

inline constexpr std::string_view kSeverityCritical = "critical";
inline constexpr std::string_view kSeverityWarning = "warning";
inline constexpr std::string_view kSeverityInfo = "info";

struct Alert {
  std::string alert_id;
  std::string_view rule;      // static rule name
  std::string_view severity;  // kSeverity*
  std::string person_id;      // person alerts
  std::string cluster_id;     // cluster alerts: the cluster (their Kafka key)
  std::string cluster_json;   // cluster alerts: the "cluster" object, serialised
  int version = 0;            // cluster alerts: 1, 2, ...
  TimestampMs ts = 0;         // event time that triggered it
  std::string evidence_json;  // a JSON array, serialised
  std::string explanation;
};

// 32 lowercase hex chars: the first 128 bits of SHA-256(rule \0 subject \0 discriminator).
std::string MakeAlertId(std::string_view rule, std::string_view subject,
                        std::string_view discriminator);

// Appends the alert's JSON object (keys in contract order; `emitted_at` from
// the wall clock) to *out, times formatted in the given offset.
void AlertToJson(const Alert& a, int tz_offset_minutes, TimestampMs emitted_at, std::string* out);

// The Kafka key of an alert: the cluster id for cluster alerts, else person_id.
std::string_view AlertKey(const Alert& a);

}  // namespace epistream
