// The fever_cluster evaluation (bench/eval/cluster_eval.h): its scoring
// rules on hand-made alerts, the null-city permutation, and one small
// generated city run end to end through file mode.
#include "bench/eval/cluster_eval.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"

namespace epistream::eval {
namespace {

constexpr TimestampMs kT0 = 1663632000000;  // 2022-09-20T08:00+08:00

Outbreak MakeOutbreak(const char* kind, const char* id,
                      std::vector<std::pair<TimestampMs, std::string>> cases,
                      int64_t day = 0) {
  Outbreak o;
  o.kind = kind;
  o.id = id;
  o.cases = std::move(cases);
  o.day = day;
  return o;
}

// The concatenation of `parts` (appends: GCC 12 warns falsely on operator+
// chains).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) s.append(p);
  return s;
}

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
      MakeOutbreak(
          "venue", "rest-1",
          {{kT0, "a"}, {kT0 + kHourMs, "b"}, {kT0 + 5 * kHourMs, "c"}}),
      MakeOutbreak("community", "c9",
                   {{kT0, "x"}, {kT0 + kDayMs, "y"}, {kT0 + 2 * kDayMs, "z"}}),
      MakeOutbreak(
          "venue", "rest-2",
          {{kT0, "p"}, {kT0 + kDayMs, "q"}}),  // 2 febrile: not detectable
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
  EXPECT_EQ(s.point.outbreaks, 1);
  EXPECT_EQ(s.point.detected, 1);
  EXPECT_EQ(s.community.outbreaks, 1);
  EXPECT_EQ(s.few, 1);
  EXPECT_DOUBLE_EQ(s.p90_delay_h(), 2.0);
  EXPECT_EQ(s.cluster_alerts, 5);
  EXPECT_DOUBLE_EQ(s.cluster_alerts_per_day(), 5.0 / 14);
  EXPECT_EQ(s.max_alerts_day, 4);  // rest-1 v1 x2, office-3, the surge: day 1
  EXPECT_DOUBLE_EQ(s.person_weeks, 140000);
  EXPECT_NEAR(s.false_per_million_pw(), 2 / 0.14, 1e-9);
  // On a null city every cluster is false.
  const Score n = ScoreRun(outbreaks, alerts, 70000, 14, true);
  EXPECT_EQ(n.false_clusters, 4);
  EXPECT_EQ(n.detectable, 0);
}

