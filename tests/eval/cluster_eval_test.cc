// The fever_cluster evaluation (bench/eval/cluster_eval.h): its scoring
// rules on hand-made alerts, the null-city permutation, and one small
// generated city run end to end through file mode.
#include "bench/eval/cluster_eval.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"

namespace epistream::eval {
namespace {

constexpr TimestampMs kT0 = 1663632000000;  // 2022-09-20T08:00+08:00

ClusterAlertRow Alert(const char* kind, const char* id, const char* cluster,
                      TimestampMs ts, std::vector<std::string> members = {}) {
  ClusterAlertRow a;
  a.rule = "fever_cluster";
  a.kind = kind;
  a.id = id;
  a.cluster_id = cluster;
  a.version = 1;
  a.ts = ts;
  a.members = std::move(members);
  return a;
}

TEST(ClusterEvalTest, ScoresDetectionDelayAndFalseClusters) {
  std::vector<Outbreak> outbreaks = {
      {"venue",
       "rest-1",
       {{kT0, "a"}, {kT0 + kHourMs, "b"}, {kT0 + 5 * kHourMs, "c"}}},
      {"community",
       "c9",
       {{kT0, "x"}, {kT0 + kDayMs, "y"}, {kT0 + 2 * kDayMs, "z"}}},
      {"venue",
       "rest-2",
       {{kT0, "p"}, {kT0 + kDayMs, "q"}}},  // 2 febrile: not detectable
  };
  std::vector<ClusterAlertRow> alerts = {
      Alert("venue", "rest-1", "v1",
            kT0 + 7 * kHourMs),  // 2 h after the 3rd case
      Alert("venue", "rest-1", "v1",
            kT0 + 9 * kHourMs),  // version 2: same cluster
      // The community's cases found at their gate: related by members.
      Alert("venue", "gate-9", "v2", kT0 + 2 * kDayMs + kHourMs,
            {"x", "y", "someone"}),
      Alert("venue", "office-3", "v3", kT0,
            {"k", "l", "m"}),                             // unrelated: false
      Alert("venue", "rest-1", "v4", kT0 + 30 * kDayMs),  // long after: false
  };
  ClusterAlertRow surge = Alert("clinic", "c1", "s1", kT0);
  surge.rule = "clinic_surge";
  alerts.push_back(surge);
  const Score s = ScoreRun(outbreaks, alerts, 70000, 14, false);
  EXPECT_EQ(s.outbreaks, 3);
  EXPECT_EQ(s.detectable, 2);
  EXPECT_EQ(s.detected, 2);
  EXPECT_DOUBLE_EQ(s.sensitivity(), 1.0);
  ASSERT_EQ(s.delays_h.size(), 2u);
  EXPECT_DOUBLE_EQ(s.delays_h[0], 2.0);
  EXPECT_DOUBLE_EQ(s.delays_h[1], 1.0);
  EXPECT_EQ(s.clusters, 4);
  EXPECT_EQ(s.false_clusters, 2);
  EXPECT_EQ(s.clinic_surges, 1);
  EXPECT_DOUBLE_EQ(s.person_weeks, 140000);
  EXPECT_NEAR(s.false_per_million_pw(), 2 / 0.14, 1e-9);
  // On a null city every cluster is false.
  const Score n = ScoreRun(outbreaks, alerts, 70000, 14, true);
  EXPECT_EQ(n.false_clusters, 4);
  EXPECT_EQ(n.detectable, 0);
}

TEST(ClusterEvalTest, NullCityPermutesFeverIdentitiesWithinEachDay) {
  ::epistream::testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::string in = tmp.File("in.jsonl"), out = tmp.File("out.jsonl");
  std::string lines =
      R"({"type":"person","event_id":"r1","person_id":"A","community_id":"cA"})"
      "\n"
      R"({"type":"person","event_id":"r2","person_id":"B","community_id":"cB"})"
      "\n";
  // Day 1 (2022-09-20 local): A, B, C scan; D has the fever. Day 2: only E
  // scans.
  for (const char* p : {"A", "B", "C"}) {
    lines += std::string(R"({"type":"scan","event_id":"s)") + p +
             R"(","ts":"2022-09-20T09:00:00.000+08:00","person_id":")" + p +
             R"(","venue_id":"v","code_color":"green"})"
             "\n";
  }
  lines +=
      R"({"type":"fever","event_id":"f1","ts":"2022-09-20T10:00:00.000+08:00","person_id":"D","clinic_id":"k1","temp_c":38.2,"community_id":"cD"})"
      "\n";
  lines +=
      R"({"type":"scan","event_id":"sE","ts":1663722000000,"person_id":"E","venue_id":"v","code_color":"green"})"
      "\n";
  lines +=
      R"({"type":"fever","event_id":"f2","ts":1663725600000,"person_id":"D","clinic_id":"k2","temp_c":39})"
      "\n";
  ASSERT_TRUE(::epistream::testing::WriteFile(in, lines));
  ASSERT_OK(PermuteFeverIdentities(in, out, 5));
  const std::vector<std::string> got = ::epistream::testing::ReadLines(out);
  ASSERT_EQ(got.size(), 8u);
  // Non-fever lines are copied; fevers keep id, time, clinic and get an
  // active person of their day, with that person's registered community.
  EXPECT_EQ(got[0], ::epistream::testing::ReadLines(in)[0]);
  simdjson::dom::parser parser;
  simdjson::dom::element f1 = parser.parse(got[5]);
  const std::string p1 = JsonStr(f1, "person_id");
  EXPECT_TRUE(p1 == "A" || p1 == "B" || p1 == "C") << got[5];
  EXPECT_EQ(JsonStr(f1, "event_id"), "f1");
  EXPECT_EQ(JsonStr(f1, "clinic_id"), "k1");
  EXPECT_EQ(JsonStr(f1, "ts"), "2022-09-20T10:00:00.000+08:00");
  EXPECT_EQ(JsonStr(f1, "community_id"), p1 == "C" ? "" : "c" + p1);
  simdjson::dom::element f2 = parser.parse(got[7]);
  EXPECT_EQ(JsonStr(f2, "person_id"), "E");
  EXPECT_EQ(JsonStr(f2, "community_id"), "");
  // Deterministic for a seed.
  ASSERT_OK(PermuteFeverIdentities(in, tmp.File("again.jsonl"), 5));
  EXPECT_EQ(got, ::epistream::testing::ReadLines(tmp.File("again.jsonl")));
}

