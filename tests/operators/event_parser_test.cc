#include "operators/event_parser.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>

#include "engine/event_time.h"

namespace epistream {
namespace {

constexpr std::string_view kScan =
    R"({"type":"scan","event_id":"e1","ts":"2022-09-20T08:15:03.123+08:00","person_id":"p1",)"
    R"("venue_id":"v1","code_color":"red","venue_kind":"test_site","region":"420106"})";
constexpr std::string_view kTransport =
    R"({"type":"transport","event_id":"t1","ts":1663632903123,"person_id":"p2","hub_id":"h1",)"
    R"("mode":"air","origin_region":"US","trip_regions":["420106","HK","4201"],)"
    R"("category":"inbound_released"})";
constexpr std::string_view kFever =
    R"({"type":"fever","event_id":"f1","ts":"2022-09-20T00:15:03Z","person_id":"p3",)"
    R"("clinic_id":"c1","temp_c":38.5,"symptoms":["cough","sore throat"],"community_id":"k1"})";
constexpr std::string_view kRiskArea =
    R"({"type":"risk_area","event_id":"r1","ts":"2022-09-18T00:00:00+08:00","region":"420106",)"
    R"("level":"high"})";
constexpr std::string_view kPerson =
    R"({"type":"person","person_id":"p4","community_id":"k2","occupation":"cold_chain"})";

// Concatenation without `const char* + std::string&&` (GCC 12 -Wrestrict
// false positive at -O3).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}

// 2022-09-20T00:15:03.123Z
constexpr TimestampMs kTs = 1663632903123;

class EventParserTest : public ::testing::Test {
 protected:
  // "ok" on success, else the reason code.
  std::string Parse(std::string_view json,
                    std::optional<EventType> type = std::nullopt) {
    reason_.clear();
    return parser_.Parse(json, type, &event_, &reason_) ? "ok" : reason_;
  }
  // `base` with the top-level field `key` replaced by `value` (raw JSON), or
  // removed when value is empty. The key must be present in base.
  static std::string With(std::string_view base, std::string_view key,
                          std::string_view value) {
    std::string s(base);
    const std::string quoted = Cat("\"", key, "\":");
    const size_t start = s.find(quoted);
    EXPECT_NE(start, std::string::npos) << key;
    size_t end = start + quoted.size();
    int depth = 0;
    bool in_string = false;
    for (; end < s.size(); ++end) {
      const char c = s[end];
      if (in_string) {
        if (c == '\\')
          ++end;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    if (!value.empty()) {
      s.replace(start + quoted.size(), end - start - quoted.size(), value);
      return s;
    }
    // Remove the member and one adjacent comma.
    if (s[end] == ',') return s.erase(start, end + 1 - start);
    return s.erase(start - 1, end - start + 1);
  }
  static std::string Without(std::string_view base, std::string_view key) {
    return With(base, key, "");
  }
  // Adds raw members (`"k":v,...`) after the opening brace.
  static std::string Prepend(std::string_view base, std::string_view members) {
    return Cat("{", members, ",", base.substr(1));
  }

  EventParser parser_;
  Event event_;
  std::string reason_;
};

TEST_F(EventParserTest, ScanAllFields) {
  ASSERT_EQ(Parse(kScan), "ok");
  EXPECT_EQ(event_.type, EventType::kScan);
  EXPECT_EQ(event_.event_id, "e1");
  EXPECT_EQ(event_.ts, kTs);
  EXPECT_TRUE(event_.has_ts);
  EXPECT_EQ(event_.person_id, "p1");
  EXPECT_EQ(event_.venue_id, "v1");
  EXPECT_EQ(event_.code_color, CodeColor::kRed);
  EXPECT_EQ(event_.venue_kind, VenueKind::kTestSite);
  EXPECT_EQ(event_.region, "420106");
  EXPECT_TRUE(event_.IsStreamEvent());
}

TEST_F(EventParserTest, TransportAllFields) {
  ASSERT_EQ(Parse(kTransport), "ok");
  EXPECT_EQ(event_.type, EventType::kTransport);
  EXPECT_EQ(event_.event_id, "t1");
  EXPECT_EQ(event_.ts, kTs);
  EXPECT_EQ(event_.person_id, "p2");
  EXPECT_EQ(event_.hub_id, "h1");
  EXPECT_EQ(event_.mode, TransportMode::kAir);
  EXPECT_EQ(event_.origin_region, "US");
  EXPECT_EQ(event_.trip_regions,
            (std::vector<std::string>{"420106", "HK", "4201"}));
  EXPECT_EQ(event_.category, TravelCategory::kInboundReleased);
}

TEST_F(EventParserTest, FeverAllFields) {
  ASSERT_EQ(Parse(kFever), "ok");
  EXPECT_EQ(event_.type, EventType::kFever);
  EXPECT_EQ(event_.event_id, "f1");
  EXPECT_EQ(event_.ts, kTs - 123);
  EXPECT_EQ(event_.person_id, "p3");
  EXPECT_EQ(event_.clinic_id, "c1");
  EXPECT_DOUBLE_EQ(event_.temp_c, 38.5);
  EXPECT_EQ(event_.symptoms,
            (std::vector<std::string>{"cough", "sore throat"}));
  EXPECT_EQ(event_.community_id, "k1");
}

TEST_F(EventParserTest, RiskAreaAllFields) {
  ASSERT_EQ(Parse(kRiskArea), "ok");
  EXPECT_EQ(event_.type, EventType::kRiskArea);
  EXPECT_EQ(event_.event_id, "r1");
  EXPECT_EQ(event_.ts,
            1663459200000 - 8 * kHourMs);  // 2022-09-18T00:00:00Z - 8 h
  EXPECT_TRUE(event_.has_ts);
  EXPECT_EQ(event_.region, "420106");
  EXPECT_EQ(event_.level, RiskLevel::kHigh);
  EXPECT_FALSE(event_.IsStreamEvent());
}

TEST_F(EventParserTest, PersonWithoutEventIdOrTs) {
  ASSERT_EQ(Parse(kPerson), "ok");
  EXPECT_EQ(event_.type, EventType::kPerson);
  EXPECT_EQ(event_.event_id, "");
  EXPECT_FALSE(event_.has_ts);
  EXPECT_EQ(event_.person_id, "p4");
  EXPECT_EQ(event_.community_id, "k2");
  EXPECT_EQ(event_.occupation, Occupation::kColdChain);
}

TEST_F(EventParserTest, PersonWithEventIdAndTs) {
  ASSERT_EQ(Parse(Prepend(kPerson, R"("event_id":"x9","ts":1663632903123)")),
            "ok");
  EXPECT_EQ(event_.event_id, "x9");
  EXPECT_TRUE(event_.has_ts);
  EXPECT_EQ(event_.ts, kTs);
  EXPECT_EQ(Parse(Prepend(kPerson, R"("ts":null)")), "ok");
  EXPECT_FALSE(event_.has_ts);
  EXPECT_EQ(Parse(Prepend(kPerson, R"("ts":"yesterday")")), "bad_timestamp");
  EXPECT_EQ(Parse(Prepend(kPerson, R"("event_id":"")")),
            "out_of_range:event_id");
}

TEST_F(EventParserTest, OptionalFieldsDefault) {
  ASSERT_EQ(Parse(Without(Without(kScan, "venue_kind"), "region")), "ok");
  EXPECT_EQ(event_.venue_kind, VenueKind::kOther);
  EXPECT_EQ(event_.region, "");
  ASSERT_EQ(Parse(Without(Without(kTransport, "trip_regions"), "category")),
            "ok");
  EXPECT_TRUE(event_.trip_regions.empty());
  EXPECT_EQ(event_.category, TravelCategory::kDomestic);
  ASSERT_EQ(Parse(Without(Without(kFever, "symptoms"), "community_id")), "ok");
  EXPECT_TRUE(event_.symptoms.empty());
  EXPECT_EQ(event_.community_id, "");
  ASSERT_EQ(Parse(Without(Without(kPerson, "community_id"), "occupation")),
            "ok");
  EXPECT_EQ(event_.occupation, Occupation::kOther);
}

TEST_F(EventParserTest, NullOptionalIsAbsent) {
  ASSERT_EQ(Parse(With(With(kScan, "venue_kind", "null"), "region", "null")),
            "ok");
  EXPECT_EQ(event_.venue_kind, VenueKind::kOther);
  EXPECT_EQ(event_.region, "");
  ASSERT_EQ(
      Parse(With(With(kFever, "symptoms", "null"), "community_id", "null")),
      "ok");
  EXPECT_TRUE(event_.symptoms.empty());
  ASSERT_EQ(
      Parse(With(With(kTransport, "trip_regions", "null"), "category", "null")),
      "ok");
  EXPECT_EQ(event_.category, TravelCategory::kDomestic);
  EXPECT_EQ(Parse(With(kPerson, "occupation", "null")), "ok");
}

TEST_F(EventParserTest, NullRequiredIsMissing) {
  EXPECT_EQ(Parse(With(kScan, "event_id", "null")), "missing_field:event_id");
  EXPECT_EQ(Parse(With(kScan, "ts", "null")), "missing_field:ts");
  EXPECT_EQ(Parse(With(kScan, "venue_id", "null")), "missing_field:venue_id");
  EXPECT_EQ(Parse(With(kScan, "type", "null")), "missing_field:type");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "null")), "missing_field:temp_c");
}

TEST_F(EventParserTest, ForcedTypeIgnoresTypeField) {
  ASSERT_EQ(Parse(With(kScan, "type", R"("fever")"), EventType::kScan), "ok");
  EXPECT_EQ(event_.type, EventType::kScan);
  EXPECT_EQ(Parse(With(kScan, "type", "42"), EventType::kScan), "ok");
  EXPECT_EQ(Parse(Without(kScan, "type"), EventType::kScan), "ok");
  // The forced type's rules apply, not the field's.
  EXPECT_EQ(Parse(kScan, EventType::kFever), "missing_field:clinic_id");
  ASSERT_EQ(Parse(Without(kRiskArea, "type"), EventType::kRiskArea), "ok");
  EXPECT_EQ(event_.type, EventType::kRiskArea);
}

TEST_F(EventParserTest, TypeFieldFaults) {
  EXPECT_EQ(Parse(Without(kScan, "type")), "missing_field:type");
  EXPECT_EQ(Parse(With(kScan, "type", "1")), "bad_type:type");
  EXPECT_EQ(Parse(With(kScan, "type", R"(["scan"])")), "bad_type:type");
  EXPECT_EQ(Parse(With(kScan, "type", R"("Scan")")), "bad_value:type");
  EXPECT_EQ(Parse(With(kScan, "type", R"("visit")")), "bad_value:type");
}

TEST_F(EventParserTest, TimestampOffsets) {
  const std::pair<const char*, TimestampMs> cases[] = {
      {R"("2022-09-20T08:15:03.123+08:00")", kTs},
      {R"("2022-09-20T00:15:03.123Z")", kTs},
      {R"("2022-09-20T00:15:03.123z")", kTs},
      {R"("2022-09-19T18:45:03.123-05:30")", kTs},
      {R"("2022-09-20t00:15:03.123456789Z")", kTs},
      {R"("2022-09-20T00:15:03Z")", kTs - 123},
      {R"("1970-01-01T00:00:00Z")", 0},
      {R"("9999-12-31T23:59:59.999Z")", 253402300799999},
  };
  for (const auto& [ts, expected] : cases) {
    ASSERT_EQ(Parse(With(kScan, "ts", ts)), "ok") << ts;
    EXPECT_EQ(event_.ts, expected) << ts;
  }
}

TEST_F(EventParserTest, TimestampEpochMillis) {
  ASSERT_EQ(Parse(With(kScan, "ts", "1663632903123")), "ok");
  EXPECT_EQ(event_.ts, kTs);
  ASSERT_EQ(Parse(With(kScan, "ts", "0")), "ok");
  EXPECT_EQ(event_.ts, 0);
  ASSERT_EQ(Parse(With(kScan, "ts", "253402300799999")), "ok");
  EXPECT_EQ(event_.ts, 253402300799999);
}

TEST_F(EventParserTest, BadTimestamps) {
  for (const char* ts :
       {"253402300800000", "-1", "1663632903123.0", "1.663632903123e12",
        "1e400", "99999999999999999999999", R"("1663632903123")",
        R"("2022-09-20")", R"("2022-09-20T08:15:03")",
        R"("2022-02-30T00:00:00Z")", R"("1969-12-31T23:59:59Z")",
        R"("9999-12-31T23:59:59-01:00")", R"("")", "true", "{}", "[]",
        R"({"ms":1663632903123})"}) {
    EXPECT_EQ(Parse(With(kScan, "ts", ts)), "bad_timestamp") << ts;
  }
  EXPECT_EQ(Parse(Without(kScan, "ts")), "missing_field:ts");
  EXPECT_EQ(Parse(Without(kRiskArea, "ts")), "missing_field:ts");
}

TEST_F(EventParserTest, UnknownFieldsIgnoredWhateverTheirNesting) {
  const std::string json = Prepend(
      kScan,
      R"("extra":{"a":[1,{"b":null,"b":[true,false]}],"c":"x\u00e9\n"},"n":-0.5e-3,)"
      R"("big":123456789012345678901234567890,"huge":1e400,"empty_obj":{},"empty_arr":[],)"
      R"("unicode":"\ud83d\ude00 中文","venue":"not venue_id")");
  ASSERT_EQ(Parse(json), "ok");
  EXPECT_EQ(event_.venue_id, "v1");
  // Fields of other types are unknown here too.
  EXPECT_EQ(Parse(Prepend(kScan,
                          R"("temp_c":"hot","mode":7,"trip_regions":{"a":1})")),
            "ok");
  // Nesting up to 64 containers (the top-level object is one) is fine.
  const std::string deep63 = std::string(63, '[') + std::string(63, ']');
  EXPECT_EQ(Parse(Prepend(kScan, Cat("\"deep\":", deep63))), "ok");
}

TEST_F(EventParserTest, MalformedUnknownFieldIsBadJson) {
  for (const char* member : {R"("x":[1,,2])",    R"("x":[1,])",
                             R"("x":01)",        R"("x":1.)",
                             R"("x":-)",         R"("x":+1)",
                             R"("x":.5)",        R"("x":1e)",
                             R"("x":"\q")",      R"("x":"\ud800")",
                             R"("x":tru)",       R"("x":nul)",
                             R"("x":truefalse)", R"("x":{"a" 1})",
                             R"("x":{"a":1,})",  R"("x":{1:2})",
                             R"("x":[1}])",      R"("x\ud800":1)",
                             R"("x":NaN)",       R"("x":Infinity)",
                             R"("x":'s')",       R"("x":"tab	inside")"}) {
    EXPECT_EQ(Parse(Prepend(kScan, member)), "bad_json") << member;
  }
}

TEST_F(EventParserTest, MalformedKnownFieldIsBadJsonNotFieldError) {
  // Whole-message validity comes before any field rule.
  EXPECT_EQ(Parse(With(kScan, "venue_id", "[1,,2]")), "bad_json");
  EXPECT_EQ(Parse(With(kScan, "event_id", R"("\x")")), "bad_json");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "38.")), "bad_json");
  EXPECT_EQ(Parse(With(kTransport, "trip_regions", R"(["4201",])")),
            "bad_json");
  EXPECT_EQ(Parse(Without(Prepend(kScan, R"("x":[1,,2])"), "event_id")),
            "bad_json");
}

