// Bad input through the `epistream` binary in file mode (CONTRACT.md section
// 7): one input file with one line per malformed, oversized, mis-typed,
// out-of-range or too-late case, good events between them. Each bad line must
// reach the dead-letter file with its reason and offset (the 0-based line
// number in the input file, blank lines included) and its original bytes; the
// run must exit 0; the good events' alerts must still appear; duplicates and
// blank lines are not dead letters.
//
// Parser rules assumed beyond the contract's text (decided for the project):
// duplicate top-level keys and NUL bytes are bad_json; region codes are 2..12
// digits or 2 uppercase letters; ids are 1..64 bytes; with several faults the
// first field in contract order wins (type, event_id, ts, person_id, then the
// type's own fields in the order of CONTRACT.md section 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "tests/testing/scenario.h"

namespace epistream::testing {
namespace {

struct InputLine {
  std::string bytes;
  std::string reason;  // expected dead-letter reason; empty for good lines
};

constexpr const char* kScanTail =
    R"("person_id":"pid-bad-0001","venue_id":"venue-310104-mall-0001","code_color":"green","venue_kind":"mall"})";
// Bad lines carry this ts: never too_late where they stand, so the parser's
// reason is the only one that applies.
constexpr const char* kTs = R"("ts":"2022-09-20T09:50:00.000+08:00")";

// A valid green scan with event id `id`, then `extra` fields spliced in front
// of the closing brace.
std::string Scan(const std::string& id, const std::string& extra = "") {
  std::string s =
      R"({"type":"scan","event_id":")" + id + R"(",)" + kTs + "," + kScanTail;
  if (!extra.empty()) s.insert(s.size() - 1, "," + extra);
  return s;
}

std::string Transport(const std::string& id, const std::string& fields) {
  return R"({"type":"transport","event_id":")" + id + R"(",)" + kTs +
         R"(,"person_id":"pid-bad-0002",)" + fields + "}";
}

std::string Fever(const std::string& id, const std::string& fields) {
  return R"({"type":"fever","event_id":")" + id + R"(",)" + kTs +
         R"(,"person_id":"pid-bad-0003",)" + fields + "}";
}

// A green scan padded with an unknown field to exactly `size` bytes.
std::string PaddedScan(const std::string& id, size_t size) {
  std::string head =
      R"({"type":"scan","event_id":")" + id +
      R"(","ts":"2022-09-20T09:10:00.000+08:00","person_id":"pid-good-pad",)"
      R"("venue_id":"venue-310104-mall-0001","code_color":"green","note":")";
  const std::string tail = "\"}";
  head.append(size - head.size() - tail.size(), 'x');
  return head + tail;
}

