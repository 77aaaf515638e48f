// libFuzzer target for EventParser::Parse (operators/event_parser.h).
//
// Each input is parsed once without a forced type (file mode: the "type"
// field decides) and once with each forced type (Kafka mode: the topic
// decides), by a parser with the default 64 KiB limit and by one with a tiny
// limit (the too_large path). Besides memory errors and undefined behaviour
// (ASan, UBSan), it traps on contract violations: a reason code outside
// CONTRACT.md section 4's list, or an accepted event whose fields break the
// parser's documented limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "operators/event.h"
#include "operators/event_parser.h"
#include "operators/risk_area_table.h"

namespace {

using epistream::Event;
using epistream::EventParser;
using epistream::EventType;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool IsKnownReason(std::string_view r) {
  if (r == "bad_json" || r == "too_large" || r == "bad_timestamp") return true;
  for (std::string_view prefix : {"missing_field:", "bad_type:", "bad_value:", "out_of_range:"}) {
    if (r.substr(0, prefix.size()) == prefix && r.size() > prefix.size()) return true;
  }
  return false;
}

bool IdOk(const std::string& s) { return !s.empty() && s.size() <= 64; }
bool OptionalIdOk(const std::string& s) { return s.size() <= 64; }

void CheckEvent(const Event& e, std::optional<EventType> forced) {
  if (forced) Check(e.type == *forced);
  Check(static_cast<int>(e.type) < epistream::kNumEventTypes);
  if (e.type != EventType::kPerson) Check(IdOk(e.event_id));
  if (e.type != EventType::kRiskArea) Check(IdOk(e.person_id));
  if (e.has_ts || e.type <= EventType::kRiskArea) {
    Check(e.ts >= 0 && e.ts <= 253402300799999);
  }
  switch (e.type) {
    case EventType::kScan:
      Check(IdOk(e.venue_id));
      Check(e.region.empty() || epistream::IsRegionCode(e.region));
      break;
    case EventType::kTransport:
      Check(IdOk(e.hub_id));
      Check(epistream::IsRegionCode(e.origin_region));
      Check(e.trip_regions.size() <= 64);
      for (const std::string& r : e.trip_regions) Check(epistream::IsRegionCode(r));
      break;
    case EventType::kFever:
      Check(IdOk(e.clinic_id));
      Check(e.temp_c >= 30.0 && e.temp_c <= 45.0);
      Check(e.symptoms.size() <= 32);
      for (const std::string& s : e.symptoms) Check(s.size() <= 64);
      Check(OptionalIdOk(e.community_id));
      break;
    case EventType::kRiskArea:
      Check(epistream::IsRegionCode(e.region));
      break;
    case EventType::kPerson:
      Check(OptionalIdOk(e.community_id));
      break;
  }
}

void ParseOne(EventParser& parser, std::string_view bytes, std::optional<EventType> forced,
              size_t limit) {
  static Event event;
  std::string reason;
  if (parser.Parse(bytes, forced, &event, &reason)) {
    Check(bytes.size() <= limit);
    CheckEvent(event, forced);
  } else {
    Check(IsKnownReason(reason));
    Check((reason == "too_large") == (bytes.size() > limit));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static EventParser parser;          // 64 KiB, the default
  static EventParser small(48);       // exercises too_large
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ParseOne(parser, bytes, std::nullopt, 64 * 1024);
  for (int t = 0; t < epistream::kNumEventTypes; ++t) {
    ParseOne(parser, bytes, static_cast<EventType>(t), 64 * 1024);
  }
  ParseOne(small, bytes, std::nullopt, 48);
  return 0;
}