TEST_F(EventParserTest, DuplicateTopLevelKeysAreBadJson) {
  EXPECT_EQ(Parse(Prepend(kScan, R"("event_id":"e1")")), "bad_json");
  EXPECT_EQ(Parse(Prepend(kScan, R"("venue_id":"v1")")), "bad_json");
  EXPECT_EQ(Parse(Prepend(kScan, R"("x":1,"x":2)")), "bad_json");
  // Escapes are resolved before comparing keys.
  EXPECT_EQ(Parse(Prepend(kScan, R"("x":1,"\u0078":2)")), "bad_json");
  EXPECT_EQ(Parse(Prepend(kScan, R"("ev\u0065nt_id":"e1")")), "bad_json");
  // Even the type key under a forced type.
  EXPECT_EQ(Parse(Prepend(kScan, R"("type":"fever")"), EventType::kScan),
            "bad_json");
  // Many unknown keys (sorted path) with one repeat, and without.
  std::string members;
  for (int i = 0; i < 40; ++i)
    members += Cat("\"k", std::to_string(i), "\":", std::to_string(i), ",");
  EXPECT_EQ(Parse(Prepend(kScan, members + "\"k17\":0")), "bad_json");
  EXPECT_EQ(Parse(Prepend(kScan, members + "\"k40\":0")), "ok");
  // Inside unknown nested objects duplicates are not checked.
  EXPECT_EQ(Parse(Prepend(kScan, R"("x":{"a":1,"a":2})")), "ok");
}