std::vector<InputLine> BadInputLines() {
  const std::string id65(65, 'e');
  std::vector<InputLine> v = {
      // Tables and the first good events.
      {R"({"type":"risk_area","event_id":"ra-20220901-420106","region":"420106","level":"high","ts":"2022-09-01T00:00:00.000+08:00"})",
       ""},
      {R"({"type":"person","event_id":"per-20220801-000001","person_id":"pid-good-03","community_id":"comm-310104-001","occupation":"medical"})",
       ""},
      {R"({"type":"transport","event_id":"tr-good-0001","ts":"2022-09-20T08:00:00.000+08:00","person_id":"pid-good-01","hub_id":"hub-shanghai-hongqiao-rail","mode":"rail","origin_region":"420106"})",
       ""},
      // Not JSON objects.
      {R"({"type":"scan","event_id":"sc-bad-0003","ts":"2022-09-20T09:50:00.000+08:00")",
       "bad_json"},
      {Scan("sc-bad-0004", "\"note\":\"venue-\xC3\x28-0001\""),
       "bad_json"},  // invalid UTF-8
      {R"(["scan","sc-bad-0005"])", "bad_json"},
      {R"("scan")", "bad_json"},
      {Scan("sc-bad-0007") + " x", "bad_json"},  // trailing garbage
      {R"({"type":"scan","event_id":"sc-bad-0008","event_id":"sc-bad-0008b",)" +
           std::string(kTs) + "," + kScanTail,
       "bad_json"},  // duplicate top-level key
      {Scan(std::string("sc-bad-") + '\0' + "0009"),
       "bad_json"},  // raw NUL byte
      {R"({"type":"scan","event_id":"sc-good-0010","ts":"2022-09-20T09:00:00.000+08:00","person_id":"pid-good-02","venue_id":"venue-310104-mall-0001","code_color":"yellow","venue_kind":"mall"})",
       ""},
      // A duplicate (type, event_id): ignored, not a dead letter.
      {R"({"type":"scan","event_id":"sc-good-0010","ts":"2022-09-20T09:00:00.000+08:00","person_id":"pid-good-02","venue_id":"venue-310104-mall-0001","code_color":"yellow","venue_kind":"mall"})",
       ""},
      // Size: > 65536 bytes is too_large, exactly 65536 is fine.
      {PaddedScan("sc-bad-0011", 70000), "too_large"},
      {PaddedScan("sc-good-0012", 65536), ""},
      // Common fields, in contract order.
      {R"({"event_id":"sc-bad-0013",)" + std::string(kTs) + "," + kScanTail,
       "missing_field:type"},
      {R"({"type":"vaccination","event_id":"sc-bad-0014",)" + std::string(kTs) +
           "," + kScanTail,
       "bad_value:type"},
      {R"({"type":7,"event_id":"sc-bad-0015",)" + std::string(kTs) + "," +
           kScanTail,
       "bad_type:type"},
      {R"({"type":"scan",)" + std::string(kTs) + "," + kScanTail,
       "missing_field:event_id"},
      {Scan(""), "out_of_range:event_id"},
      {Scan(id65), "out_of_range:event_id"},
      {R"({"type":"scan","event_id":12345,)" + std::string(kTs) + "," +
           kScanTail,
       "bad_type:event_id"},
      {R"({"type":"scan","event_id":"sc-bad-0020",)" + std::string(kScanTail),
       "missing_field:ts"},
      {R"({"type":"scan","event_id":"sc-bad-0021","ts":"2022-02-30T10:00:00+08:00",)" +
           std::string(kScanTail),
       "bad_timestamp"},
      {R"({"type":"scan","event_id":"sc-bad-0022","ts":"2022-09-20 10:00",)" +
           std::string(kScanTail),
       "bad_timestamp"},
      {R"({"type":"scan","event_id":"sc-bad-0023","ts":"2022-09-20T10:00:00",)" +
           std::string(kScanTail),
       "bad_timestamp"},
      {R"({"type":"scan","event_id":"sc-bad-0024",)" + std::string(kTs) +
           R"(,"venue_id":"venue-310104-mall-0001","code_color":"green"})",
       "missing_field:person_id"},
      {R"({"type":"scan","event_id":"sc-bad-0025",)" + std::string(kTs) +
           R"(,"person_id":")" + id65 +
           R"(","venue_id":"venue-310104-mall-0001","code_color":"green"})",
       "out_of_range:person_id"},
      {R"({"type":"scan","event_id":"sc-bad-0026",)" + std::string(kTs) +
           R"(,"person_id":42,"venue_id":"venue-310104-mall-0001","code_color":"green"})",
       "bad_type:person_id"},
      // Scan fields.
      {R"({"type":"scan","event_id":"sc-bad-0027",)" + std::string(kTs) +
           R"(,"person_id":"pid-bad-0001","code_color":"green"})",
       "missing_field:venue_id"},
      {R"({"type":"scan","event_id":"sc-bad-0028",)" + std::string(kTs) +
           R"(,"person_id":"pid-bad-0001","venue_id":1001,"code_color":"green"})",
       "bad_type:venue_id"},
      {R"({"type":"scan","event_id":"sc-bad-0029",)" + std::string(kTs) +
           R"(,"person_id":"pid-bad-0001","venue_id":"venue-310104-mall-0001"})",
       "missing_field:code_color"},
      {R"({"type":"scan","event_id":"sc-bad-0030",)" + std::string(kTs) +
           R"(,"person_id":"pid-bad-0001","venue_id":"venue-310104-mall-0001","code_color":"purple"})",
       "bad_value:code_color"},
      {R"({"type":"scan","event_id":"sc-bad-0031",)" + std::string(kTs) +
           R"(,"person_id":"pid-bad-0001","venue_id":"venue-310104-mall-0001","code_color":"green","venue_kind":"spaceport"})",
       "bad_value:venue_kind"},
      {Scan("sc-bad-0032", R"("region":"3101AB")"), "bad_value:region"},
      // Transport fields.
      {Transport("tr-bad-0033", R"("mode":"rail","origin_region":"420106")"),
       "missing_field:hub_id"},
      {Transport(
           "tr-bad-0034",
           R"("hub_id":"hub-shanghai-hongqiao-rail","origin_region":"420106")"),
       "missing_field:mode"},
      {Transport(
           "tr-bad-0035",
           R"("hub_id":"hub-shanghai-hongqiao-rail","mode":"teleport","origin_region":"420106")"),
       "bad_value:mode"},
      {Transport("tr-bad-0036",
                 R"("hub_id":"hub-shanghai-hongqiao-rail","mode":"rail")"),
       "missing_field:origin_region"},
      {Transport(
           "tr-bad-0037",
           R"("hub_id":"hub-shanghai-hongqiao-rail","mode":"rail","origin_region":"4")"),
       "bad_value:origin_region"},
      {Transport(
           "tr-bad-0038",
           R"("hub_id":"hub-shanghai-hongqiao-rail","mode":"rail","origin_region":"4201060030011")"),
       "bad_value:origin_region"},
      {Transport(
           "tr-bad-0039",
           R"("hub_id":"hub-shanghai-pudong-air","mode":"air","origin_region":"us")"),
       "bad_value:origin_region"},
      {Transport(
           "tr-bad-0040",
           R"("hub_id":"hub-shanghai-hongqiao-rail","mode":"rail","origin_region":"110105","trip_regions":"420106")"),
       "bad_type:trip_regions"},
      {Transport(
           "tr-bad-0041",
           R"("hub_id":"hub-shanghai-hongqiao-rail","mode":"rail","origin_region":"110105","trip_regions":["420106","42x106"])"),
       "bad_value:trip_regions"},
      {Transport(
           "tr-bad-0042",
           R"("hub_id":"hub-shanghai-pudong-air","mode":"air","origin_region":"SG","category":"vip")"),
       "bad_value:category"},
      {R"({"type":"fever","event_id":"fv-good-0043","ts":"2022-09-20T10:00:00.000+08:00","person_id":"pid-good-03","clinic_id":"clinic-310104-01","temp_c":38.4})",
       ""},
      // Fever fields.
      {Fever("fv-bad-0044", R"("temp_c":38.5)"), "missing_field:clinic_id"},
      {Fever("fv-bad-0045", R"("clinic_id":"clinic-310104-01")"),
       "missing_field:temp_c"},
      {Fever("fv-bad-0046",
             R"("clinic_id":"clinic-310104-01","temp_c":"38.5")"),
       "bad_type:temp_c"},
      {Fever("fv-bad-0047", R"("clinic_id":"clinic-310104-01","temp_c":45.5)"),
       "out_of_range:temp_c"},
      {Fever("fv-bad-0048", R"("clinic_id":"clinic-310104-01","temp_c":29.9)"),
       "out_of_range:temp_c"},
      {R"({"type":"fever","event_id":"fv-good-0049","ts":"2022-09-20T10:10:00.000+08:00","person_id":"pid-good-06","clinic_id":"clinic-310104-01","temp_c":45.0})",
       ""},
      // Table records.
      {R"({"type":"risk_area","event_id":"ra-bad-0050","level":"high","ts":"2022-09-01T00:00:00.000+08:00"})",
       "missing_field:region"},
      {R"({"type":"risk_area","event_id":"ra-bad-0051","region":"42-01","level":"high","ts":"2022-09-01T00:00:00.000+08:00"})",
       "bad_value:region"},
      {R"({"type":"risk_area","event_id":"ra-bad-0052","region":"4201","ts":"2022-09-01T00:00:00.000+08:00"})",
       "missing_field:level"},
      {R"({"type":"risk_area","event_id":"ra-bad-0053","region":"4201","level":"extreme","ts":"2022-09-01T00:00:00.000+08:00"})",
       "bad_value:level"},
      {R"({"type":"person","event_id":"per-bad-0054","person_id":"pid-bad-0004","community_id":"comm-310104-001","occupation":"pilot"})",
       "bad_value:occupation"},
      // Several faults: the first field in contract order wins.
      {R"({"type":"scan",)" + std::string(kTs) +
           R"(,"person_id":"pid-bad-0001","venue_id":"venue-310104-mall-0001","code_color":"purple"})",
       "missing_field:event_id"},
      {R"({"type":"scan","event_id":"sc-bad-0056","ts":"yesterday","venue_id":"venue-310104-mall-0001","code_color":"green"})",
       "bad_timestamp"},
      {R"({"type":"scan","event_id":"sc-bad-0057",)" + std::string(kTs) +
           R"(,"person_id":"pid-bad-0001","venue_id":7,"code_color":"purple"})",
       "bad_type:venue_id"},
      {R"({"type":"vaccination"})", "bad_value:type"},
      {R"({"type":"fever","event_id":"fv-bad-0059",)" + std::string(kTs) +
           R"(,"clinic_id":"clinic-310104-01","temp_c":99})",
       "missing_field:person_id"},
      {Transport(
           "tr-bad-0060",
           R"("hub_id":"hub-shanghai-hongqiao-rail","mode":"hovercraft","origin_region":"4")"),
       "bad_value:mode"},
      // More good events and a blank line (skipped, but it still counts as a
      // line for offsets).
      {R"({"type":"scan","event_id":"sc-good-0061","ts":"2022-09-20T10:30:00.000+08:00","person_id":"pid-good-01","venue_id":"venue-310104-testsite-0002","code_color":"green","venue_kind":"test_site"})",
       ""},
      {"", ""},
      {R"({"type":"scan","event_id":"sc-good-0064","ts":"2022-09-20T11:00:00.000+08:00","person_id":"pid-good-04","venue_id":"venue-310104-market-0003","code_color":"red","venue_kind":"market"})",
       ""},
      // The watermark is now 10:55: older than 09:55 is too_late.
      {R"({"type":"scan","event_id":"sc-late-0065","ts":"2022-09-20T08:00:00.000+08:00","person_id":"pid-good-05","venue_id":"venue-310104-mall-0001","code_color":"yellow","venue_kind":"mall"})",
       "too_late"},
      {R"({"type":"fever","event_id":"fv-bad-0066","ts":"2022-09-20T11:02:00.000+08:00","person_id":"pid-bad-0003","temp_c":38.5})",
       "missing_field:clinic_id"},
      {R"({"type":"scan","event_id":"sc-good-0067","ts":"2022-09-20T11:05:00.000+08:00","person_id":"pid-good-07","venue_id":"venue-310104-market-0003","code_color":"green","venue_kind":"market"})",
       ""},
  };
  return v;
}

