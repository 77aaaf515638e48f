// EventParser: one JSON object (a Kafka message value or a JSON Lines line)
// -> a typed Event, or the stable dead-letter reason code of the first fault.
//
// One pass with simdjson on-demand; no DOM, no per-field allocation once the
// reused Event has warmed up. Reason codes (CONTRACT.md sections 3 and 7):
// bad_json (also invalid UTF-8, non-objects, NUL bytes), too_large (> max
// bytes), missing_field:F, bad_type:F, bad_value:F, out_of_range:F,
// bad_timestamp. With several faults, the first field in contract order wins:
// type (files only), event_id, ts, person_id, then the type's own fields in
// the order CONTRACT.md section 2 lists them.
//
// Threading: one parser per thread (it owns simdjson buffers).
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
  bool Parse(std::string_view bytes, std::optional<EventType> forced_type, Event* out,
             std::string* reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace epistream