TEST_F(EventParserTest, EscapedKeysAndValuesAreUnescaped) {
  ASSERT_EQ(Parse(With(Prepend(Without(kScan, "venue_id"),
                               R"("venue_\u0069d":"v\"1\\\u4e2d")"),
                       "code_color", R"("gr\u0065en")")),
            "ok");
  EXPECT_EQ(event_.venue_id, "v\"1\\\xe4\xb8\xad");
  EXPECT_EQ(event_.code_color, CodeColor::kGreen);
}

TEST_F(EventParserTest, InvalidUtf8IsBadJson) {
  EXPECT_EQ(Parse(With(kScan, "venue_id", "\"v\xff\"")), "bad_json");
  EXPECT_EQ(Parse(With(kScan, "venue_id", "\"\xc0\xaf\"")),
            "bad_json");  // overlong '/'
  EXPECT_EQ(Parse(With(kScan, "venue_id", "\"\xed\xa0\x80\"")),
            "bad_json");  // surrogate
  EXPECT_EQ(Parse(With(kScan, "venue_id", "\"\xe4\xb8\"")),
            "bad_json");  // truncated
  EXPECT_EQ(Parse(Prepend(kScan, "\"x\xfe\":1")), "bad_json");
  ASSERT_EQ(Parse(With(kScan, "venue_id", "\"\xe4\xb8\xad\"")), "ok");
  EXPECT_EQ(event_.venue_id, "\xe4\xb8\xad");
}

