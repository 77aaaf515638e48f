// JsonWriter: appends compact JSON to a reusable std::string, keys in the
// order written (so output is byte-for-byte deterministic). No DOM.
//
//   JsonWriter w(&out);
//   w.BeginObject(); w.Key("rule"); w.String("x"); w.EndObject();
//
// Strings are escaped per RFC 8259; invalid UTF-8 bytes are replaced by
// U+FFFD so the output is always valid JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace epistream {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Sep(); out_->push_back('{'); first_ = true; }
  void EndObject() { out_->push_back('}'); first_ = false; }
  void BeginArray() { Sep(); out_->push_back('['); first_ = true; }
  void EndArray() { out_->push_back(']'); first_ = false; }
  void Key(std::string_view k);
  void String(std::string_view s);
  void Int(int64_t v);
  void Double(double v);  // shortest round-trip form
  void Bool(bool v);
  void Null();
  // Inserts already-serialised JSON verbatim.
  void Raw(std::string_view json);

  // Convenience: Key + value.
  void Field(std::string_view k, std::string_view v) { Key(k); String(v); }
  void Field(std::string_view k, const char* v) { Key(k); String(v); }
  void Field(std::string_view k, int64_t v) { Key(k); Int(v); }
  void Field(std::string_view k, int v) { Key(k); Int(v); }
  void Field(std::string_view k, double v) { Key(k); Double(v); }

 private:
  void Sep() {
    if (!first_ && !after_key_) out_->push_back(',');
    first_ = false;
    after_key_ = false;
  }
  std::string* out_;
  bool first_ = true;
  bool after_key_ = false;
};

// Appends `s` JSON-escaped (without quotes) to *out.
void AppendJsonEscaped(std::string_view s, std::string* out);

// True if `s` is valid UTF-8.
bool IsValidUtf8(std::string_view s);

// Standard base64 (RFC 4648, padded).
std::string Base64Encode(std::string_view bytes);

}  // namespace epistream
