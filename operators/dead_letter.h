// DeadLetter: a message that cannot be used, as written to `epi.deadletter`
// (CONTRACT.md sections 3 and 7), and its JSON form.
//
// DeadLetterToJson produces one compact JSON object with keys in this order:
//   {"reason":"bad_json","topic":"epi.scans","partition":3,"offset":42,
//    "original":"..."}
// `original` is the message bytes as a JSON string when they are valid UTF-8;
// otherwise the key is `original_base64` (RFC 4648, padded). Messages over
// kDeadLetterMaxOriginalBytes keep only their first 64 KiB (cut back to a
// code point boundary when the text is UTF-8) and end with "truncated":true,
// so a 10 MB message does not make a 10 MB dead letter.
//
// Threading: pure functions, callable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace epistream {

inline constexpr size_t kDeadLetterMaxOriginalBytes = 64 * 1024;

struct DeadLetter {
  std::string
      reason;  // stable code: bad_json, missing_field:venue_id, too_late, ...
  std::string topic;  // source topic (or the input file name)
  int32_t partition = 0;
  int64_t offset = 0;    // Kafka offset, or line number for files
  std::string original;  // the message value, as received
};

std::string DeadLetterToJson(const DeadLetter& letter);

}  // namespace epistream