TEST_F(EventParserTest, RawNulIsBadJson) {
  using namespace std::string_literals;
  EXPECT_EQ(Parse(With(kScan, "venue_id", "\"v\0\"1\""s)), "bad_json");
  EXPECT_EQ(Parse(std::string(kScan) + "\0"s), "bad_json");
  EXPECT_EQ(Parse("\0"s), "bad_json");
  EXPECT_EQ(Parse(Prepend(kScan, "\0\"x\":1"s)), "bad_json");
  // An escaped NUL is valid JSON.
  ASSERT_EQ(Parse(With(kScan, "venue_id", R"("v\u0000")")), "ok");
  EXPECT_EQ(event_.venue_id, std::string("v\0", 2));
}

TEST_F(EventParserTest, DeepNestingIsBadJson) {
  EXPECT_EQ(Parse(std::string(10000, '[')), "bad_json");
  EXPECT_EQ(Parse(std::string(10000, '[') + std::string(10000, ']')),
            "bad_json");
  EXPECT_EQ(Parse(Prepend(kScan, Cat("\"x\":", std::string(10000, '[')))),
            "bad_json");
  EXPECT_EQ(Parse(Prepend(kScan, Cat("\"x\":", std::string(10000, '['),
                                     std::string(10000, ']')))),
            "bad_json");
  std::string objects;
  for (int i = 0; i < 5000; ++i) objects += "{\"a\":";
  objects += Cat("1", std::string(5000, '}'));
  EXPECT_EQ(Parse(Prepend(kScan, Cat("\"x\":", objects))), "bad_json");
  // 65 containers deep (the top-level object counts).
  EXPECT_EQ(Parse(Prepend(kScan, Cat("\"x\":", std::string(64, '['),
                                     std::string(64, ']')))),
            "bad_json");
}

