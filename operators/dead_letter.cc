#include "operators/dead_letter.h"

#include <string_view>

#include "engine/json_writer.h"

namespace epistream {
namespace {

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// The first `limit` bytes of `s`; for text, moved back (at most 3 bytes) so a
// multi-byte UTF-8 sequence is not split and the kept prefix stays text.
std::string_view KeptPrefix(std::string_view s, size_t limit) {
  if (s.size() <= limit) return s;
  size_t cut = limit;
  for (int i = 0; i < 3 && cut > 0 && IsContinuationByte(s[cut]); ++i) --cut;
  if (IsContinuationByte(s[cut])) cut = limit;  // not UTF-8 anyway: keep it all
  return s.substr(0, cut);
}

}  // namespace

std::string DeadLetterToJson(const DeadLetter& letter) {
  const std::string_view original(letter.original);
  const bool truncated = original.size() > kDeadLetterMaxOriginalBytes;
  std::string_view kept = KeptPrefix(original, kDeadLetterMaxOriginalBytes);
  const bool text = IsValidUtf8(kept);
  if (!text) kept = original.substr(0, kDeadLetterMaxOriginalBytes);

  std::string out;
  out.reserve(
      96 + letter.reason.size() + letter.topic.size() +
      (text ? kept.size() + kept.size() / 8 : (kept.size() + 2) / 3 * 4));
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("reason", std::string_view(letter.reason));
  w.Field("topic", std::string_view(letter.topic));
  w.Field("partition", static_cast<int64_t>(letter.partition));
  w.Field("offset", letter.offset);
  if (text) {
    w.Field("original", kept);
  } else {
    w.Field("original_base64", std::string_view(Base64Encode(kept)));
  }
  if (truncated) {
    w.Key("truncated");
    w.Bool(true);
  }
  w.EndObject();
  return out;
}

}  // namespace epistream
