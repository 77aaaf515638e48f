// Typed, strict reading of YAML config files into plain structs.
//
// Every error names the file, the 1-based line and the key path, e.g.
//   config.yaml:12: state.retention: expected a duration like "21d", got "abc"
// so a bad config stops start-up with a message the operator can act on.
// Unknown keys are errors too (typo protection), with a "did you mean" hint.
//
// Config loading is cold code: yaml-cpp may throw, and its exceptions are
// caught here and in the loaders built on this file; nothing escapes as an
// exception.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_time.h"
#include "engine/status.h"

namespace epistream {

// Parses a non-negative duration: a sequence of <integer><unit> with units
// ms, s, m, h, d, w ("500ms", "30s", "5m", "1h30m", "14d"), or a bare "0".
// nullopt on a bad format, a negative value or overflow.
std::optional<DurationMs> ParseDuration(std::string_view s);

// The shortest exact spelling with the units above: 21d -> "21d",
// 90 min -> "1h30m", 1500 ms -> "1s500ms", 0 -> "0s". Round-trips with
// ParseDuration.
std::string FormatDuration(DurationMs d);

// Parses a byte size: a plain integer, or an integer with a unit, binary
// (KiB, MiB, GiB, TiB) or decimal (B, KB, MB, GB, TB), optionally separated
// by one space: "65536", "64KiB", "256 MiB", "1GiB". nullopt on a bad
// format, a negative value or overflow.
std::optional<uint64_t> ParseSize(std::string_view s);

// The largest exact binary unit: 256 MiB -> "256MiB", 1000 -> "1000".
std::string FormatSize(uint64_t bytes);

// One YAML mapping being read into a struct.
//
// Fields are read by name with typed readers; an absent key leaves the
// destination untouched (it holds the struct's in-class default), a present
// key with a wrong type or an invalid value is an error naming file, line and
// key path. Finish() reports keys nobody asked for. Typical use:
//
//   Result<YamlSection> s = root.Section("state");
//   if (!s.ok()) return s.status();
//   EPI_RETURN_IF_ERROR(s->Duration("retention", &cfg.retention, kHourMs));
//   EPI_RETURN_IF_ERROR(s->Finish());
//
// Lifecycle: created by Root() or Section(), used once, on one thread.
class YamlSection {
 public:
  // The document root of `yaml_text`; `file_name` is used in messages only.
  // An empty document is an empty mapping. Syntax errors come back with
  // their line.
  static Result<YamlSection> Root(std::string_view yaml_text,
                                  std::string_view file_name);

  // The sub-mapping under `key` ("" path at the root gives "key", else
  // "path.key"). An absent key or a null value gives an empty section, so a
  // section with every line commented out means "all defaults".
  Result<YamlSection> Section(std::string_view key);

  // Scalar readers. `min`/`max` bound the accepted values (inclusive).
  Status String(std::string_view key, std::string* out);
  Status Bool(std::string_view key, bool* out);
  Status Int(std::string_view key, int64_t* out, int64_t min = INT64_MIN,
             int64_t max = INT64_MAX);
  Status Int(std::string_view key, int* out, int min = INT32_MIN,
             int max = INT32_MAX);
  Status Uint(std::string_view key, uint64_t* out, uint64_t min = 0,
              uint64_t max = UINT64_MAX);
  Status Uint(std::string_view key, uint32_t* out, uint32_t min = 0,
              uint32_t max = UINT32_MAX);
  Status Double(std::string_view key, double* out, double min, double max);
  // A duration string (ParseDuration); the error shows the default as the
  // example.
  Status Duration(std::string_view key, DurationMs* out, DurationMs min = 0);
  // A byte size (ParseSize), an integer or a string with a unit.
  Status Size(std::string_view key, uint64_t* out, uint64_t min = 0);
  // A mapping of string keys to scalar values (numbers and booleans are kept
  // as written), e.g. librdkafka passthrough properties. Replaces *out.
  Status StringMap(std::string_view key,
                   std::map<std::string, std::string>* out);

  // Error for a present key whose value is unacceptable for a reason the
  // caller checked (cross-field or semantic validation). For an absent key
  // the line is that of the section.
  Status Invalid(std::string_view key, std::string_view message) const;

  // Ok when every key of the mapping was asked for by a reader above;
  // otherwise an error for the first unknown key, with the closest known key
  // as a suggestion.
  Status Finish() const;

  // "state.retention" for key "retention" of section "state".
  std::string PathOf(std::string_view key) const;

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
    bool used = false;
  };

  YamlSection(std::shared_ptr<const std::string> file, std::string path,
              YAML::Mark mark)
      : file_(std::move(file)), path_(std::move(path)), mark_(mark) {}
  static Result<YamlSection> FromNode(const YAML::Node& node,
                                      std::shared_ptr<const std::string> file,
                                      std::string path,
                                      YAML::Mark fallback_mark);

  // The entry for `key` (marked used) or nullptr; records `key` as known.
  Entry* Take(std::string_view key);
  static YAML::Mark ValueMark(const Entry& e);
  Status Error(const YAML::Mark& mark, std::string_view key,
               std::string_view message) const;
  Status TypeError(const Entry& e, std::string_view expected) const;

  std::shared_ptr<const std::string> file_;
  std::string path_;
  YAML::Mark mark_;  // of the mapping itself (or its key when empty)
  std::vector<Entry> entries_;
  std::vector<std::string> known_;  // keys asked for, for "did you mean"
};

// Builds "file:line: path: message" (line is 1-based; omitted when unknown).
Status ConfigError(std::string_view file, int line, std::string_view path,
                   std::string_view message);

}  // namespace epistream