TEST_F(EventParserTest, NotAnObjectIsBadJson) {
  for (std::string_view json : {"",
                                " ",
                                "\n",
                                "[]",
                                "[{}]",
                                R"("scan")",
                                "1",
                                "null",
                                "true",
                                "{",
                                "}",
                                R"({"type":"scan")",
                                "{\"type\":\"scan\"\n",
                                "{}}",
                                "{} {}",
                                "{}x",
                                "{},",
                                "{}[]",
                                R"({"type" "scan"})",
                                R"({type:"scan"})",
                                R"({"type":"scan",})",
                                "\xef\xbb\xbf{}"}) {
    EXPECT_EQ(Parse(json), "bad_json") << json;
  }
  EXPECT_EQ(Parse(std::string(kScan) + "}"), "bad_json");
  EXPECT_EQ(Parse(std::string(kScan) + std::string(kScan)), "bad_json");
  // Whitespace around the object is fine (JSON Lines keep their '\n' or '\r').
  EXPECT_EQ(Parse(Cat(" \t", kScan, "\r\n ")), "ok");
  EXPECT_EQ(Parse("{}"), "missing_field:type");
}

TEST_F(EventParserTest, SizeBoundary) {
  constexpr size_t kMax = size_t{64} * 1024;
  std::string json = Prepend(kScan, R"("pad":"")");
  json.insert(json.find(R"("pad":"")") + 7, kMax - json.size(), 'x');
  ASSERT_EQ(json.size(), kMax);
  EXPECT_EQ(Parse(json), "ok");
  json.insert(json.find(R"("pad":")") + 7, 1, 'x');
  EXPECT_EQ(Parse(json), "too_large");
  // Size comes before JSON validity.
  EXPECT_EQ(Parse(std::string(kMax + 1, '[')), "too_large");
  EXPECT_EQ(Parse(std::string(size_t{10} * 1024 * 1024, '\xff')), "too_large");
}

TEST_F(EventParserTest, ConfiguredMaxSize) {
  EventParser small(200);
  std::string reason;
  std::string json = Prepend(kScan, R"("pad":"")");
  json.insert(json.find(R"("pad":"")") + 7, 200 - json.size(), 'x');
  EXPECT_TRUE(small.Parse(json, std::nullopt, &event_, &reason)) << reason;
  EXPECT_FALSE(small.Parse(json + " ", std::nullopt, &event_, &reason));
  EXPECT_EQ(reason, "too_large");
}

TEST_F(EventParserTest, HugeNumbers) {
  EXPECT_EQ(Parse(With(kFever, "temp_c", "1e400")), "out_of_range:temp_c");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "-1e400")), "out_of_range:temp_c");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "1e-400")), "out_of_range:temp_c");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "123456789012345678901234567890")),
            "out_of_range:temp_c");
  EXPECT_EQ(Parse(With(kScan, "ts", "18446744073709551616")), "bad_timestamp");
  EXPECT_EQ(Parse(Prepend(
                kScan, R"("n":1e99999,"m":-123456789012345678901234567890)")),
            "ok");
}

TEST_F(EventParserTest, MissingRequiredFields) {
  const std::pair<std::string_view, const char*> cases[] = {
      {kScan, "event_id"},
      {kScan, "ts"},
      {kScan, "person_id"},
      {kScan, "venue_id"},
      {kScan, "code_color"},
      {kTransport, "event_id"},
      {kTransport, "ts"},
      {kTransport, "person_id"},
      {kTransport, "hub_id"},
      {kTransport, "mode"},
      {kTransport, "origin_region"},
      {kFever, "event_id"},
      {kFever, "ts"},
      {kFever, "person_id"},
      {kFever, "clinic_id"},
      {kFever, "temp_c"},
      {kRiskArea, "event_id"},
      {kRiskArea, "ts"},
      {kRiskArea, "region"},
      {kRiskArea, "level"},
      {kPerson, "person_id"},
  };
  for (const auto& [base, field] : cases) {
    EXPECT_EQ(Parse(Without(base, field)),
              std::string("missing_field:") + field)
        << base;
  }
  // risk_area has no person_id.
  EXPECT_EQ(Parse(kRiskArea), "ok");
}

TEST_F(EventParserTest, BadTypes) {
  const std::pair<std::string_view, const char*> cases[] = {
      {kScan, "event_id"},           {kScan, "person_id"},
      {kScan, "venue_id"},           {kScan, "code_color"},
      {kScan, "venue_kind"},         {kScan, "region"},
      {kTransport, "hub_id"},        {kTransport, "mode"},
      {kTransport, "origin_region"}, {kTransport, "trip_regions"},
      {kTransport, "category"},      {kFever, "clinic_id"},
      {kFever, "symptoms"},          {kFever, "community_id"},
      {kRiskArea, "region"},         {kRiskArea, "level"},
      {kPerson, "person_id"},        {kPerson, "community_id"},
      {kPerson, "occupation"},
  };
  for (const auto& [base, field] : cases) {
    const std::string expected = std::string("bad_type:") + field;
    EXPECT_EQ(Parse(With(base, field, "17")), expected) << base;
    EXPECT_EQ(Parse(With(base, field, "true")), expected) << base;
    EXPECT_EQ(Parse(With(base, field, R"({"a":"b"})")), expected) << base;
  }
  EXPECT_EQ(Parse(With(kScan, "venue_id", R"(["v1"])")), "bad_type:venue_id");
  EXPECT_EQ(Parse(With(kFever, "temp_c", R"("38.5")")), "bad_type:temp_c");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "[38.5]")), "bad_type:temp_c");
  EXPECT_EQ(Parse(With(kTransport, "trip_regions", R"("420106")")),
            "bad_type:trip_regions");
  EXPECT_EQ(Parse(With(kTransport, "trip_regions", R"(["420106",420107])")),
            "bad_type:trip_regions");
  EXPECT_EQ(Parse(With(kTransport, "trip_regions", R"(["420106",null])")),
            "bad_type:trip_regions");
  EXPECT_EQ(Parse(With(kFever, "symptoms", R"(["cough",["fever"]])")),
            "bad_type:symptoms");
  EXPECT_EQ(Parse(With(kFever, "symptoms", R"("cough")")), "bad_type:symptoms");
}

