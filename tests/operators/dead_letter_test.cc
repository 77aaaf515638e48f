#include "operators/dead_letter.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

#include "engine/json_writer.h"

namespace epistream {
namespace {

class DeadLetterTest : public ::testing::Test {
 protected:
  static DeadLetter Letter(std::string original) {
    DeadLetter letter;
    letter.reason = "missing_field:venue_id";
    letter.topic = "epi.scans";
    letter.partition = 3;
    letter.offset = 1234567890123;
    letter.original = std::move(original);
    return letter;
  }
  // Parses the output back (simdjson DOM, tests only) and returns the string
  // field `key`, or "<absent>".
  std::string StringField(const std::string& json, const char* key) {
    simdjson::dom::element root;
    EXPECT_EQ(parser_.parse(json).get(root), simdjson::SUCCESS)
        << json.substr(0, 200);
    std::string_view value;
    if (root[key].get_string().get(value) != simdjson::SUCCESS)
      return "<absent>";
    return std::string(value);
  }

  simdjson::dom::parser parser_;
};

TEST_F(DeadLetterTest, Utf8OriginalIsAString) {
  const std::string json = DeadLetterToJson(Letter(R"({"venue":"中","n":1})"));
  EXPECT_EQ(
      json,
      R"({"reason":"missing_field:venue_id","topic":"epi.scans","partition":3,)"
      R"("offset":1234567890123,"original":"{\"venue\":\"中\",\"n\":1}"})");
  EXPECT_EQ(StringField(json, "original"), R"({"venue":"中","n":1})");
}

TEST_F(DeadLetterTest, ControlCharactersAreEscaped) {
  using namespace std::string_literals;
  const std::string original = "line1\nline2\t\"q\"\\\x01\0end"s;
  ASSERT_EQ(original.size(), 21u);
  const std::string json = DeadLetterToJson(Letter(original));
  EXPECT_TRUE(IsValidUtf8(json));
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(json.find('\0'), std::string::npos);
  EXPECT_EQ(StringField(json, "original"), original);
}

TEST_F(DeadLetterTest, InvalidUtf8OriginalIsBase64) {
  const std::string json = DeadLetterToJson(Letter("\xff\xfe{}"));
  EXPECT_EQ(
      json,
      R"({"reason":"missing_field:venue_id","topic":"epi.scans","partition":3,)"
      R"("offset":1234567890123,"original_base64":"//57fQ=="})");
  EXPECT_EQ(StringField(json, "original"), "<absent>");
  // A lone surrogate and an overlong encoding are not UTF-8 either.
  EXPECT_NE(DeadLetterToJson(Letter("a\xed\xa0\x80")).find("original_base64"),
            std::string::npos);
  EXPECT_NE(DeadLetterToJson(Letter("\xc0\xaf")).find("original_base64"),
            std::string::npos);
}

TEST_F(DeadLetterTest, EmptyOriginal) {
  const std::string json = DeadLetterToJson(Letter(""));
  EXPECT_NE(json.find(R"("original":"")"), std::string::npos);
  EXPECT_EQ(json.find("truncated"), std::string::npos);
}

TEST_F(DeadLetterTest, ExactlyMaxIsKeptWhole) {
  const std::string original(kDeadLetterMaxOriginalBytes, 'a');
  const std::string json = DeadLetterToJson(Letter(original));
  EXPECT_EQ(StringField(json, "original"), original);
  EXPECT_EQ(json.find("truncated"), std::string::npos);
}

TEST_F(DeadLetterTest, HugeMessageIsTruncated) {
  DeadLetter letter = Letter(std::string(size_t{10} * 1024 * 1024, 'a'));
  letter.reason = "too_large";
  const std::string json = DeadLetterToJson(letter);
  EXPECT_LT(json.size(), kDeadLetterMaxOriginalBytes + 200);
  EXPECT_EQ(StringField(json, "original"),
            std::string(kDeadLetterMaxOriginalBytes, 'a'));
  EXPECT_EQ(json.substr(json.size() - 18), R"(,"truncated":true})");
  EXPECT_EQ(
      json.rfind(R"({"reason":"too_large","topic":"epi.scans","partition":3,)",
                 0),
      0u);
}

TEST_F(DeadLetterTest, TruncationDoesNotSplitACodePoint) {
  // 65535 ASCII bytes then a 3-byte character straddling the 64 KiB limit.
  std::string original(kDeadLetterMaxOriginalBytes - 1, 'a');
  original += "\xe4\xb8\xad";
  original += std::string(100, 'b');
  const std::string json = DeadLetterToJson(Letter(original));
  EXPECT_EQ(StringField(json, "original"),
            std::string(kDeadLetterMaxOriginalBytes - 1, 'a'));
  EXPECT_NE(json.find(R"("truncated":true)"), std::string::npos);
}

TEST_F(DeadLetterTest, HugeBinaryMessageIsTruncatedBase64) {
  std::string original(size_t{200} * 1024, '\xff');
  const std::string json = DeadLetterToJson(Letter(original));
  const std::string encoded = StringField(json, "original_base64");
  EXPECT_EQ(encoded,
            Base64Encode(original.substr(0, kDeadLetterMaxOriginalBytes)));
  EXPECT_EQ(encoded.size(), (kDeadLetterMaxOriginalBytes + 2) / 3 * 4);
  EXPECT_NE(json.find(R"("truncated":true)"), std::string::npos);
}

TEST_F(DeadLetterTest, InvalidBytesAfterTheLimitDoNotMatter) {
  // Only the kept prefix decides between text and base64.
  std::string original(kDeadLetterMaxOriginalBytes, 'a');
  original += "\xff";
  const std::string json = DeadLetterToJson(Letter(original));
  EXPECT_EQ(StringField(json, "original"),
            std::string(kDeadLetterMaxOriginalBytes, 'a'));
}

TEST_F(DeadLetterTest, NegativeAndLargeNumbers) {
  DeadLetter letter = Letter("{}");
  letter.partition = -1;
  letter.offset = INT64_MAX;
  EXPECT_NE(DeadLetterToJson(letter).find(
                R"("partition":-1,"offset":9223372036854775807,)"),
            std::string::npos);
}

}  // namespace
}  // namespace epistream