// A 6000-person city over 12 days (~250k events) through file mode, and its
// null version. An outbreak with 5+ fever visits among a restaurant's few
// dozen visitors must be found; one with 3 may not be (mu ~ 0.3 leaves
// p ~ 0.004 against 0.2 / 120 venues: the Bonferroni bound's price).
TEST(ClusterEvalTest, SmallCityEndToEnd) {
  ::epistream::testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  CityConfig config;
  config.persons = 6000;
  config.days = 12;
  config.seed = 2;
  CityEval c;
  ASSERT_OK(EvaluateCity(config, tmp.File("city"), &c));
  std::printf("%s", FormatTable({c}).c_str());
  EXPECT_GT(c.events, 150000u);
  EXPECT_EQ(c.observed.outbreaks,
            config.venue_outbreaks + config.community_outbreaks);
  EXPECT_GE(c.observed.detected, 1);
  EXPECT_LE(c.observed.false_clusters, 1);
  EXPECT_LE(c.null_city.false_clusters, 1);

  std::string truth;
  ASSERT_TRUE(ReadWholeFile(tmp.File("city") + "/truth.json", &truth));
  std::vector<Outbreak> outbreaks;
  ASSERT_OK(LoadOutbreaks(truth, &outbreaks));
  std::vector<ClusterAlertRow> alerts;
  ASSERT_OK(LoadClusterAlerts(tmp.File("city") + "/alerts.jsonl", &alerts));
  int strong = 0;
  for (const Outbreak& o : outbreaks) {
    if (o.kind != "venue" || o.cases.size() < 5) continue;
    ++strong;
    EXPECT_TRUE(std::any_of(
        alerts.begin(), alerts.end(),
        [&](const ClusterAlertRow& a) { return Related(a, o, 7 * kDayMs); }))
        << "venue outbreak at " << o.id << " with " << o.cases.size()
        << " fever visits";
  }
  EXPECT_GE(strong, 1)
      << "the seed no longer makes a strong outbreak: pick another";
  const std::string json = ToJson({c});
  EXPECT_NE(json.find("\"false_per_million_person_weeks\""), std::string::npos);
}

}  // namespace
}  // namespace epistream::eval
