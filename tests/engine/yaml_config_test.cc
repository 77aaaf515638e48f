#include "engine/yaml_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

TEST(DurationTest, ParsesUnitsAndCompounds) {
  EXPECT_EQ(ParseDuration("500ms"), 500);
  EXPECT_EQ(ParseDuration("30s"), 30 * kSecondMs);
  EXPECT_EQ(ParseDuration("5m"), 5 * kMinuteMs);
  EXPECT_EQ(ParseDuration("1h"), kHourMs);
  EXPECT_EQ(ParseDuration("14d"), 14 * kDayMs);
  EXPECT_EQ(ParseDuration("2w"), 14 * kDayMs);
  EXPECT_EQ(ParseDuration("1h30m"), 90 * kMinuteMs);
  EXPECT_EQ(ParseDuration("1s500ms"), 1500);
  EXPECT_EQ(ParseDuration("0"), 0);
  EXPECT_EQ(ParseDuration("0s"), 0);
}

TEST(DurationTest, RejectsBadInput) {
  for (const char* bad :
       {"", "abc", "5", "-5m", "+5m", "5 m", "5M", "m", "1.5h", "5mm", "1h 30m",
        "99999999999999999999d", "9999999999999d"}) {
    EXPECT_EQ(ParseDuration(bad), std::nullopt) << bad;
  }
}

TEST(DurationTest, FormatRoundTrips) {
  EXPECT_EQ(FormatDuration(21 * kDayMs), "21d");
  EXPECT_EQ(FormatDuration(90 * kMinuteMs), "1h30m");
  EXPECT_EQ(FormatDuration(1500), "1s500ms");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(-5 * kMinuteMs), "-5m");
  for (DurationMs d : {DurationMs{1}, kSecondMs, 25 * kHourMs + 1,
                       14 * kDayMs + 3 * kMinuteMs}) {
    EXPECT_EQ(ParseDuration(FormatDuration(d)), d) << FormatDuration(d);
  }
}