TEST_F(EventParserTest, BadValues) {
  const std::tuple<std::string_view, const char*, const char*> cases[] = {
      {kScan, "code_color", R"("blue")"},
      {kScan, "code_color", R"("RED")"},
      {kScan, "venue_kind", R"("park")"},
      {kScan, "region", R"("4201a6")"},
      {kScan, "region", R"("4")"},
      {kScan, "region", R"("1234567890123")"},
      {kScan, "region", R"("us")"},
      {kScan, "region", R"("USA")"},
      {kScan, "region", R"("")"},
      {kScan, "region", R"(" 420106")"},
      {kScan, "region", R"("\uff14\uff12")"},  // full-width digits
      {kTransport, "mode", R"("bike")"},
      {kTransport, "origin_region", R"("CHN")"},
      {kTransport, "trip_regions", R"(["420106","Hubei"])"},
      {kTransport, "trip_regions", R"([""])"},
      {kTransport, "category", R"("quarantined")"},
      {kRiskArea, "region", R"("U1")"},
      {kRiskArea, "level", R"("extreme")"},
      {kPerson, "occupation", R"("chef")"},
  };
  for (const auto& [base, field, value] : cases) {
    EXPECT_EQ(Parse(With(base, field, value)),
              std::string("bad_value:") + field)
        << value;
  }
  EXPECT_EQ(Parse(With(kScan, "region", R"("12")")), "ok");
  EXPECT_EQ(Parse(With(kScan, "region", R"("123456789012")")), "ok");
  EXPECT_EQ(Parse(With(kTransport, "trip_regions", "[]")), "ok");
}

TEST_F(EventParserTest, EveryEnumValueParses) {
  for (int i = 0; i < kNumVenueKinds; ++i) {
    const auto kind = static_cast<VenueKind>(i);
    const std::string value = Cat("\"", VenueKindName(kind), "\"");
    ASSERT_EQ(Parse(With(kScan, "venue_kind", value)), "ok") << value;
    EXPECT_EQ(event_.venue_kind, kind);
  }
  for (int i = 0; i < 5; ++i) {
    const auto mode = static_cast<TransportMode>(i);
    ASSERT_EQ(Parse(With(kTransport, "mode",
                         Cat("\"", TransportModeName(mode), "\""))),
              "ok");
    EXPECT_EQ(event_.mode, mode);
  }
  for (const char* color : {"green", "yellow", "red"}) {
    EXPECT_EQ(
        Parse(With(kScan, "code_color", std::string("\"") + color + "\"")),
        "ok");
  }
  for (const char* level : {"high", "medium", "low"}) {
    EXPECT_EQ(Parse(With(kRiskArea, "level", std::string("\"") + level + "\"")),
              "ok");
  }
  for (const char* occupation :
       {"cold_chain", "medical", "transport", "other"}) {
    EXPECT_EQ(Parse(With(kPerson, "occupation",
                         std::string("\"") + occupation + "\"")),
              "ok");
  }
  EXPECT_EQ(Parse(With(kTransport, "category", R"("domestic")")), "ok");
}

