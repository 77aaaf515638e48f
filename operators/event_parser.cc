#include "operators/event_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <utility>
#include <vector>

namespace epistream {
namespace {

namespace od = simdjson::ondemand;

// Every top-level key any event type reads. Keys outside this list are
// validated as JSON and otherwise ignored.
enum FieldId : uint8_t {
  kFType,
  kFEventId,
  kFTs,
  kFPersonId,
  kFVenueId,
  kFCodeColor,
  kFVenueKind,
  kFRegion,
  kFHubId,
  kFMode,
  kFOriginRegion,
  kFTripRegions,
  kFCategory,
  kFClinicId,
  kFTempC,
  kFSymptoms,
  kFCommunityId,
  kFLevel,
  kFOccupation,
  kNumFields,
};

constexpr std::string_view kFieldNames[kNumFields] = {
    "type",          "event_id",     "ts",       "person_id",  "venue_id",
    "code_color",    "venue_kind",   "region",   "hub_id",     "mode",
    "origin_region", "trip_regions", "category", "clinic_id",  "temp_c",
    "symptoms",      "community_id", "level",    "occupation",
};
static_assert(kNumFields <= 32, "seen-mask is 32 bits");

constexpr size_t kMaxDepth = 64;  // containers, top-level object = 1
constexpr size_t kMaxIdBytes = 64;
constexpr size_t kMaxTripRegions = 64;
constexpr size_t kMaxSymptoms = 32;
constexpr size_t kMaxSymptomBytes = 64;
constexpr double kMinTempC = 30.0;
constexpr double kMaxTempC = 45.0;
constexpr TimestampMs kMaxTs = 253402300799999;  // 9999-12-31T23:59:59.999Z
// Array elements kept per array field: one past the largest limit is enough
// to decide, the rest are only validated and counted.
constexpr size_t kMaxCapturedItems = kMaxTripRegions + 1;

int LookupField(std::string_view key) {
  for (int i = 0; i < kNumFields; ++i) {
    if (kFieldNames[i].size() == key.size() && kFieldNames[i] == key) return i;
  }
  return -1;
}

// JSON kind of a captured top-level value.
enum class Kind : uint8_t { kNull, kString, kNumber, kBool, kObject, kArray };

struct Slot {
  Kind kind = Kind::kNull;
  // kString: the unescaped text (in simdjson's string buffer, valid until the
  // next iterate); kNumber: the raw number token.
  std::string_view text;
};

struct ArrayCapture {
  std::vector<std::string_view> items;  // the first kMaxCapturedItems strings
  size_t count = 0;                     // all elements
  bool all_strings = true;
  void Clear() {
    items.clear();
    count = 0;
    all_strings = true;
  }
};

std::string_view TrimTrailingSpace(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// simdjson on-demand only checks a number when it is converted, so tokens we
// do not convert (and the ones we convert with std::from_chars) are checked
// here.
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (IsDigit(s[i])) {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return i == n;
}

// 2..12 ASCII digits (Chinese administrative division, any level), or an
// ISO 3166 alpha-2 country code (two uppercase ASCII letters).
bool IsRegionCode(std::string_view s) {
  if (s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z')
    return true;
  if (s.size() < 2 || s.size() > 12) return false;
  return std::all_of(s.begin(), s.end(), IsDigit);
}

// Integer epoch milliseconds; floats, exponents and overflow are rejected.
std::optional<TimestampMs> ParseEpochMs(std::string_view token) {
  if (token.find_first_of(".eE") != std::string_view::npos) return std::nullopt;
  int64_t v = 0;
  const auto r = std::from_chars(token.data(), token.data() + token.size(), v);
  if (r.ec != std::errc() || r.ptr != token.data() + token.size())
    return std::nullopt;
  return v;
}

// Validates a JSON value we do not use (or a container we only type-check)
// by walking it with on-demand: numbers by grammar, strings by unescaping,
// literals by simdjson's atom checks. `depth` is the nesting level `value`
// has if it is a container.
bool ValidateValue(od::value value, size_t depth) {
  od::json_type type;
  if (value.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      if (depth > kMaxDepth) return false;
      od::object object;
      if (value.get_object().get(object)) return false;
      for (auto field_result : object) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) ||
            field.unescaped_key().get(key))
          return false;
        if (!ValidateValue(field.value(), depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::array: {
      if (depth > kMaxDepth) return false;
      od::array array;
      if (value.get_array().get(array)) return false;
      for (auto element_result : array) {
        od::value element;
        if (element_result.get(element)) return false;
        if (!ValidateValue(element, depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      return !value.get_string().get(s);
    }
    case od::json_type::number:
      return IsJsonNumber(TrimTrailingSpace(value.raw_json_token()));
    case od::json_type::boolean: {
      bool b;
      return !value.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      return !value.is_null().get(is_null) && is_null;
    }
  }
  return false;
}

void ResetEvent(Event* e) {
  e->event_id.clear();
  e->ts = 0;
  e->person_id.clear();
  e->venue_id.clear();
  e->code_color = CodeColor::kGreen;
  e->venue_kind = VenueKind::kOther;
  e->region.clear();
  e->hub_id.clear();
  e->mode = TransportMode::kRail;
  e->origin_region.clear();
  e->trip_regions.clear();
  e->category = TravelCategory::kDomestic;
  e->clinic_id.clear();
  e->temp_c = 0;
  e->symptoms.clear();
  e->community_id.clear();
  e->level = RiskLevel::kLow;
  e->has_ts = false;
  e->occupation = Occupation::kOther;
}

}  // namespace

struct EventParser::Impl {
  explicit Impl(size_t max_bytes)
      : max_message_bytes(max_bytes),
        buffer(new char[max_bytes + simdjson::SIMDJSON_PADDING]) {
    // Sized once so iterate() never allocates. Should this fail (out of
    // memory), iterate() retries and its failure surfaces as bad_json.
    const simdjson::error_code err =
        parser.allocate(max_bytes == 0 ? 1 : max_bytes);
    static_cast<void>(err);
    unknown_keys.reserve(16);
    for (ArrayCapture& a : arrays) a.items.reserve(kMaxCapturedItems);
  }

  bool Parse(std::string_view bytes, std::optional<EventType> forced_type,
             Event* out);

  // Stage 1: whole-message validity; fills slots/seen/arrays. False = bad_json.
  bool ScanDocument(std::string_view bytes);
  bool CaptureValue(int id, od::value value);
  bool CaptureArray(od::value value, ArrayCapture* capture);
  bool HasDuplicateUnknownKeys();

  // Stage 2: field rules in contract order. False = *reason set.
  bool Fail(std::string_view code, FieldId f) {
    reason->assign(code);
    reason->append(kFieldNames[f]);
    return false;
  }
  // The slot of a present, non-null field, else nullptr.
  const Slot* Get(FieldId f) const {
    if (!(seen & (1u << f)) || slots[f].kind == Kind::kNull) return nullptr;
    return &slots[f];
  }
  ArrayCapture& ArrayOf(FieldId f) {
    return arrays[f == kFTripRegions ? 0 : 1];
  }
  bool Id(FieldId f, bool required, std::string* dst);
  bool Region(FieldId f, bool required, std::string* dst);
  template <typename E>
  bool Enum(FieldId f, bool required, std::string_view (*name)(E), int count,
            E* dst);
  bool Ts(bool required, Event* out);
  bool TempC(Event* out);
  bool TripRegions(Event* out);
  bool Symptoms(Event* out);

  const size_t max_message_bytes;
  od::parser parser;
  std::unique_ptr<char[]> buffer;  // max_message_bytes + SIMDJSON_PADDING
  std::string* reason = nullptr;   // of the current Parse call

  uint32_t seen = 0;  // bit per FieldId present at top level
  std::array<Slot, kNumFields> slots;
  std::array<ArrayCapture, 2> arrays;  // trip_regions, symptoms
  std::vector<std::string_view> unknown_keys;
};

bool EventParser::Impl::ScanDocument(std::string_view bytes) {
  const size_t n = bytes.size();
  if (n == 0) return false;
  if (!simdjson::validate_utf8(bytes.data(), n)) return false;
  // A raw NUL is never valid JSON; checked up front so it cannot end a token.
  if (std::memchr(bytes.data(), '\0', n) != nullptr) return false;
  std::memcpy(buffer.get(), bytes.data(), n);
  std::memset(buffer.get() + n, 0, simdjson::SIMDJSON_PADDING);

  seen = 0;
  unknown_keys.clear();
  for (ArrayCapture& a : arrays) a.Clear();

  od::document doc;
  if (parser.iterate(buffer.get(), n, n + simdjson::SIMDJSON_PADDING).get(doc))
    return false;
  od::object object;
  if (doc.get_object().get(object)) return false;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key))
      return false;
    const int id = LookupField(key);
    if (id < 0) {
      unknown_keys.push_back(key);  // points into simdjson's string buffer
      if (!ValidateValue(field.value(), 2)) return false;
      continue;
    }
    const uint32_t bit = 1u << id;
    if (seen & bit) return false;  // duplicate key
    seen |= bit;
    if (!CaptureValue(id, field.value())) return false;
  }
  // Trailing content after the object ("{...}}", "{...} {...}").
  const char* location = nullptr;
  if (doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS)
    return false;
  return !HasDuplicateUnknownKeys();
}

bool EventParser::Impl::CaptureValue(int id, od::value value) {
  od::json_type type;
  if (value.type().get(type)) return false;
  Slot& slot = slots[id];
  switch (type) {
    case od::json_type::string:
      slot.kind = Kind::kString;
      return !value.get_string().get(slot.text);
    case od::json_type::number:
      slot.kind = Kind::kNumber;
      slot.text = TrimTrailingSpace(value.raw_json_token());
      return IsJsonNumber(slot.text);
    case od::json_type::array:
      slot.kind = Kind::kArray;
      if (id == kFTripRegions || id == kFSymptoms) {
        return CaptureArray(value, &ArrayOf(static_cast<FieldId>(id)));
      }
      return ValidateValue(value, 2);
    case od::json_type::object:
      slot.kind = Kind::kObject;
      return ValidateValue(value, 2);
    case od::json_type::boolean:
      slot.kind = Kind::kBool;
      return ValidateValue(value, 2);
    case od::json_type::null:
      slot.kind = Kind::kNull;
      return ValidateValue(value, 2);
  }
  return false;
}

bool EventParser::Impl::CaptureArray(od::value value, ArrayCapture* capture) {
  od::array array;
  if (value.get_array().get(array)) return false;
  for (auto element_result : array) {
    od::value element;
    od::json_type type;
    if (element_result.get(element) || element.type().get(type)) return false;
    ++capture->count;
    if (type == od::json_type::string) {
      std::string_view s;
      if (element.get_string().get(s)) return false;
      if (capture->items.size() < kMaxCapturedItems)
        capture->items.push_back(s);
    } else {
      capture->all_strings = false;
      if (!ValidateValue(element, 3)) return false;
    }
  }
  return true;
}

bool EventParser::Impl::HasDuplicateUnknownKeys() {
  const size_t n = unknown_keys.size();
  if (n < 2) return false;
  if (n <= 16) {
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = i + 1; j < n; ++j) {
        if (unknown_keys[i] == unknown_keys[j]) return true;
      }
    }
    return false;
  }
  // Many keys (up to ~13k in 64 KiB): sort instead of going quadratic.
  std::sort(unknown_keys.begin(), unknown_keys.end());
  return std::adjacent_find(unknown_keys.begin(), unknown_keys.end()) !=
         unknown_keys.end();
}

bool EventParser::Impl::Id(FieldId f, bool required, std::string* dst) {
  const Slot* s = Get(f);
  if (s == nullptr) return required ? Fail("missing_field:", f) : true;
  if (s->kind != Kind::kString) return Fail("bad_type:", f);
  if (s->text.empty() || s->text.size() > kMaxIdBytes)
    return Fail("out_of_range:", f);
  dst->assign(s->text);
  return true;
}

bool EventParser::Impl::Region(FieldId f, bool required, std::string* dst) {
  const Slot* s = Get(f);
  if (s == nullptr) return required ? Fail("missing_field:", f) : true;
  if (s->kind != Kind::kString) return Fail("bad_type:", f);
  if (!IsRegionCode(s->text)) return Fail("bad_value:", f);
  dst->assign(s->text);
  return true;
}

template <typename E>
bool EventParser::Impl::Enum(FieldId f, bool required,
                             std::string_view (*name)(E), int count, E* dst) {
  const Slot* s = Get(f);
  if (s == nullptr) return required ? Fail("missing_field:", f) : true;
  if (s->kind != Kind::kString) return Fail("bad_type:", f);
  for (int i = 0; i < count; ++i) {
    if (name(static_cast<E>(i)) == s->text) {
      *dst = static_cast<E>(i);
      return true;
    }
  }
  return Fail("bad_value:", f);
}

bool EventParser::Impl::Ts(bool required, Event* out) {
  const Slot* s = Get(kFTs);
  if (s == nullptr) return required ? Fail("missing_field:", kFTs) : true;
  std::optional<TimestampMs> ts;
  if (s->kind == Kind::kString) {
    ts = ParseRfc3339(s->text);
  } else if (s->kind == Kind::kNumber) {
    ts = ParseEpochMs(s->text);
  }
  if (!ts || *ts < 0 || *ts > kMaxTs) {
    reason->assign("bad_timestamp");
    return false;
  }
  out->ts = *ts;
  out->has_ts = true;
  return true;
}

bool EventParser::Impl::TempC(Event* out) {
  const Slot* s = Get(kFTempC);
  if (s == nullptr) return Fail("missing_field:", kFTempC);
  if (s->kind != Kind::kNumber) return Fail("bad_type:", kFTempC);
  double v = 0;
  const auto r =
      std::from_chars(s->text.data(), s->text.data() + s->text.size(), v);
  // result_out_of_range: 1e400 or 1e-400, outside the range either way.
  if (r.ec != std::errc() || !(v >= kMinTempC && v <= kMaxTempC)) {
    return Fail("out_of_range:", kFTempC);
  }
  out->temp_c = v;
  return true;
}

bool EventParser::Impl::TripRegions(Event* out) {
  const Slot* s = Get(kFTripRegions);
  if (s == nullptr) return true;
  const ArrayCapture& a = ArrayOf(kFTripRegions);
  if (s->kind != Kind::kArray || !a.all_strings)
    return Fail("bad_type:", kFTripRegions);
  if (a.count > kMaxTripRegions) return Fail("out_of_range:", kFTripRegions);
  for (std::string_view code : a.items) {
    if (!IsRegionCode(code)) return Fail("bad_value:", kFTripRegions);
  }
  for (std::string_view code : a.items) out->trip_regions.emplace_back(code);
  return true;
}

bool EventParser::Impl::Symptoms(Event* out) {
  const Slot* s = Get(kFSymptoms);
  if (s == nullptr) return true;
  const ArrayCapture& a = ArrayOf(kFSymptoms);
  if (s->kind != Kind::kArray || !a.all_strings)
    return Fail("bad_type:", kFSymptoms);
  if (a.count > kMaxSymptoms) return Fail("out_of_range:", kFSymptoms);
  for (std::string_view symptom : a.items) {
    if (symptom.size() > kMaxSymptomBytes)
      return Fail("out_of_range:", kFSymptoms);
  }
  for (std::string_view symptom : a.items) out->symptoms.emplace_back(symptom);
  return true;
}

bool EventParser::Impl::Parse(std::string_view bytes,
                              std::optional<EventType> forced_type,
                              Event* out) {
  if (bytes.size() > max_message_bytes) {
    reason->assign("too_large");
    return false;
  }
  if (!ScanDocument(bytes)) {
    reason->assign("bad_json");
    return false;
  }

  EventType type = EventType::kScan;
  if (forced_type.has_value()) {
    type = *forced_type;
  } else if (!Enum(kFType, true, &EventTypeName, kNumEventTypes, &type)) {
    return false;
  }

  ResetEvent(out);
  out->type = type;
  const bool table_person = type == EventType::kPerson;
  if (!Id(kFEventId, !table_person, &out->event_id)) return false;
  if (!Ts(!table_person, out)) return false;
  if (type != EventType::kRiskArea && !Id(kFPersonId, true, &out->person_id))
    return false;

  switch (type) {
    case EventType::kScan:
      return Id(kFVenueId, true, &out->venue_id) &&
             Enum(kFCodeColor, true, &CodeColorName, 3, &out->code_color) &&
             Enum(kFVenueKind, false, &VenueKindName, kNumVenueKinds,
                  &out->venue_kind) &&
             Region(kFRegion, false, &out->region);
    case EventType::kTransport:
      return Id(kFHubId, true, &out->hub_id) &&
             Enum(kFMode, true, &TransportModeName, 5, &out->mode) &&
             Region(kFOriginRegion, true, &out->origin_region) &&
             TripRegions(out) &&
             Enum(kFCategory, false, &TravelCategoryName, 2, &out->category);
    case EventType::kFever:
      return Id(kFClinicId, true, &out->clinic_id) && TempC(out) &&
             Symptoms(out) && Id(kFCommunityId, false, &out->community_id);
    case EventType::kRiskArea:
      return Region(kFRegion, true, &out->region) &&
             Enum(kFLevel, true, &RiskLevelName, 3, &out->level);
    case EventType::kPerson:
      return Id(kFCommunityId, false, &out->community_id) &&
             Enum(kFOccupation, false, &OccupationName, 4, &out->occupation);
  }
  reason->assign("bad_value:type");
  return false;
}

EventParser::EventParser(size_t max_message_bytes)
    : impl_(std::make_unique<Impl>(max_message_bytes)) {}

EventParser::~EventParser() = default;

bool EventParser::Parse(std::string_view bytes,
                        std::optional<EventType> forced_type, Event* out,
                        std::string* reason) {
  impl_->reason = reason;
  return impl_->Parse(bytes, forced_type, out);
}

}  // namespace epistream