// Alerts of the good lines above.
std::string ExpectedAlerts() {
  return "2022-09-20T08:00:00.000+08:00 returnee_risk_area critical "
         "pid-good-01\n"
         "2022-09-20T09:00:00.000+08:00 abnormal_code_at_venue warning "
         "pid-good-02\n"
         "2022-09-20T10:00:00.000+08:00 fever_key_worker warning pid-good-03\n"
         "2022-09-20T11:00:00.000+08:00 abnormal_code_at_venue critical "
         "pid-good-04\n";
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    lines_ = BadInputLines();
    std::string content;
    for (const InputLine& l : lines_) content += l.bytes + "\n";
    input_ = tmp_.File("bad-input.jsonl");
    ASSERT_TRUE(WriteFile(input_, content));
  }

  void RunOnce(EngineRun* run) {
    *run = RunEngine(input_, tmp_.path(), "run");
    ASSERT_EQ(run->process.exit_code, 0) << run->process.Describe();
    ASSERT_TRUE(run->deadletter_file_exists) << run->process.Describe();
  }

  TempDir tmp_;
  std::vector<InputLine> lines_;
  std::string input_;
};

TEST_F(BadInputTest, EveryBadLineIsDeadLetteredWithReasonAndOffset) {
  EngineRun run;
  ASSERT_NO_FATAL_FAILURE(RunOnce(&run));
  std::string expected, actual;
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (!lines_[i].reason.empty())
      expected += std::to_string(i) + " " + lines_[i].reason + "\n";
  }
  std::map<int64_t, std::string> by_offset;
  for (const std::string& line : run.deadletters) {
    ActualDeadLetter d;
    std::string error;
    if (!ParseDeadLetter(line, &d, &error)) {
      ADD_FAILURE() << error;
      continue;
    }
    EXPECT_EQ(by_offset.count(d.offset), 0u)
        << "two dead letters at offset " << d.offset;
    by_offset[d.offset] = d.reason;
  }
  for (const auto& [offset, reason] : by_offset) {
    actual += std::to_string(offset) + " " + reason + "\n";
  }
  std::string legend;
  for (size_t i = 0; i < lines_.size(); ++i) {
    legend += std::to_string(i) + ": " + lines_[i].bytes.substr(0, 160) + "\n";
  }
  EXPECT_EQ(expected, actual)
      << "expected (left) vs actual (right): offset reason\ninput:\n"
      << legend;
}