TEST(ClusterEvalTest, PercentilesByNearestRank) {
  EXPECT_DOUBLE_EQ(Percentile({}, 0.9), 0.0);
  EXPECT_DOUBLE_EQ(Percentile({5}, 0.9), 5.0);
  // 10 values: the 9th smallest; 11 values: the 10th.
  EXPECT_DOUBLE_EQ(Percentile({10, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0.9), 9.0);
  EXPECT_DOUBLE_EQ(Percentile({10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11}, 0.9), 10.0);
  EXPECT_DOUBLE_EQ(Median({3, 1, 2, 10}), 2.5);
}

// A tiny city file: visitors per venue and week, fever rate, abnormal codes,
// the category of each outbreak, and the person rules scored on it.
TEST(ClusterEvalTest, CensusClassifiesAndScoresPersonRules) {
  ::epistream::testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  std::string lines;
  auto scan = [&](const std::string& person, const char* venue,
                  const char* kind, int day, const char* color = "green") {
    const std::string d = std::to_string(day), date = std::to_string(20 + day);
    lines += Cat({R"({"type":"scan","event_id":"s)", person, d, venue,
                  R"(","ts":"2022-09-)", date,
                  R"(T12:00:00.000+08:00","person_id":")", person,
                  R"(","venue_id":")", venue, R"(","venue_kind":")", kind,
                  R"(","code_color":")", color, "\"}\n"});
  };
  // Day 0: 3 persons at the small restaurant r1, 250 at the mall (busy).
  for (int i = 0; i < 3; ++i)
    scan(Cat({"A", std::to_string(i)}), "r1", "restaurant", 0);
  for (int i = 0; i < 250; ++i)
    scan(Cat({"M", std::to_string(i)}), "m1", "mall", 0);
  // Day 1: a yellow code at the mall, a red one at a test site (not a finding),
  // a red one and a yellow one the same day at r1 (two findings).
  scan("M0", "m1", "mall", 1, "yellow");
  scan("M1", "t1", "test_site", 1, "red");
  scan("A0", "r1", "restaurant", 1, "red");
  scan("A0", "r1", "restaurant", 1, "yellow");
  lines +=
      R"({"type":"fever","event_id":"f1","ts":"2022-09-22T10:00:00.000+08:00","person_id":"A1","clinic_id":"k1","temp_c":38.2})"
      "\n";
  ASSERT_TRUE(::epistream::testing::WriteFile(tmp.File("city.jsonl"), lines));
  CityCensus census;
  ASSERT_OK(census.Read(tmp.File("city.jsonl")));
  EXPECT_EQ(census.days(), 3);
  const int64_t d0 = census.first_day();
  EXPECT_EQ(census.Visitors("r1", d0, 7), 3u);
  EXPECT_EQ(census.Visitors("m1", d0 + 1, 7), 250u);
  EXPECT_EQ(census.Visitors("t1", d0 + 1, 7), 0u)
      << "test sites are in no trail";
  // r = 1 fever person / 253 active over the 7 days to day 2.
  EXPECT_DOUBLE_EQ(census.FeverRate(d0 + 2), 1.0 / 253);
  EXPECT_EQ(census.ActiveVenues(d0 + 2), 2u);
  const std::string d1 = std::to_string(d0 + 1);
  EXPECT_EQ(census.abnormal_codes(),
            (std::set<std::string>{Cat({"A0|", d1, "|red"}),
                                   Cat({"A0|", d1, "|yellow"}),
                                   Cat({"M0|", d1, "|yellow"})}));
  // P(X >= 3; 0.3) = 0.0036 < 0.2 / 10; mean 3 needs k = 8
  // (P(X >= 8; 3) = 0.0119 < 0.02 <= P(X >= 7; 3) = 0.0335).
  EXPECT_EQ(CityCensus::MinDetectableCases(100, 0.003, 10), 3u);
  EXPECT_EQ(CityCensus::MinDetectableCases(1000, 0.003, 10), 8u);

  std::vector<Outbreak> outbreaks = {
      MakeOutbreak("venue", "r1", {{1, "A0"}, {2, "A1"}, {3, "A2"}}, d0),
      MakeOutbreak("venue", "m1", {{1, "M0"}, {2, "M1"}, {3, "M2"}}, d0),
      MakeOutbreak("venue", "r1", {{1, "A0"}, {2, "A1"}}, d0),
      MakeOutbreak("community", "c1", {{1, "X"}, {2, "Y"}, {3, "Z"}})};
  Classify(census, 200, &outbreaks);
  EXPECT_EQ(outbreaks[0].category, "point");
  EXPECT_EQ(outbreaks[0].visitors_week, 3u);
  EXPECT_EQ(outbreaks[1].category, "busy");
  EXPECT_EQ(outbreaks[1].visitors_week, 250u);
  EXPECT_EQ(outbreaks[2].category, "few");
  EXPECT_EQ(outbreaks[3].category, "community");

  const std::string truth =
      R"({"returnees":[{"person_id":"R1","entry_event_id":"t1"},
      {"person_id":"R2","entry_event_id":"t2"}],
    "untested_returnees":[{"person_id":"R1","entry_event_id":"t1","due_before_end":true},
      {"person_id":"R2","entry_event_id":"t2","due_before_end":false}],
    "quarantine_breakers":[{"person_id":"Q","breach_scans":[
      {"event_id":"b1","ts":"2022-09-21T09:00:00.000+08:00"},
      {"event_id":"b2","ts":"2022-09-21T19:00:00.000+08:00"}]}],
    "fever_returnees":[],"key_worker_fevers":[{"person_id":"A1","fever_event_id":"f1"}]})";
  std::string alerts;
  auto alert = [&](const char* rule, const char* person, const char* ts,
                   const char* ev, const char* severity = "warning") {
    alerts += Cat({R"({"rule":")", rule, R"(","severity":")", severity,
                   R"(","person_id":")", person, R"(","ts":")", ts,
                   R"(","evidence":[{"event_id":")", ev, "\"}]}\n"});
  };
  alert("returnee_risk_area", "R1", "2022-09-20T08:00:00.000+08:00", "t1");
  alert("returnee_risk_area", "R1", "2022-09-20T08:00:00.000+08:00",
        "t1");  // 2nd area
  alert("returnee_risk_area", "R3", "2022-09-20T08:00:00.000+08:00",
        "t3");  // false
  alert("returnee_untested", "R1", "2022-09-21T08:00:00.000+08:00", "t1");
  alert("quarantine_breach", "Q", "2022-09-21T09:00:00.000+08:00", "b1");
  alert("abnormal_code_at_venue", "A0", "2022-09-21T12:00:00.000+08:00", "x",
        "critical");
  alert("abnormal_code_at_venue", "A0", "2022-09-21T12:00:00.000+08:00", "y");
  alert("fever_key_worker", "A1", "2022-09-22T10:00:00.000+08:00", "f1");
  ASSERT_TRUE(
      ::epistream::testing::WriteFile(tmp.File("alerts.jsonl"), alerts));
  std::vector<RuleScore> rules;
  ASSERT_OK(ScorePersonRules(truth, tmp.File("alerts.jsonl"), census, &rules));
  ASSERT_EQ(rules.size(), 6u);
  std::map<std::string, RuleScore> by;
  for (const RuleScore& r : rules) by[r.rule] = r;
  EXPECT_EQ(by["returnee_risk_area"].truth, 2);
  EXPECT_EQ(by["returnee_risk_area"].alerts, 2);
  EXPECT_EQ(by["returnee_risk_area"].matched, 1);
  EXPECT_EQ(by["returnee_risk_area"].messages, 3);
  EXPECT_DOUBLE_EQ(by["returnee_risk_area"].precision(), 0.5);
  EXPECT_DOUBLE_EQ(by["returnee_risk_area"].recall(), 0.5);
  EXPECT_DOUBLE_EQ(by["returnee_untested"].precision(), 1.0);
  EXPECT_DOUBLE_EQ(by["returnee_untested"].recall(), 1.0);
  EXPECT_DOUBLE_EQ(by["quarantine_breach"].recall(), 1.0)
      << "one per person and day";
  EXPECT_EQ(by["abnormal_code_at_venue"].matched, 2);
  EXPECT_DOUBLE_EQ(by["abnormal_code_at_venue"].recall(),
                   2.0 / 3);  // M0 missed
  EXPECT_DOUBLE_EQ(by["fever_key_worker"].precision(), 1.0);
  EXPECT_DOUBLE_EQ(by["fever_returnee"].recall(), 1.0) << "nothing to find";
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
  // The person rules are exact on the generated city.
  ASSERT_EQ(c.person_rules.size(), 6u);
  for (const RuleScore& r : c.person_rules) {
    EXPECT_DOUBLE_EQ(r.precision(), 1.0) << r.rule;
    EXPECT_DOUBLE_EQ(r.recall(), 1.0) << r.rule;
  }
  EXPECT_GT(c.person_rules[0].truth, 0)
      << "no returnees: the city is too small";
  // The engine's clinic surges are the recomputed EARS C2 ones.
  EXPECT_EQ(c.observed.clinic_surges, c.surges.c2);
  EXPECT_GT(c.busy.venues, 0u);
  EXPECT_GT(c.busy.max_n_for_3, 0u);
  const std::string json = ToJson({c});
  EXPECT_NE(json.find("\"false_per_million_person_weeks\""), std::string::npos);
}

}  // namespace
}  // namespace epistream::eval
