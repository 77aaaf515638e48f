// EventParser: one JSON object (a Kafka message value or a JSON Lines line)
// -> a typed Event, or the stable dead-letter reason code of the first fault.
//
// One pass with simdjson on-demand; no DOM, no per-field allocation once the
// reused Event has warmed up. Reason codes (CONTRACT.md sections 3 and 7):
// bad_json, too_large, missing_field:F, bad_type:F, bad_value:F,
// out_of_range:F, bad_timestamp. Checks, in this order (the first fault wins):
//
// 1. Size: more than max_message_bytes -> too_large (exactly max is fine).
// 2. Whole-message JSON validity -> bad_json: empty input, invalid UTF-8, a raw
//    NUL byte, anything malformed anywhere in the message (also inside fields
//    that are ignored), not an object, trailing content after the object,
//    containers nested deeper than 64 (the top-level object counts as 1), a
//    key repeated at the top level. Unknown extra fields are ignored whatever
//    their content and nesting; duplicate keys inside them are not checked.
// 3. Fields in contract order: type (only without forced_type), event_id, ts,
//    person_id (not for risk_area), then the type's fields in CONTRACT.md
//    section 2 order:
//      scan       venue_id, code_color, venue_kind, region
//      transport  hub_id, mode, origin_region, trip_regions, category
//      fever      clinic_id, temp_c, symptoms, community_id
//      risk_area  region, level
//      person     community_id, occupation
//    Generic rules: a required field absent or null -> missing_field:F; an
//    optional field absent or null keeps its default; wrong JSON type ->
//    bad_type:F; unknown enum value or malformed region code -> bad_value:F;
//    string length, count or number outside its limits -> out_of_range:F.
//    - type: scan|transport|fever|risk_area|person. With forced_type (Kafka:
//      the topic decides) the field is ignored.
//    - event_id, person_id, venue_id, hub_id, clinic_id, community_id:
//      strings of 1..64 bytes. event_id is optional for person records only.
//    - ts: an RFC 3339 string (engine/event_time.h ParseRfc3339) or an
//      integer of epoch milliseconds; either must lie in [0, 253402300799999]
//      (1970-01-01 to 9999-12-31 UTC). Required except for person records
//      (then has_ts=false when absent). Present but anything else (bad string,
//      float, exponent, bool, object, out of range) -> bad_timestamp.
//    - Region code: 2..12 ASCII digits, or exactly 2 uppercase ASCII letters.
//    - venue_kind default other; category default domestic; occupation
//      default other; code_color, mode, level required.
//    - trip_regions: array of strings (else bad_type), at most 64 (else
//      out_of_range), each a region code (else bad_value): shape before
//      content.
//    - temp_c: a number (else bad_type) in [30.0, 45.0] (else out_of_range).
//    - symptoms: array of strings (else bad_type), at most 32, each at most
//      64 bytes (else out_of_range).
//
// On success every field of *out is reset to its default first (strings are
// cleared, keeping their capacity), then type, has_ts and the type's fields
// are set. On failure *out is unspecified (possibly partly written).
//
// Threading: one parser per thread (it owns simdjson buffers). Not
// thread-safe; Parse may be called any number of times.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "operators/event.h"

namespace epistream {

class EventParser {
 public:
  explicit EventParser(size_t max_message_bytes = 64 * 1024);
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // Parses `bytes`. `forced_type` is the topic's type on Kafka; without it
  // (files) the object's "type" field decides. On success fills *out (every
  // field of the type reset to its default first) and returns true; otherwise
  // sets *reason and returns false.
  bool Parse(std::string_view bytes, std::optional<EventType> forced_type,
             Event* out, std::string* reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace epistream