TEST(SizeTest, ParsesAndFormats) {
  EXPECT_EQ(ParseSize("65536"), 65536u);
  EXPECT_EQ(ParseSize("64KiB"), 65536u);
  EXPECT_EQ(ParseSize("256MiB"), 256ull << 20);
  EXPECT_EQ(ParseSize("256 MiB"), 256ull << 20);
  EXPECT_EQ(ParseSize("1GiB"), 1ull << 30);
  EXPECT_EQ(ParseSize("2TiB"), 2ull << 40);
  EXPECT_EQ(ParseSize("10MB"), 10'000'000u);
  EXPECT_EQ(ParseSize("7B"), 7u);
  for (const char* bad : {"", "MiB", "-1", "1.5GiB", "1 GiB ", "1  GiB", "1gib",
                          "1Mi", "20000000TiB", "99999999999999999999"}) {
    EXPECT_EQ(ParseSize(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(FormatSize(256ull << 20), "256MiB");
  EXPECT_EQ(FormatSize(64 * 1024), "64KiB");
  EXPECT_EQ(FormatSize(1ull << 30), "1GiB");
  EXPECT_EQ(FormatSize(1000), "1000");
  EXPECT_EQ(FormatSize(0), "0");
}

class YamlSectionTest : public ::testing::Test {
 protected:
  // Parses `text` and returns section `name` of it.
  YamlSection Open(const std::string& text, const std::string& name) {
    Result<YamlSection> root = YamlSection::Root(text, "f.yaml");
    EXPECT_OK(root.status());
    Result<YamlSection> s = root->Section(name);
    EXPECT_OK(s.status());
    return std::move(s).value();
  }
};

TEST_F(YamlSectionTest, ReadsTypedValues) {
  YamlSection s = Open(
      "s:\n"
      "  name: abc\n"
      "  number: -12\n"
      "  count: +7\n"
      "  small: 9\n"
      "  ratio: 0.25\n"
      "  on: true\n"
      "  wait: 1h\n"
      "  size: 2MiB\n"
      "  props: {a: 1, b: x, c: false}\n",
      "s");
  std::string name;
  int64_t number = 0;
  uint64_t count = 0;
  uint32_t small = 0;
  double ratio = 0;
  bool on = false;
  DurationMs wait = 0;
  uint64_t size = 0;
  std::map<std::string, std::string> props = {{"stale", "x"}};
  ASSERT_OK(s.String("name", &name));
  ASSERT_OK(s.Int("number", &number));
  ASSERT_OK(s.Uint("count", &count));
  ASSERT_OK(s.Uint("small", &small, 1, 10));
  ASSERT_OK(s.Double("ratio", &ratio, 0, 1));
  ASSERT_OK(s.Bool("on", &on));
  ASSERT_OK(s.Duration("wait", &wait));
  ASSERT_OK(s.Size("size", &size));
  ASSERT_OK(s.StringMap("props", &props));
  ASSERT_OK(s.Finish());
  EXPECT_EQ(name, "abc");
  EXPECT_EQ(number, -12);
  EXPECT_EQ(count, 7u);
  EXPECT_EQ(small, 9u);
  EXPECT_DOUBLE_EQ(ratio, 0.25);
  EXPECT_TRUE(on);
  EXPECT_EQ(wait, kHourMs);
  EXPECT_EQ(size, 2ull << 20);
  const std::map<std::string, std::string> want = {
      {"a", "1"}, {"b", "x"}, {"c", "false"}};
  EXPECT_EQ(props, want);
}

TEST_F(YamlSectionTest, AbsentKeysKeepDefaults) {
  YamlSection s = Open("s:\n  other: 1\n", "s");
  std::string name = "dflt";
  DurationMs wait = 5 * kMinuteMs;
  ASSERT_OK(s.String("name", &name));
  ASSERT_OK(s.Duration("wait", &wait));
  EXPECT_EQ(name, "dflt");
  EXPECT_EQ(wait, 5 * kMinuteMs);
  const Status st = s.Finish();
  EXPECT_EQ(st.message(),
            "f.yaml:2: s.other: unknown key (expected one of: name, wait)");
}

TEST_F(YamlSectionTest, AbsentOrNullSectionIsEmpty) {
  Result<YamlSection> root = YamlSection::Root("a:\n# b: 1\nc: 2\n", "f.yaml");
  ASSERT_OK(root.status());
  Result<YamlSection> a = root->Section("a");
  ASSERT_OK(a.status());
  ASSERT_OK(a->Finish());
  Result<YamlSection> missing = root->Section("missing");
  ASSERT_OK(missing.status());
  EXPECT_EQ(missing->PathOf("x"), "missing.x");
  int64_t c = 0;
  ASSERT_OK(root->Int("c", &c));
  ASSERT_OK(root->Finish());
}

TEST_F(YamlSectionTest, ErrorsNameFileLineAndPath) {
  YamlSection s =
      Open("\n\ns:\n  n: 11\n  d: 3 days\n  big: 99999999999999999999\n", "s");
  int n = 0;
  EXPECT_EQ(s.Int("n", &n, 0, 10).message(),
            "f.yaml:4: s.n: must be between 0 and 10, got 11");
  DurationMs d = 7 * kDayMs;
  EXPECT_EQ(s.Duration("d", &d).message(),
            "f.yaml:5: s.d: expected a duration like \"7d\", got \"3 days\" "
            "(units: ms, s, m, h, d, w)");
  EXPECT_EQ(d, 7 * kDayMs);  // unchanged on error
  int64_t big = 0;
  EXPECT_EQ(s.Int("big", &big).message(),
            "f.yaml:6: s.big: must be between -9223372036854775808 and "
            "9223372036854775807, "
            "got 99999999999999999999");
  EXPECT_EQ(s.Invalid("n", "too odd").message(), "f.yaml:4: s.n: too odd");
  EXPECT_EQ(s.Invalid("absent", "needed").message(),
            "f.yaml:4: s.absent: needed");
}

TEST_F(YamlSectionTest, UintRejectsNegative) {
  YamlSection s = Open("s:\n  n: -3\n  m: 1e3\n", "s");
  uint64_t n = 0;
  EXPECT_EQ(
      s.Uint("n", &n).message(),
      "f.yaml:2: s.n: must be between 0 and 18446744073709551615, got -3");
  EXPECT_EQ(s.Uint("m", &n).message(),
            "f.yaml:3: s.m: expected a non-negative integer, got \"1e3\"");
}

TEST_F(YamlSectionTest, DurationMinimum) {
  YamlSection s = Open("s:\n  a: 10m\n  b: 0\n", "s");
  DurationMs a = kHourMs, b = kSecondMs;
  EXPECT_EQ(s.Duration("a", &a, kHourMs).message(),
            "f.yaml:2: s.a: must be at least 1h, got \"10m\"");
  ASSERT_OK(s.Duration("b", &b));
  EXPECT_EQ(b, 0);
}

TEST_F(YamlSectionTest, SizeMinimumAndType) {
  YamlSection s = Open("s:\n  a: 0\n  b: [1]\n", "s");
  uint64_t a = 10, b = 10;
  EXPECT_EQ(s.Size("a", &a, 1).message(),
            "f.yaml:2: s.a: must be at least 1, got \"0\"");
  EXPECT_EQ(s.Size("b", &b).message(),
            "f.yaml:3: s.b: expected a size like \"10\", got a list");
}

TEST_F(YamlSectionTest, DuplicateKeysAreErrors) {
  Result<YamlSection> root = YamlSection::Root("a: 1\nb: 2\na: 3\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().message(),
            "f.yaml:3: a: duplicate key (first at line 1)");
}

TEST_F(YamlSectionTest, SyntaxErrorHasLine) {
  Result<YamlSection> root =
      YamlSection::Root("a: 1\nb: c: d\ne: 2\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().message().rfind("f.yaml:2: invalid YAML: ", 0), 0u)
      << root.status().message();
}

TEST_F(YamlSectionTest, NonScalarKeysAreErrors) {
  Result<YamlSection> root = YamlSection::Root("? [a, b]\n: 1\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().message(),
            "f.yaml:1: keys must be plain strings, got a list");
}

TEST(ConfigErrorTest, Format) {
  EXPECT_EQ(ConfigError("c.yaml", 12, "state.retention", "bad").message(),
            "c.yaml:12: state.retention: bad");
  EXPECT_EQ(ConfigError("c.yaml", 0, "", "bad").message(), "c.yaml: bad");
}

}  // namespace
}  // namespace epistream
