#include "operators/alert.h"

#include <openssl/sha.h>

#include "engine/json_writer.h"

namespace epistream {

std::string MakeAlertId(std::string_view rule, std::string_view subject,
                        std::string_view discriminator) {
  std::string input;
  input.reserve(rule.size() + subject.size() + discriminator.size() + 2);
  input.append(rule);
  input.push_back('\0');
  input.append(subject);
  input.push_back('\0');
  input.append(discriminator);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int i = 0; i < 16; ++i) {
    id[2 * i] = kHex[digest[i] >> 4];
    id[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return id;
}

void AlertToJson(const Alert& a, int tz_offset_minutes, TimestampMs emitted_at, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("alert_id", a.alert_id);
  w.Field("rule", a.rule);
  w.Field("severity", a.severity);
  if (!a.person_id.empty()) w.Field("person_id", a.person_id);
  if (!a.cluster_json.empty()) {
    w.Key("cluster");
    w.Raw(a.cluster_json);
    w.Field("version", a.version);
  }
  w.Field("ts", FormatRfc3339(a.ts, tz_offset_minutes));
  w.Field("emitted_at", FormatRfc3339(emitted_at, tz_offset_minutes));
  w.Key("evidence");
  w.Raw(a.evidence_json.empty() ? std::string_view("[]") : std::string_view(a.evidence_json));
  w.Field("explanation", a.explanation);
  w.EndObject();
}

std::string_view AlertKey(const Alert& a) {
  return a.cluster_id.empty() ? std::string_view(a.person_id) : std::string_view(a.cluster_id);
}

}  // namespace epistream