TEST_F(EventParserTest, OutOfRange) {
  const std::string id64 = Cat("\"", std::string(64, 'i'), "\"");
  const std::string id65 = Cat("\"", std::string(65, 'i'), "\"");
  for (const auto& [base, field] : {std::pair{kScan, "event_id"},
                                    {kScan, "person_id"},
                                    {kScan, "venue_id"},
                                    {kTransport, "hub_id"},
                                    {kFever, "clinic_id"},
                                    {kFever, "community_id"},
                                    {kPerson, "community_id"}}) {
    const std::string expected = std::string("out_of_range:") + field;
    EXPECT_EQ(Parse(With(base, field, R"("")")), expected) << base;
    EXPECT_EQ(Parse(With(base, field, id65)), expected) << base;
    EXPECT_EQ(Parse(With(base, field, id64)), "ok") << base;
  }
  // Lengths are in bytes: 22 three-byte characters are 66 bytes.
  std::string wide = "\"";
  for (int i = 0; i < 22; ++i) wide += "\xe4\xb8\xad";
  EXPECT_EQ(Parse(With(kScan, "person_id", wide + "\"")),
            "out_of_range:person_id");

  EXPECT_EQ(Parse(With(kFever, "temp_c", "29.99")), "out_of_range:temp_c");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "45.01")), "out_of_range:temp_c");
  EXPECT_EQ(Parse(With(kFever, "temp_c", "-37")), "out_of_range:temp_c");
  ASSERT_EQ(Parse(With(kFever, "temp_c", "30")), "ok");
  EXPECT_DOUBLE_EQ(event_.temp_c, 30.0);
  ASSERT_EQ(Parse(With(kFever, "temp_c", "4.5e1")), "ok");
  EXPECT_DOUBLE_EQ(event_.temp_c, 45.0);

  auto array_of = [](int n, const std::string& item) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + item;
    return s + "]";
  };
  EXPECT_EQ(
      Parse(With(kTransport, "trip_regions", array_of(64, R"("420106")"))),
      "ok");
  EXPECT_EQ(event_.trip_regions.size(), 64u);
  EXPECT_EQ(
      Parse(With(kTransport, "trip_regions", array_of(65, R"("420106")"))),
      "out_of_range:trip_regions");
  EXPECT_EQ(Parse(With(kFever, "symptoms", array_of(32, R"("cough")"))), "ok");
  EXPECT_EQ(event_.symptoms.size(), 32u);
  EXPECT_EQ(Parse(With(kFever, "symptoms", array_of(33, R"("cough")"))),
            "out_of_range:symptoms");
  EXPECT_EQ(Parse(With(kFever, "symptoms", Cat("[", id64, "]"))), "ok");
  EXPECT_EQ(Parse(With(kFever, "symptoms", Cat("[", id65, "]"))),
            "out_of_range:symptoms");
}

TEST_F(EventParserTest, FirstFaultInContractOrderWins) {
  // Missing event_id beats a bad venue.
  EXPECT_EQ(Parse(Without(With(kScan, "venue_id", "1"), "event_id")),
            "missing_field:event_id");
  // event_id before ts before person_id.
  EXPECT_EQ(Parse(With(With(kScan, "event_id", "1"), "ts", "true")),
            "bad_type:event_id");
  EXPECT_EQ(Parse(Without(With(kScan, "ts", "1.5"), "person_id")),
            "bad_timestamp");
  EXPECT_EQ(Parse(With(Without(kScan, "person_id"), "code_color", R"("blue")")),
            "missing_field:person_id");
  // Type first (files), before the common fields.
  EXPECT_EQ(Parse(Without(With(kScan, "type", R"("x")"), "event_id")),
            "bad_value:type");
  // The type's fields in contract order, whatever their order in the message.
  EXPECT_EQ(
      Parse(
          R"({"code_color":"blue","venue_id":7,"person_id":"p","ts":0,"event_id":"e",)"
          R"("type":"scan"})"),
      "bad_type:venue_id");
  EXPECT_EQ(Parse(With(With(kScan, "code_color", R"("blue")"), "venue_kind",
                       R"("park")")),
            "bad_value:code_color");
  EXPECT_EQ(Parse(With(With(kScan, "venue_kind", R"("park")"), "region", "5")),
            "bad_value:venue_kind");
  EXPECT_EQ(Parse(With(With(kTransport, "mode", R"("x")"), "origin_region",
                       R"("x")")),
            "bad_value:mode");
  EXPECT_EQ(Parse(With(With(kTransport, "trip_regions", R"(["x"])"), "category",
                       "1")),
            "bad_value:trip_regions");
  EXPECT_EQ(Parse(With(Without(kFever, "clinic_id"), "temp_c", "99")),
            "missing_field:clinic_id");
  EXPECT_EQ(Parse(With(With(kFever, "temp_c", "99"), "symptoms", "1")),
            "out_of_range:temp_c");
  EXPECT_EQ(Parse(With(With(kFever, "symptoms", "1"), "community_id", "1")),
            "bad_type:symptoms");
  EXPECT_EQ(Parse(With(With(kRiskArea, "region", R"("x")"), "level", R"("x")")),
            "bad_value:region");
  EXPECT_EQ(Parse(With(With(kPerson, "community_id", "1"), "occupation", "1")),
            "bad_type:community_id");
  // trip_regions: shape (type, then count) before content.
  std::string many = "[\"x\"";
  for (int i = 0; i < 64; ++i) many += ",\"420106\"";
  EXPECT_EQ(Parse(With(kTransport, "trip_regions", many + "]")),
            "out_of_range:trip_regions");
  EXPECT_EQ(Parse(With(kTransport, "trip_regions", many + ",1]")),
            "bad_type:trip_regions");
  // Whole-message faults before field faults, size before everything.
  EXPECT_EQ(Parse(Prepend(Without(kScan, "event_id"), R"("x":1,"x":1)")),
            "bad_json");
}

