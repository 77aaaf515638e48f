#include "engine/yaml_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

namespace epistream {
namespace {

// Parses the leading decimal digits of `s` at `*pos` into `*out`; false when
// there are none or on overflow.
bool ReadDigits(std::string_view s, size_t* pos, uint64_t* out) {
  const char* begin = s.data() + *pos;
  const char* end = s.data() + s.size();
  if (begin == end || *begin < '0' || *begin > '9') return false;
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  if (ec != std::errc()) return false;
  *pos += static_cast<size_t>(ptr - begin);
  return true;
}

struct Unit {
  std::string_view name;
  uint64_t factor;
};

// Longer names first so "ms" is not read as "m" followed by garbage.
constexpr Unit kDurationUnits[] = {
    {"ms", 1},
    {"s", static_cast<uint64_t>(kSecondMs)},
    {"m", static_cast<uint64_t>(kMinuteMs)},
    {"h", static_cast<uint64_t>(kHourMs)},
    {"d", static_cast<uint64_t>(kDayMs)},
    {"w", static_cast<uint64_t>(7 * kDayMs)},
};

constexpr Unit kSizeUnits[] = {
    {"KiB", 1ull << 10}, {"MiB", 1ull << 20},     {"GiB", 1ull << 30},
    {"TiB", 1ull << 40}, {"kB", 1000ull},         {"KB", 1000ull},
    {"MB", 1000'000ull}, {"GB", 1000'000'000ull}, {"TB", 1000'000'000'000ull},
    {"B", 1ull},
};

// Describes a node's value for "expected X, got Y" messages.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return fmt::format("\"{}\"", node.Scalar());
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min(
          {row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

int LineOf(const YAML::Mark& mark) {
  return mark.is_null() ? 0 : mark.line + 1;
}

}  // namespace

std::optional<DurationMs> ParseDuration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  uint64_t total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    uint64_t n = 0;
    if (!ReadDigits(s, &pos, &n)) return std::nullopt;
    const Unit* unit = nullptr;
    for (const Unit& u : kDurationUnits) {
      if (s.substr(pos, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;
    pos += unit->name.size();
    uint64_t part;
    if (__builtin_mul_overflow(n, unit->factor, &part) ||
        __builtin_add_overflow(total, part, &total) ||
        total > static_cast<uint64_t>(INT64_MAX /
                                      4)) {  // far beyond any sane duration
      return std::nullopt;
    }
  }
  return static_cast<DurationMs>(total);
}

std::string FormatDuration(DurationMs d) {
  if (d == 0) return "0s";
  std::string out;
  uint64_t rest;
  if (d < 0) {
    out = "-";
    rest = static_cast<uint64_t>(-(d + 1)) + 1;
  } else {
    rest = static_cast<uint64_t>(d);
  }
  static constexpr Unit kFormatUnits[] = {
      {"d", static_cast<uint64_t>(kDayMs)},
      {"h", static_cast<uint64_t>(kHourMs)},
      {"m", static_cast<uint64_t>(kMinuteMs)},
      {"s", static_cast<uint64_t>(kSecondMs)},
      {"ms", 1},
  };
  for (const Unit& u : kFormatUnits) {
    if (rest >= u.factor) {
      out += fmt::format("{}{}", rest / u.factor, u.name);
      rest %= u.factor;
    }
  }
  return out;
}

std::optional<uint64_t> ParseSize(std::string_view s) {
  size_t pos = 0;
  uint64_t n = 0;
  if (!ReadDigits(s, &pos, &n)) return std::nullopt;
  if (pos == s.size()) return n;
  if (s[pos] == ' ') ++pos;
  const std::string_view unit_name = s.substr(pos);
  for (const Unit& u : kSizeUnits) {
    if (unit_name == u.name) {
      uint64_t bytes;
      if (__builtin_mul_overflow(n, u.factor, &bytes)) return std::nullopt;
      return bytes;
    }
  }
  return std::nullopt;
}

std::string FormatSize(uint64_t bytes) {
  if (bytes != 0) {
    for (int i = 3; i >= 0; --i) {  // TiB, GiB, MiB, KiB
      const Unit& u = kSizeUnits[i];
      if (bytes % u.factor == 0)
        return fmt::format("{}{}", bytes / u.factor, u.name);
    }
  }
  return std::to_string(bytes);
}

Status ConfigError(std::string_view file, int line, std::string_view path,
                   std::string_view message) {
  std::string m(file);
  if (line > 0) m += fmt::format(":{}", line);
  m += ": ";
  if (!path.empty()) {
    m += path;
    m += ": ";
  }
  m += message;
  return Status::InvalidArgument(std::move(m));
}

Result<YamlSection> YamlSection::Root(std::string_view yaml_text,
                                      std::string_view file_name) {
  auto file = std::make_shared<const std::string>(file_name);
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return ConfigError(*file, LineOf(e.mark), "", "invalid YAML: " + e.msg);
  }
  YAML::Mark start;  // line 0 -> reported as line 1
  return FromNode(doc, std::move(file), "", start);
}

Result<YamlSection> YamlSection::FromNode(
    const YAML::Node& node, std::shared_ptr<const std::string> file,
    std::string path, YAML::Mark fallback_mark) {
  YamlSection section(std::move(file), std::move(path), fallback_mark);
  try {
    if (!node.IsDefined() || node.IsNull()) return section;
    if (!node.IsMap()) {
      const std::string what =
          section.path_.empty() ? "the top level" : section.path_;
      return ConfigError(*section.file_, LineOf(node.Mark()), what,
                         "expected a mapping of keys, got " + Describe(node));
    }
    section.mark_ = node.Mark();
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return ConfigError(
            *section.file_, LineOf(kv.first.Mark()), section.path_,
            "keys must be plain strings, got " + Describe(kv.first));
      }
      const std::string& key = kv.first.Scalar();
      for (const Entry& e : section.entries_) {
        if (e.key == key) {
          return section.Error(kv.first.Mark(), key,
                               fmt::format("duplicate key (first at line {})",
                                           LineOf(e.key_node.Mark())));
        }
      }
      section.entries_.push_back(Entry{key, kv.first, kv.second, false});
    }
    return section;
  } catch (const YAML::Exception& e) {
    return ConfigError(*section.file_, LineOf(e.mark), section.path_,
                       "invalid YAML: " + e.msg);
  }
}

// A null value ("key:" and nothing) has its mark where the next token
// starts, often the next line; the key's line is the one to show.
YAML::Mark YamlSection::ValueMark(const Entry& e) {
  return e.value.IsNull() ? e.key_node.Mark() : e.value.Mark();
}

YamlSection::Entry* YamlSection::Take(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end())
    known_.emplace_back(key);
  for (Entry& e : entries_) {
    if (e.key == key) {
      e.used = true;
      return &e;
    }
  }
  return nullptr;
}

