// bench/sample/: the small shipped city (CityConfig::Sample()). Regenerating
// it must give the committed bytes (which also proves determinism across
// builds), and it must contain a case for every person rule and an outbreak.
//
// To refresh the files after a deliberate generator change:
//   EPISTREAM_REGENERATE_SAMPLE=1 ./build/tests/city_tests
//   --gtest_filter='CitySample*'
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/city/city_generator.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/test_paths.h"

namespace epistream {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const fs::path kSampleDir = fs::path(testing::SourceDirPath()) / "bench" / "sample";

TEST(CitySampleTest, CommittedSampleIsUpToDate) {
  const fs::path tmp = fs::temp_directory_path() /
                       ("epistream_sample_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  CityStats stats;
  ASSERT_OK(GenerateCityToFiles(CityConfig::Sample(),
                                (tmp / "city.jsonl").string(),
                                (tmp / "truth.json").string(), &stats));
  if (std::getenv("EPISTREAM_REGENERATE_SAMPLE") != nullptr) {
    fs::create_directories(kSampleDir);
    fs::copy_file(tmp / "city.jsonl", kSampleDir / "city.jsonl",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(tmp / "truth.json", kSampleDir / "truth.json",
                  fs::copy_options::overwrite_existing);
  }
  const std::string events = ReadFile(tmp / "city.jsonl");
  const std::string truth = ReadFile(tmp / "truth.json");
  fs::remove_all(tmp);
  EXPECT_TRUE(events == ReadFile(kSampleDir / "city.jsonl"))
      << "bench/sample/city.jsonl is stale; see the comment at the top of this "
         "test";
  EXPECT_TRUE(truth == ReadFile(kSampleDir / "truth.json"))
      << "bench/sample/truth.json is stale; see the comment at the top of this "
         "test";
  EXPECT_LT(events.size(), 2u << 20) << "the sample must stay under 2 MB";
  EXPECT_EQ(stats.lines, static_cast<uint64_t>(
                             std::count(events.begin(), events.end(), '\n')));
}

TEST(CitySampleTest, SampleHasACaseForEveryRule) {
  const std::string text = ReadFile(kSampleDir / "truth.json");
  simdjson::dom::parser parser;
  simdjson::dom::element truth;
  ASSERT_EQ(parser.parse(text).get(truth), simdjson::SUCCESS);
  auto list = [&](const char* name) {
    simdjson::dom::array a;
    EXPECT_EQ(truth[name].get_array().get(a), simdjson::SUCCESS) << name;
    return a;
  };
  int retroactive = 0, high = 0, medium = 0;
  for (simdjson::dom::element r : list("returnees")) {
    for (simdjson::dom::element l : simdjson::dom::array(r["listings"])) {
      bool retro = false;
      ASSERT_EQ(l["retroactive"].get_bool().get(retro), simdjson::SUCCESS);
      retroactive += retro;
      std::string_view level;
      ASSERT_EQ(l["level"].get_string().get(level), simdjson::SUCCESS);
      (level == "high" ? high : medium)++;
    }
  }
  EXPECT_GT(retroactive, 0) << "returnee_risk_area, retroactive";
  EXPECT_GT(high, 0) << "returnee_risk_area, critical";
  EXPECT_GT(medium, 0) << "returnee_risk_area, warning";
  int untested_due = 0;
  for (simdjson::dom::element u : list("untested_returnees")) {
    bool due = false;
    ASSERT_EQ(u["due_before_end"].get_bool().get(due), simdjson::SUCCESS);
    untested_due += due;
  }
  EXPECT_GT(untested_due, 0) << "returnee_untested";
  int inbound_breakers = 0;
  for (simdjson::dom::element b : list("quarantine_breakers")) {
    std::string_view reason;
    ASSERT_EQ(b["reason"].get_string().get(reason), simdjson::SUCCESS);
    inbound_breakers += reason == "inbound_released";
  }
  EXPECT_GT(inbound_breakers, 0) << "quarantine_breach";
  EXPECT_GT(list("fever_returnees").size(), 0u) << "fever_returnee";
  EXPECT_GT(list("key_worker_fevers").size(), 0u) << "fever_key_worker";
  ASSERT_EQ(list("venue_outbreaks").size(), 1u) << "fever_cluster at a venue";
  int64_t cases = 0;
  ASSERT_EQ(
      list("venue_outbreaks").at(0)["cases_with_fever"].get_int64().get(cases),
      simdjson::SUCCESS);
  EXPECT_GE(cases, 3);
  EXPECT_EQ(list("community_outbreaks").size(), 1u);
  int64_t abnormal = 0;
  ASSERT_EQ(
      truth["summary"]["abnormal_code_criticals"].get_int64().get(abnormal),
      simdjson::SUCCESS);
  EXPECT_GT(abnormal, 0) << "abnormal_code_at_venue";
}

}  // namespace
}  // namespace epistream