TEST_F(EventParserTest, ReusedEventKeepsNoStaleFields) {
  ASSERT_EQ(Parse(kTransport), "ok");
  ASSERT_EQ(Parse(kFever), "ok");
  EXPECT_TRUE(event_.trip_regions.empty());
  EXPECT_EQ(event_.hub_id, "");
  EXPECT_EQ(event_.origin_region, "");
  EXPECT_EQ(event_.mode, TransportMode::kRail);
  EXPECT_EQ(event_.category, TravelCategory::kDomestic);

  ASSERT_EQ(Parse(kScan), "ok");
  EXPECT_EQ(event_.clinic_id, "");
  EXPECT_EQ(event_.temp_c, 0.0);
  EXPECT_TRUE(event_.symptoms.empty());
  EXPECT_EQ(event_.community_id, "");

  // A failed parse in between does not leak into the next success.
  EXPECT_EQ(Parse(Without(kRiskArea, "level")), "missing_field:level");
  ASSERT_EQ(Parse(kPerson), "ok");
  EXPECT_EQ(event_.event_id, "");
  EXPECT_FALSE(event_.has_ts);
  EXPECT_EQ(event_.ts, 0);
  EXPECT_EQ(event_.venue_id, "");
  EXPECT_EQ(event_.region, "");
  EXPECT_EQ(event_.code_color, CodeColor::kGreen);
  EXPECT_EQ(event_.venue_kind, VenueKind::kOther);

  ASSERT_EQ(Parse(Without(Without(kScan, "region"), "venue_kind")), "ok");
  EXPECT_EQ(event_.occupation, Occupation::kOther);
  EXPECT_EQ(event_.level, RiskLevel::kLow);
  EXPECT_EQ(event_.person_id, "p1");
  EXPECT_EQ(event_.region, "");
}

TEST_F(EventParserTest, ReusedStringsKeepCapacity) {
  ASSERT_EQ(
      Parse(With(kScan, "venue_id", Cat("\"", std::string(60, 'v'), "\""))),
      "ok");
  const size_t capacity = event_.venue_id.capacity();
  ASSERT_EQ(Parse(kPerson), "ok");
  EXPECT_TRUE(event_.venue_id.empty());
  EXPECT_EQ(event_.venue_id.capacity(), capacity);
}

TEST_F(EventParserTest, ManyMessagesInARow) {
  // The parser's buffers are reused: a long message then a short one must
  // not see leftovers of the first.
  std::string long_json =
      Prepend(kScan, Cat("\"pad\":\"", std::string(50000, 'x'), "\""));
  ASSERT_EQ(Parse(long_json), "ok");
  EXPECT_EQ(Parse(R"({"type":"scan"})"), "missing_field:event_id");
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(Parse(i % 2 ? kFever : kTransport), "ok");
  }
  EXPECT_EQ(event_.type, EventType::kFever);
}

// Differential check against simdjson's DOM parser (full validation) on
// randomly damaged messages: whatever the DOM rejects as malformed is
// bad_json here, and a well-formed object is never bad_json unless it repeats
// a top-level key. Every result is a known reason code; nothing crashes.
TEST_F(EventParserTest, RandomDamageAgreesWithFullValidation) {
  const std::string_view bases[] = {kScan, kTransport, kFever, kRiskArea,
                                    kPerson};
  const std::string_view codes[] = {
      "ok",         "bad_json",      "missing_field:", "bad_type:",
      "bad_value:", "out_of_range:", "bad_timestamp"};
  const char kAlphabet[] =
      "{}[]\",:0123456789.eE-+ \t\\nulrfasxu\x01\x7f\xc3\xa9";
  std::mt19937 rng(20220920);
  simdjson::dom::parser dom;
  int bad_json = 0, accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string json(bases[rng() % 5]);
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !json.empty(); ++e) {
      const size_t pos = rng() % json.size();
      const char c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      switch (rng() % 3) {
        case 0:
          json[pos] = c;
          break;
        case 1:
          json.insert(pos, 1, c);
          break;
        default:
          json.erase(pos, 1);
          break;
      }
    }
    const std::string result = Parse(json);
    bool known = false;
    for (std::string_view code : codes) known |= result.rfind(code, 0) == 0;
    ASSERT_TRUE(known) << result << " for " << json;

    simdjson::dom::element root;
    const simdjson::error_code error = dom.parse(json).get(root);
    bad_json += result == "bad_json";
    accepted += result == "ok";
    // simdjson's DOM rejects numbers like 1e400 that JSON allows.
    if (error == simdjson::NUMBER_ERROR ||
        error == simdjson::NUMBER_OUT_OF_RANGE)
      continue;
    if (error != simdjson::SUCCESS || !root.is_object()) {
      ASSERT_EQ(result, "bad_json")
          << json << " dom: " << simdjson::error_message(error);
      continue;
    }
    std::set<std::string_view> keys;
    bool duplicate = false;
    simdjson::dom::object object;
    ASSERT_EQ(root.get_object().get(object), simdjson::SUCCESS);
    for (auto field : object) {
      duplicate |= !keys.insert(field.key).second;
    }
    if (duplicate) {
      ASSERT_EQ(result, "bad_json") << json;
    } else {
      ASSERT_NE(result, "bad_json") << json;
    }
  }
  RecordProperty("accepted", accepted);
  RecordProperty("bad_json", bad_json);
  // The damage is varied enough to exercise both sides.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(bad_json, 100);
}

}  // namespace
}  // namespace epistream