std::string YamlSection::PathOf(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return fmt::format("{}.{}", path_, key);
}

Status YamlSection::Error(const YAML::Mark& mark, std::string_view key,
                          std::string_view message) const {
  const int line = LineOf(mark.is_null() ? mark_ : mark);
  return ConfigError(*file_, line, PathOf(key), message);
}

Status YamlSection::TypeError(const Entry& e, std::string_view expected) const {
  return Error(ValueMark(e), e.key,
               fmt::format("expected {}, got {}", expected, Describe(e.value)));
}

Status YamlSection::Invalid(std::string_view key,
                            std::string_view message) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return Error(ValueMark(e), key, message);
  }
  return Error(mark_, key, message);
}

Result<YamlSection> YamlSection::Section(std::string_view key) {
  Entry* e = Take(key);
  if (e == nullptr) return YamlSection(file_, PathOf(key), mark_);
  return FromNode(e->value, file_, PathOf(key), e->key_node.Mark());
}

Status YamlSection::String(std::string_view key, std::string* out) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  if (e->value.IsNull())
    return TypeError(*e, "a string (write \"\" for an empty one)");
  if (!e->value.IsScalar()) return TypeError(*e, "a string");
  *out = e->value.Scalar();
  return Status::Ok();
}

Status YamlSection::Bool(std::string_view key, bool* out) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  if (e->value.IsScalar()) {
    const std::string& v = e->value.Scalar();
    if (v == "true" || v == "True" || v == "TRUE") {
      *out = true;
      return Status::Ok();
    }
    if (v == "false" || v == "False" || v == "FALSE") {
      *out = false;
      return Status::Ok();
    }
  }
  return TypeError(*e, "true or false");
}

Status YamlSection::Int(std::string_view key, int64_t* out, int64_t min,
                        int64_t max) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  if (!e->value.IsScalar()) return TypeError(*e, "an integer");
  std::string_view v = e->value.Scalar();
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ptr != v.data() + v.size())
    return TypeError(*e, "an integer");
  if (ec != std::errc() || n < min || n > max) {
    return Error(ValueMark(*e), e->key,
                 fmt::format("must be between {} and {}, got {}", min, max,
                             e->value.Scalar()));
  }
  *out = n;
  return Status::Ok();
}