TEST_F(BadInputTest, GoodEventsAroundBadLinesStillAlert) {
  EngineRun run;
  ASSERT_NO_FATAL_FAILURE(RunOnce(&run));
  std::vector<AlertKey> keys;
  for (const std::string& line : run.alerts) {
    ActualAlert a;
    std::string error;
    if (ParseAlert(line, &a, &error)) {
      keys.push_back(a.key);
    } else {
      ADD_FAILURE() << error;
    }
  }
  std::sort(keys.begin(), keys.end());
  std::string actual;
  for (const AlertKey& k : keys) actual += k.ToString() + "\n";
  EXPECT_EQ(ExpectedAlerts(), actual);
}

TEST_F(BadInputTest, DeadLettersCarryTheOriginalBytes) {
  EngineRun run;
  ASSERT_NO_FATAL_FAILURE(RunOnce(&run));
  ASSERT_FALSE(run.deadletters.empty());
  for (const std::string& line : run.deadletters) {
    ActualDeadLetter d;
    std::string error;
    ASSERT_TRUE(ParseDeadLetter(line, &d, &error)) << error;
    ASSERT_GE(d.offset, 0);
    ASSERT_LT(d.offset, static_cast<int64_t>(lines_.size()));
    const std::string& original = lines_[static_cast<size_t>(d.offset)].bytes;
    EXPECT_TRUE(d.has_original)
        << "offset " << d.offset << ": no original bytes";
    // Dead letters keep at most the first 64 KiB of an oversized message
    // (marked "truncated"), so a 10 MB message is not copied whole.
    const bool truncated = line.find("\"truncated\":true") != std::string::npos;
    if (truncated) {
      EXPECT_GT(original.size(), 64u * 1024) << "offset " << d.offset;
      EXPECT_EQ(d.original.size(), 64u * 1024) << "offset " << d.offset;
      EXPECT_TRUE(original.compare(0, d.original.size(), d.original) == 0)
          << "offset " << d.offset << ": truncated original is not a prefix";
    } else {
      EXPECT_TRUE(d.original == original)
          << "offset " << d.offset << ": original bytes differ ("
          << d.original.size() << " vs " << original.size() << " bytes)";
    }
    // Only the invalid UTF-8 line needs base64.
    EXPECT_EQ(d.was_base64, !IsValidUtf8(original)) << "offset " << d.offset;
  }
}

TEST_F(BadInputTest, DeadLettersDefaultToFileBesideAlerts) {
  const std::string dir = tmp_.SubDir("default");
  std::vector<std::string> argv = {EngineBinary(), "run",
                                   "--input",      input_,
                                   "--alerts",     dir + "/alerts.jsonl"};
  argv.insert(argv.end(), ExtraRunArgs().begin(), ExtraRunArgs().end());
  ProcessResult p = RunProcess(argv, dir + "/run.log");
  ASSERT_EQ(p.exit_code, 0) << p.Describe();
  size_t bad = 0;
  for (const InputLine& l : lines_) bad += l.reason.empty() ? 0 : 1;
  EXPECT_EQ(ReadLines(dir + "/deadletter.jsonl").size(), bad);
  EXPECT_EQ(ReadLines(dir + "/alerts.jsonl").size(), 4u);
}

}  // namespace
}  // namespace epistream::testing