Status YamlSection::Int(std::string_view key, int* out, int min, int max) {
  int64_t v = *out;
  EPI_RETURN_IF_ERROR(Int(key, &v, int64_t{min}, int64_t{max}));
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status YamlSection::Uint(std::string_view key, uint64_t* out, uint64_t min,
                         uint64_t max) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  if (!e->value.IsScalar()) return TypeError(*e, "a non-negative integer");
  std::string_view v = e->value.Scalar();
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (!v.empty() && v[0] == '-') {
    int64_t neg = 0;
    auto [p2, ec2] = std::from_chars(v.data(), v.data() + v.size(), neg);
    if (ec2 == std::errc() && p2 == v.data() + v.size()) {
      return Error(
          ValueMark(*e), e->key,
          fmt::format("must be between {} and {}, got {}", min, max, v));
    }
  }
  if (v.empty() || ptr != v.data() + v.size())
    return TypeError(*e, "a non-negative integer");
  if (ec != std::errc() || n < min || n > max) {
    return Error(ValueMark(*e), e->key,
                 fmt::format("must be between {} and {}, got {}", min, max, v));
  }
  *out = n;
  return Status::Ok();
}

Status YamlSection::Uint(std::string_view key, uint32_t* out, uint32_t min,
                         uint32_t max) {
  uint64_t v = *out;
  EPI_RETURN_IF_ERROR(Uint(key, &v, uint64_t{min}, uint64_t{max}));
  *out = static_cast<uint32_t>(v);
  return Status::Ok();
}

Status YamlSection::Double(std::string_view key, double* out, double min,
                           double max) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  if (!e->value.IsScalar()) return TypeError(*e, "a number");
  std::string_view v = e->value.Scalar();
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  double x = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() ||
      !std::isfinite(x)) {
    return TypeError(*e, "a number");
  }
  if (x < min || x > max) {
    return Error(ValueMark(*e), e->key,
                 fmt::format("must be between {} and {}, got {}", min, max, v));
  }
  *out = x;
  return Status::Ok();
}

Status YamlSection::Duration(std::string_view key, DurationMs* out,
                             DurationMs min) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  const std::string example = FormatDuration(*out);
  if (!e->value.IsScalar()) {
    return TypeError(*e, fmt::format("a duration like \"{}\"", example));
  }
  const std::string& v = e->value.Scalar();
  if (!v.empty() && v[0] == '-' &&
      ParseDuration(std::string_view(v).substr(1))) {
    return Error(ValueMark(*e), e->key,
                 fmt::format("must not be negative, got \"{}\"", v));
  }
  std::optional<DurationMs> d = ParseDuration(v);
  if (!d) {
    return Error(ValueMark(*e), e->key,
                 fmt::format("expected a duration like \"{}\", got {} (units: "
                             "ms, s, m, h, d, w)",
                             example, Describe(e->value)));
  }
  if (*d < min) {
    return Error(
        ValueMark(*e), e->key,
        fmt::format("must be at least {}, got \"{}\"", FormatDuration(min), v));
  }
  *out = *d;
  return Status::Ok();
}

Status YamlSection::Size(std::string_view key, uint64_t* out, uint64_t min) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  const std::string example = FormatSize(*out);
  if (!e->value.IsScalar()) {
    return TypeError(*e, fmt::format("a size like \"{}\"", example));
  }
  const std::string& v = e->value.Scalar();
  std::optional<uint64_t> n = ParseSize(v);
  if (!n) {
    return Error(
        ValueMark(*e), e->key,
        fmt::format(
            "expected a size like \"{}\", got {} (a byte count, or units KiB, "
            "MiB, GiB, TiB, KB, MB, GB, TB)",
            example, Describe(e->value)));
  }
  if (*n < min) {
    return Error(
        ValueMark(*e), e->key,
        fmt::format("must be at least {}, got \"{}\"", FormatSize(min), v));
  }
  *out = *n;
  return Status::Ok();
}

Status YamlSection::StringMap(std::string_view key,
                              std::map<std::string, std::string>* out) {
  const Entry* e = Take(key);
  if (e == nullptr) return Status::Ok();
  Result<YamlSection> sub =
      FromNode(e->value, file_, PathOf(key), e->key_node.Mark());
  if (!sub.ok()) return sub.status();
  std::map<std::string, std::string> result;
  for (const Entry& item : sub->entries_) {
    if (!item.value.IsScalar()) return sub->TypeError(item, "a scalar value");
    result[item.key] = item.value.Scalar();
  }
  *out = std::move(result);
  return Status::Ok();
}

Status YamlSection::Finish() const {
  for (const Entry& e : entries_) {
    if (e.used) continue;
    const std::string* best = nullptr;
    size_t best_distance = 3;  // suggest only close matches
    for (const std::string& k : known_) {
      const size_t d = EditDistance(e.key, k);
      if (d < best_distance) {
        best_distance = d;
        best = &k;
      }
    }
    std::string message = "unknown key";
    if (best != nullptr) {
      message += fmt::format(" (did you mean \"{}\"?)", *best);
    } else if (!known_.empty()) {
      message += fmt::format(" (expected one of: {})", fmt::join(known_, ", "));
    }
    return Error(e.key_node.Mark(), e.key, message);
  }
  return Status::Ok();
}

}  // namespace epistream
