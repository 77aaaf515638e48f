// The synthetic city: determinism, time order, contract fields, plausible
// counts, bounded memory, and a ground truth that agrees with the stream.
//
// The truth is checked independently: listings, entries, scans and fevers are
// read back from the generated lines and the contract's rules recomputed
// here (returnee matching, 24 h tests, quarantine windows, key workers,
// fever returnees, outbreak links), then compared with the truth's lists.
#include "bench/city/city_generator.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/event_time.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr TimestampMs kNever = INT64_MAX / 4;

struct CityRun {
  std::vector<std::string> lines;
  std::string truth;
  CityStats stats;
};

CityRun Generate(const CityConfig& config) {
  CityRun run;
  const Status st = GenerateCity(
      config,
      [&run](std::string_view line) {
        run.lines.emplace_back(line);
        return Status::Ok();
      },
      &run.truth, &run.stats);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return run;
}

// A city with every kind of fact in a few days (boosted rare events, full
// routine).
CityConfig VerifyConfig() {
  CityConfig c;
  c.persons = 12000;
  c.days = 7;
  c.seed = 11;
  c.inbound_arrival_rate = 0.0004;
  c.inbound_break_rate = 0.3;
  c.high_risk_break_rate = 0.3;
  c.arrival_test_compliance = 0.7;
  c.risk_listings_per_day = 3;
  c.returnee_infection_rate_listed = 0.2;
  c.fever_rate_per_100k = 100;
  c.venue_outbreaks = 2;
  c.community_outbreaks = 1;
  return c;
}

bool OneOf(std::string_view v, std::initializer_list<std::string_view> set) {
  for (std::string_view s : set) {
    if (v == s) return true;
  }
  return false;
}

bool IsRegionCode(std::string_view s) {
  if (s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z')
    return true;
  if (s.size() < 2 || s.size() > 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// One parsed record (only the fields the checks need).
struct Record {
  std::string type, event_id, person, venue_id, venue_kind, color, category,
      origin, community, occupation, region, level;
  std::vector<std::string> trips;
  TimestampMs ts = 0;
  double temp_c = 0;
};

// A reference validator of CONTRACT.md section 2: "" for a good record, else
// the dead-letter reason the contract prescribes.
std::string CheckRecord(simdjson::dom::parser& parser, const std::string& line,
                        Record* r) {
  simdjson::dom::element doc;
  if (parser.parse(line).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return "bad_json";
  auto str = [&](const char* key, std::string* out,
                 bool required) -> std::string {
    simdjson::dom::element e;
    if (doc.at_key(key).get(e) != simdjson::SUCCESS) {
      return required ? std::string("missing_field:") + key : "";
    }
    std::string_view v;
    if (e.get_string().get(v) != simdjson::SUCCESS)
      return std::string("bad_type:") + key;
    *out = std::string(v);
    return "";
  };
  std::string err;
  if (!(err = str("type", &r->type, true)).empty()) return err;
  if (!OneOf(r->type, {"scan", "transport", "fever", "risk_area", "person"}))
    return "bad_value:type";
  if (!(err = str("event_id", &r->event_id, true)).empty()) return err;
  if (r->event_id.empty() || r->event_id.size() > 64)
    return "out_of_range:event_id";
  std::string ts;
  if (!(err = str("ts", &ts, true)).empty()) return "bad_timestamp";
  const auto parsed = ParseRfc3339(ts);
  if (!parsed) return "bad_timestamp";
  r->ts = *parsed;
  if (r->type != "risk_area") {
    if (!(err = str("person_id", &r->person, true)).empty()) return err;
  }
  if (r->type == "scan") {
    if (!(err = str("venue_id", &r->venue_id, true)).empty()) return err;
    if (!(err = str("code_color", &r->color, true)).empty()) return err;
    if (!OneOf(r->color, {"green", "yellow", "red"}))
      return "bad_value:code_color";
    if (!(err = str("venue_kind", &r->venue_kind, false)).empty()) return err;
    if (!OneOf(r->venue_kind,
               {"market", "mall", "supermarket", "restaurant", "entertainment",
                "hospital", "school", "elderly_care", "prison",
                "transport_station", "test_site", "office", "residential",
                "other"})) {
      return "bad_value:venue_kind";
    }
    if (!(err = str("region", &r->region, false)).empty()) return err;
    if (!IsRegionCode(r->region)) return "bad_value:region";
  } else if (r->type == "transport") {
    std::string hub, mode;
    if (!(err = str("hub_id", &hub, true)).empty()) return err;
    if (!(err = str("mode", &mode, true)).empty()) return err;
    if (!OneOf(mode, {"rail", "air", "road", "water", "border"}))
      return "bad_value:mode";
    if (!(err = str("origin_region", &r->origin, true)).empty()) return err;
    if (!IsRegionCode(r->origin)) return "bad_value:origin_region";
    simdjson::dom::array trips;
    if (doc["trip_regions"].get_array().get(trips) != simdjson::SUCCESS)
      return "bad_type:trip_regions";
    for (simdjson::dom::element t : trips) {
      std::string_view v;
      if (t.get_string().get(v) != simdjson::SUCCESS || !IsRegionCode(v))
        return "bad_value:trip_regions";
      r->trips.emplace_back(v);
    }
    if (!(err = str("category", &r->category, true)).empty()) return err;
    if (!OneOf(r->category, {"domestic", "inbound_released"}))
      return "bad_value:category";
  } else if (r->type == "fever") {
    std::string clinic;
    if (!(err = str("clinic_id", &clinic, true)).empty()) return err;
    if (doc["temp_c"].get_double().get(r->temp_c) != simdjson::SUCCESS)
      return "bad_type:temp_c";
    if (r->temp_c < 30 || r->temp_c > 45) return "out_of_range:temp_c";
    simdjson::dom::array symptoms;
    if (doc["symptoms"].get_array().get(symptoms) != simdjson::SUCCESS)
      return "bad_type:symptoms";
    if (!(err = str("community_id", &r->community, true)).empty()) return err;
  } else if (r->type == "risk_area") {
    if (!(err = str("region", &r->region, true)).empty()) return err;
    if (!IsRegionCode(r->region)) return "bad_value:region";
    if (!(err = str("level", &r->level, true)).empty()) return err;
    if (!OneOf(r->level, {"high", "medium", "low"})) return "bad_value:level";
  } else {
    if (!(err = str("community_id", &r->community, true)).empty()) return err;
    if (!(err = str("occupation", &r->occupation, true)).empty()) return err;
    if (!OneOf(r->occupation,
               {"cold_chain", "medical", "transport", "other"})) {
      return "bad_value:occupation";
    }
  }
  return "";
}

struct Listing {
  std::string region, level;
  TimestampMs listed = 0;
  TimestampMs delisted = kNever;
};

bool Prefix(std::string_view p, std::string_view code) {
  return code.substr(0, p.size()) == p;
}

// The stream read back.
struct CityIndex {
  std::vector<Record>
      records;  // stream events (scan, transport, fever) in file order
  std::unordered_map<std::string, size_t> by_id;
  std::unordered_map<std::string, std::vector<size_t>> scans_by_person;
  std::map<std::string, Listing> listings;  // by "risk<n>"
  std::unordered_map<std::string, std::string> occupation;
  std::unordered_map<std::string, std::string> community;
  std::vector<std::string> errors;
  size_t person_records = 0, risk_records = 0;

  void Build(const std::vector<std::string>& lines) {
    simdjson::dom::parser parser;
    TimestampMs last = INT64_MIN;
    std::unordered_set<std::string> ids;
    for (size_t i = 0; i < lines.size(); ++i) {
      Record r;
      const std::string reason = CheckRecord(parser, lines[i], &r);
      if (!reason.empty()) {
        errors.push_back("line " + std::to_string(i + 1) + ": " + reason +
                         ": " + lines[i]);
        continue;
      }
      if (!ids.insert(r.event_id).second)
        errors.push_back("duplicate event_id " + r.event_id);
      if (r.ts < last)
        errors.push_back("out of order at line " + std::to_string(i + 1));
      last = std::max(last, r.ts);
      if (r.type == "person") {
        ++person_records;
        occupation[r.person] = r.occupation;
        community[r.person] = r.community;
      } else if (r.type == "risk_area") {
        ++risk_records;
        const std::string key = r.event_id.substr(0, r.event_id.find('-'));
        Listing& l = listings[key];
        if (r.level == "low") {
          l.delisted = r.ts;
        } else {
          l.region = r.region;
          l.level = r.level;
          l.listed = r.ts;
        }
      } else {
        by_id[r.event_id] = records.size();
        if (r.type == "scan")
          scans_by_person[r.person].push_back(records.size());
        records.push_back(std::move(r));
      }
    }
  }
  const Record* Find(const std::string& id) const {
    const auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : &records[it->second];
  }
  // Listing keys covering an entry (CONTRACT.md: L - 14 d <= t <= D, prefix
  // match).
  std::set<std::string> Covering(const Record& entry) const {
    std::set<std::string> out;
    for (const auto& [key, l] : listings) {
      if (entry.ts < l.listed - 14 * kDayMs || entry.ts > l.delisted) continue;
      bool hit = Prefix(l.region, entry.origin);
      for (const std::string& t : entry.trips) hit = hit || Prefix(l.region, t);
      if (hit) out.insert(key);
    }
    return out;
  }
  // Listing keys each entry should alert on: covering listings, at most one
  // alert per person and area (entries in time order).
  std::map<std::string, std::set<std::string>> Alerting() const {
    std::map<std::string, std::set<std::string>> out;
    std::map<std::string, std::set<std::string>> flagged_areas;  // by person
    for (const Record& r : records) {
      if (r.type != "transport") continue;
      for (const std::string& key : Covering(r)) {
        if (flagged_areas[r.person].insert(listings.at(key).region).second) {
          out[r.event_id].insert(key);
        }
      }
    }
    return out;
  }
};

class CityGeneratorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    config_ = new CityConfig(VerifyConfig());
    run_ = new CityRun(Generate(*config_));
    index_ = new CityIndex;
    index_->Build(run_->lines);
    truth_parser_ = new simdjson::dom::parser;
    ASSERT_EQ(truth_parser_->parse(run_->truth).get(truth_), simdjson::SUCCESS);
  }
  static void TearDownTestSuite() {
    delete truth_parser_;
    delete index_;
    delete run_;
    delete config_;
  }
  static simdjson::dom::array List(const char* name) {
    simdjson::dom::array a;
    EXPECT_EQ(truth_[name].get_array().get(a), simdjson::SUCCESS) << name;
    return a;
  }
  static std::string S(simdjson::dom::element e, const char* key) {
    std::string_view v;
    if (e[key].get_string().get(v) != simdjson::SUCCESS) return "";
    return std::string(v);
  }
  static TimestampMs Ts(simdjson::dom::element e, const char* key) {
    return ParseRfc3339(S(e, key)).value_or(kNever);
  }

  static CityConfig* config_;
  static CityRun* run_;
  static CityIndex* index_;
  static simdjson::dom::parser* truth_parser_;
  static simdjson::dom::element truth_;
};

CityConfig* CityGeneratorTest::config_ = nullptr;
CityRun* CityGeneratorTest::run_ = nullptr;
CityIndex* CityGeneratorTest::index_ = nullptr;
simdjson::dom::parser* CityGeneratorTest::truth_parser_ = nullptr;
simdjson::dom::element CityGeneratorTest::truth_;

TEST_F(CityGeneratorTest, SameSeedGivesSameBytes) {
  const CityRun again = Generate(*config_);
  EXPECT_TRUE(again.lines == run_->lines);
  EXPECT_EQ(again.truth, run_->truth);
}

TEST_F(CityGeneratorTest, DifferentSeedGivesDifferentCity) {
  CityConfig c = *config_;
  c.seed = 12;
  const CityRun other = Generate(c);
  EXPECT_FALSE(other.lines == run_->lines);
  EXPECT_NE(other.truth, run_->truth);
}

TEST_F(CityGeneratorTest, SlicingDoesNotChangeTheOutput) {
  CityConfig c = *config_;
  c.max_slice_events = 1000;  // 24 slices a day instead of one
  const CityRun sliced = Generate(c);
  EXPECT_EQ(sliced.stats.slices_per_day, 24);
  EXPECT_EQ(run_->stats.slices_per_day, 1);
  EXPECT_TRUE(sliced.lines == run_->lines);
  EXPECT_EQ(sliced.truth, run_->truth);
}

TEST_F(CityGeneratorTest, EveryLineFollowsTheContractInTimeOrder) {
  for (size_t i = 0; i < std::min<size_t>(index_->errors.size(), 10); ++i) {
    ADD_FAILURE() << index_->errors[i];
  }
  EXPECT_TRUE(index_->errors.empty()) << index_->errors.size() << " errors";
  // ts: RFC 3339 with milliseconds and the city's +08:00 offset.
  for (size_t i = 0; i < run_->lines.size(); i += 97) {
    const std::string& line = run_->lines[i];
    const size_t p = line.find("\"ts\":\"");
    ASSERT_NE(p, std::string::npos) << line;
    const std::string ts = line.substr(p + 6, 29);
    EXPECT_EQ(ts[19], '.') << line;
    EXPECT_EQ(ts.substr(23), "+08:00") << line;
  }
}

TEST_F(CityGeneratorTest, CountsArePlausible) {
  const CityStats& s = run_->stats;
  const double person_days =
      static_cast<double>(config_->persons) * config_->days;
  EXPECT_EQ(index_->person_records, config_->persons);
  EXPECT_EQ(s.person_records, config_->persons);
  EXPECT_EQ(s.risk_records, index_->risk_records);
  EXPECT_EQ(s.events(), index_->records.size());
  EXPECT_EQ(s.lines, run_->lines.size());
  const double scans = static_cast<double>(s.scans) / person_days;
  EXPECT_GE(scans, 3.0);
  EXPECT_LE(scans, 6.0);
  // Domestic trips at 0.3% a day, plus the boosted inbound arrivals.
  EXPECT_GE(s.transports / person_days, 0.002);
  EXPECT_LE(s.transports / person_days, 0.006);
  // Background 100 per 100k a day (September: below the annual mean), plus
  // outbreaks.
  EXPECT_GE(s.fevers / person_days * 1e5, 50);
  EXPECT_LE(s.fevers / person_days * 1e5, 250);
  // Codes: mostly green.
  EXPECT_LT(static_cast<double>(s.yellow_scans + s.red_scans), 0.01 * s.scans);
  EXPECT_GT(s.yellow_scans, 0u);
  EXPECT_GT(s.red_scans, 0u);
  uint64_t warnings = 0, criticals = 0;
  for (uint64_t v : {s.abnormal_code_warnings, s.abnormal_code_criticals})
    EXPECT_GT(v, 0u);
  // Recount abnormal_code_at_venue findings from the stream.
  std::set<std::tuple<std::string, int64_t, std::string>> seen;
  for (const Record& r : index_->records) {
    if (r.type != "scan" || r.color == "green" ||
        OneOf(r.venue_kind, {"test_site", "hospital"})) {
      continue;
    }
    if (seen.insert({r.person, LocalDay(r.ts, 480), r.color}).second) {
      ++(r.color == "red" ? criticals : warnings);
    }
  }
  EXPECT_EQ(warnings, s.abnormal_code_warnings);
  EXPECT_EQ(criticals, s.abnormal_code_criticals);
  // Occupations: realistic shares of key workers.
  std::map<std::string, int> occ;
  for (const auto& [p, o] : index_->occupation) ++occ[o];
  EXPECT_NEAR(occ["medical"] / 12000.0, 0.012, 0.005);
  EXPECT_NEAR(occ["transport"] / 12000.0, 0.025, 0.008);
  EXPECT_NEAR(occ["cold_chain"] / 12000.0, 0.0034, 0.003);
}

TEST_F(CityGeneratorTest, CommunitiesHold200To5000Persons) {
  std::map<std::string, int> sizes;
  for (const auto& [p, c] : index_->community) ++sizes[c];
  ASSERT_GT(sizes.size(), 2u);
  for (const auto& [c, n] : sizes) {
    EXPECT_GE(n, 200) << c;
    EXPECT_LE(n, 5000) << c;
  }
}

TEST_F(CityGeneratorTest, VenuePopularityIsSkewed) {
  std::map<std::pair<std::string, std::string>, int>
      per_venue_day;  // (kind, venue@day)
  for (const Record& r : index_->records) {
    if (r.type == "scan")
      ++per_venue_day[{r.venue_kind,
                       r.venue_id + "@" + std::to_string(LocalDay(r.ts, 480))}];
  }
  std::map<std::string, std::vector<int>> by_kind;
  for (const auto& [k, n] : per_venue_day) by_kind[k.first].push_back(n);
  for (auto& [k, v] : by_kind) std::sort(v.begin(), v.end());
  const auto& rest = by_kind["restaurant"];
  ASSERT_GT(rest.size(), 100u);
  EXPECT_LE(rest[rest.size() / 2], 30) << "most restaurants are small";
  EXPECT_GE(rest.back(), 10 * rest[rest.size() / 2]) << "a few are busy";
  EXPECT_GE(by_kind["mall"].back(), 1000) << "malls see thousands a day";
}

TEST_F(CityGeneratorTest, TruthReferencesExistingEvents) {
  // Every "*event_id" string anywhere in the truth names a line of the stream.
  std::vector<std::string> missing;
  size_t refs = 0;
  std::function<void(simdjson::dom::element)> walk =
      [&](simdjson::dom::element e) {
        if (e.is_object()) {
          for (auto [key, value] : simdjson::dom::object(e)) {
            std::string_view id;
            if (key.ends_with("event_id") &&
                value.get_string().get(id) == simdjson::SUCCESS) {
              ++refs;
              const std::string s(id);
              const bool risk = s.starts_with("risk");
              if (risk ? !index_->listings.count(s.substr(0, s.find('-')))
                       : !index_->Find(s)) {
                missing.push_back(s);
              }
            } else {
              walk(value);
            }
          }
        } else if (e.is_array()) {
          for (simdjson::dom::element x : simdjson::dom::array(e)) walk(x);
        }
      };
  walk(truth_);
  EXPECT_GT(refs, 100u);
  EXPECT_TRUE(missing.empty())
      << missing.size() << " missing, first " << missing.front();
}

TEST_F(CityGeneratorTest, ReturneesAreExactlyTheCoveredEntries) {
  // entry id -> listing keys
  const std::map<std::string, std::set<std::string>> expected =
      index_->Alerting();
  std::map<std::string, std::set<std::string>> actual;
  int retroactive = 0;
  for (simdjson::dom::element f : List("returnees")) {
    const Record* entry = index_->Find(S(f, "entry_event_id"));
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->person, S(f, "person_id"));
    EXPECT_EQ(entry->ts, Ts(f, "entry_ts"));
    std::set<std::string>& keys = actual[entry->event_id];
    for (simdjson::dom::element l : simdjson::dom::array(f["listings"])) {
      const std::string id = S(l, "listing_event_id");
      keys.insert(id.substr(0, id.find('-')));
      bool retro = false;
      ASSERT_EQ(l["retroactive"].get_bool().get(retro), simdjson::SUCCESS);
      EXPECT_EQ(retro, Ts(l, "listed_at") > entry->ts);
      retroactive += retro;
    }
  }
  EXPECT_GT(expected.size(), 20u);
  EXPECT_GT(retroactive, 0);
  EXPECT_EQ(actual, expected);
  // De-listed areas: entries after the de-listing are not returnees.
  for (simdjson::dom::element f : List("arrivals_after_delisting")) {
    EXPECT_EQ(expected.count(S(f, "entry_event_id")), 0u);
    EXPECT_LT(Ts(f, "delisted_at"), Ts(f, "entry_ts"));
  }
}

TEST_F(CityGeneratorTest, UntestedReturneesHaveNoTestWithin24h) {
  int tested = 0, untested = 0;
  for (simdjson::dom::element f : List("returnees")) {
    const Record* entry = index_->Find(S(f, "entry_event_id"));
    ASSERT_NE(entry, nullptr);
    bool any_test = false;
    for (size_t i : index_->scans_by_person[entry->person]) {
      const Record& s = index_->records[i];
      any_test |= s.venue_kind == "test_site" && s.ts >= entry->ts &&
                  s.ts <= entry->ts + 24 * kHourMs;
    }
    bool flag = false;
    ASSERT_EQ(f["tested_within_24h"].get_bool().get(flag), simdjson::SUCCESS);
    EXPECT_EQ(flag, any_test) << S(f, "entry_event_id");
    if (flag) {
      const Record* test = index_->Find(S(f, "test_event_id"));
      ASSERT_NE(test, nullptr);
      EXPECT_EQ(test->venue_kind, "test_site");
      EXPECT_EQ(test->person, entry->person);
    }
    (flag ? tested : untested)++;
  }
  EXPECT_GT(tested, 0);
  EXPECT_GT(untested, 0);
  EXPECT_EQ(List("untested_returnees").size(), static_cast<size_t>(untested));
}

TEST_F(CityGeneratorTest, QuarantineBreachesAreExactlyTheScansOutsideHome) {
  // Quarantine windows from the stream: 14 d after an inbound_released entry;
  // for a high-risk returnee, from when the listing is known until entry + 7 d.
  std::map<std::string, std::vector<std::pair<TimestampMs, TimestampMs>>>
      windows;
  const auto alerting = index_->Alerting();
  for (const Record& r : index_->records) {
    if (r.type != "transport") continue;
    if (r.category == "inbound_released")
      windows[r.person].push_back({r.ts, r.ts + 14 * kDayMs});
    const auto it = alerting.find(r.event_id);
    if (it == alerting.end()) continue;
    TimestampMs known = kNever;
    for (const std::string& key : it->second) {
      const Listing& l = index_->listings.at(key);
      if (l.level == "high") known = std::min(known, std::max(r.ts, l.listed));
    }
    if (known < r.ts + 7 * kDayMs)
      windows[r.person].push_back({known, r.ts + 7 * kDayMs});
  }
  std::set<std::string> expected;
  for (const auto& [person, ws] : windows) {
    for (size_t i : index_->scans_by_person[person]) {
      const Record& s = index_->records[i];
      if (OneOf(s.venue_kind, {"test_site", "hospital", "residential"}))
        continue;
      for (const auto& [from, until] : ws) {
        if (s.ts >= from && s.ts < until) expected.insert(s.event_id);
      }
    }
  }
  std::set<std::string> actual;
  bool inbound = false, high = false;
  for (simdjson::dom::element f : List("quarantine_breakers")) {
    const std::string reason = S(f, "reason");
    inbound |= reason == "inbound_released";
    high |= reason == "high_risk_returnee";
    for (simdjson::dom::element b : simdjson::dom::array(f["breach_scans"])) {
      const Record* scan = index_->Find(S(b, "event_id"));
      ASSERT_NE(scan, nullptr);
      EXPECT_EQ(scan->person, S(f, "person_id"));
      EXPECT_GE(scan->ts, Ts(f, "quarantine_from"));
      EXPECT_LT(scan->ts, Ts(f, "quarantine_until"));
      actual.insert(scan->event_id);
    }
  }
  EXPECT_TRUE(inbound);
  EXPECT_TRUE(high);
  EXPECT_EQ(actual, expected);
}

TEST_F(CityGeneratorTest, KeyWorkerAndReturneeFeversAreComplete) {
  // Exposures, from the stream: entries that alert returnee_risk_area.
  std::map<std::string, std::vector<TimestampMs>> exposures;  // by person
  for (const auto& [entry_id, keys] : index_->Alerting()) {
    const Record* entry = index_->Find(entry_id);
    exposures[entry->person].push_back(entry->ts);
  }
  std::set<std::string> key_expected, returnee_expected;
  for (const Record& r : index_->records) {
    if (r.type != "fever") continue;
    EXPECT_EQ(r.community, index_->community[r.person]);
    EXPECT_GE(r.temp_c, 37.3);
    EXPECT_LE(r.temp_c, 40.0);
    if (index_->occupation[r.person] != "other")
      key_expected.insert(r.event_id);
    for (const TimestampMs entry : exposures[r.person]) {
      // Within 14 days after the entry, whenever the listing came.
      if (entry <= r.ts && r.ts - entry <= 14 * kDayMs)
        returnee_expected.insert(r.event_id);
    }
  }
  std::set<std::string> key_actual, returnee_actual;
  for (simdjson::dom::element f : List("key_worker_fevers")) {
    key_actual.insert(S(f, "fever_event_id"));
    EXPECT_EQ(S(f, "occupation"), index_->occupation[S(f, "person_id")]);
  }
  for (simdjson::dom::element f : List("fever_returnees"))
    returnee_actual.insert(S(f, "fever_event_id"));
  EXPECT_FALSE(key_expected.empty());
  EXPECT_FALSE(returnee_expected.empty());
  EXPECT_EQ(key_actual, key_expected);
  EXPECT_EQ(returnee_actual, returnee_expected);
}

TEST_F(CityGeneratorTest, OutbreakCasesVisitedTheVenueThenTheFeverClinic) {
  const auto outbreaks = List("venue_outbreaks");
  ASSERT_EQ(outbreaks.size(), 2u);
  for (simdjson::dom::element o : outbreaks) {
    const std::string venue = S(o, "venue_id");
    const std::string kind = S(o, "venue_kind");
    EXPECT_TRUE(OneOf(kind, {"restaurant", "entertainment"})) << kind;
    const int64_t day = DaysFromCivil(std::stoi(S(o, "day").substr(0, 4)),
                                      std::stoi(S(o, "day").substr(5, 2)),
                                      std::stoi(S(o, "day").substr(8, 2)));
    std::set<std::string> visitors;
    for (const Record& r : index_->records) {
      if (r.type == "scan" && r.venue_id == venue && LocalDay(r.ts, 480) == day)
        visitors.insert(r.person);
    }
    int64_t count = 0;
    ASSERT_EQ(o["visitors"].get_int64().get(count), simdjson::SUCCESS);
    EXPECT_EQ(static_cast<size_t>(count), visitors.size());
    auto check_case = [&](simdjson::dom::element c, int min_days,
                          int max_days) {
      const Record* scan = index_->Find(S(c, "scan_event_id"));
      ASSERT_NE(scan, nullptr);
      EXPECT_EQ(scan->venue_id, venue);
      EXPECT_EQ(scan->person, S(c, "person_id"));
      EXPECT_EQ(LocalDay(scan->ts, 480), day);
      if (S(c, "fever_event_id").empty()) return;
      const Record* fever = index_->Find(S(c, "fever_event_id"));
      ASSERT_NE(fever, nullptr);
      EXPECT_EQ(fever->type, "fever");
      EXPECT_EQ(fever->person, scan->person);
      EXPECT_GE(LocalDay(fever->ts, 480) - day, min_days);
      EXPECT_LE(LocalDay(fever->ts, 480) - day, max_days);
    };
    check_case(o["index"], 1, 3);
    const auto secondary = simdjson::dom::array(o["secondary"]);
    EXPECT_GE(secondary.size(),
              static_cast<size_t>(std::min<int64_t>(2, count - 1)));
    for (simdjson::dom::element c : secondary) check_case(c, 2, 5);
  }
  for (simdjson::dom::element o : List("community_outbreaks")) {
    const auto cases = simdjson::dom::array(o["cases"]);
    EXPECT_EQ(cases.size(), 6u);
    for (simdjson::dom::element c : cases) {
      const Record* fever = index_->Find(S(c, "fever_event_id"));
      ASSERT_NE(fever, nullptr);
      EXPECT_EQ(fever->community, S(o, "community_id"));
    }
  }
}

TEST_F(CityGeneratorTest, MemoryIsBoundedByOneSlice) {
  CityConfig c;
  c.persons = 50000;
  c.days = 3;
  CityStats stats;
  uint64_t lines = 0;
  ASSERT_OK(GenerateCity(
      c,
      [&lines](std::string_view) {
        ++lines;
        return Status::Ok();
      },
      nullptr, &stats));
  EXPECT_EQ(stats.slices_per_day, 1);
  EXPECT_LT(stats.peak_slice_events, stats.events() / 2)
      << "at most one day held";
  c.max_slice_events = 20000;
  CityStats sliced;
  ASSERT_OK(GenerateCity(
      c, [](std::string_view) { return Status::Ok(); }, nullptr, &sliced));
  EXPECT_EQ(sliced.slices_per_day, 24);
  EXPECT_EQ(sliced.events(), stats.events());
  EXPECT_LT(sliced.peak_slice_events, 2 * c.max_slice_events);
  EXPECT_LT(sliced.peak_slice_events, sliced.events() / 20);
}

TEST_F(CityGeneratorTest, MalformedLinesCarryTheExpectedReason) {
  CityConfig c;
  c.persons = 3000;
  c.days = 2;
  c.malformed_fraction = 0.01;
  const CityRun run = Generate(c);
  simdjson::dom::parser truth_parser;
  simdjson::dom::element truth;
  ASSERT_EQ(truth_parser.parse(run.truth).get(truth), simdjson::SUCCESS);
  std::map<uint64_t, std::string> expected;
  for (simdjson::dom::element m :
       simdjson::dom::array(truth["malformed_lines"])) {
    int64_t line = 0;
    ASSERT_EQ(m["line"].get_int64().get(line), simdjson::SUCCESS);
    expected[static_cast<uint64_t>(line)] = S(m, "expected_reason");
  }
  EXPECT_EQ(expected.size(), run.stats.malformed_lines);
  EXPECT_GT(expected.size(), 100u);
  simdjson::dom::parser parser;
  std::set<std::string> reasons;
  for (size_t i = 0; i < run.lines.size(); ++i) {
    Record r;
    const std::string reason = CheckRecord(parser, run.lines[i], &r);
    const auto it = expected.find(i + 1);
    EXPECT_EQ(reason, it == expected.end() ? "" : it->second) << run.lines[i];
    reasons.insert(reason);
  }
  EXPECT_GE(reasons.size(), 9u);  // "" and every kind of fault
}

TEST_F(CityGeneratorTest, DuplicateLinesRepeatAnEventId) {
  CityConfig c;
  c.persons = 3000;
  c.days = 1;
  c.duplicate_fraction = 0.01;
  const CityRun run = Generate(c);
  uint64_t repeats = 0;
  for (size_t i = 1; i < run.lines.size(); ++i)
    repeats += run.lines[i] == run.lines[i - 1];
  EXPECT_GT(run.stats.duplicate_lines, 50u);
  EXPECT_EQ(repeats, run.stats.duplicate_lines);
}

TEST_F(CityGeneratorTest, RejectsBadConfig) {
  CityConfig c;
  c.persons = 0;
  EXPECT_EQ(GenerateCity(
                c, [](std::string_view) { return Status::Ok(); }, nullptr)
                .code(),
            StatusCode::kInvalidArgument);
  c = CityConfig();
  c.start_date = "2022-13-01";
  const Status st = GenerateCity(
      c, [](std::string_view) { return Status::Ok(); }, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("start_date"), std::string::npos)
      << st.ToString();
  c = CityConfig();
  c.trip_rate = 1.5;
  EXPECT_FALSE(c.Validate().ok());
}

TEST_F(CityGeneratorTest, SinkErrorStopsGeneration) {
  CityConfig c;
  c.persons = 2000;
  c.days = 2;
  int calls = 0;
  const Status st = GenerateCity(
      c,
      [&calls](std::string_view) {
        return ++calls == 10 ? Status::IoError("disk full") : Status::Ok();
      },
      nullptr);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_EQ(calls, 10);
}

TEST_F(CityGeneratorTest, FilesHoldTheSameLines) {
  CityConfig c;
  c.persons = 2000;
  c.days = 2;
  const CityRun run = Generate(c);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("epistream_city_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string events = (dir / "city.jsonl").string();
  const std::string truth = (dir / "truth.json").string();
  ASSERT_OK(GenerateCityToFiles(c, events, truth));
  std::ifstream in(events);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(n, run.lines.size());
    EXPECT_EQ(line, run.lines[n]);
    ++n;
  }
  EXPECT_EQ(n, run.lines.size());
  std::stringstream t;
  t << std::ifstream(truth).rdbuf();
  EXPECT_EQ(t.str(), run.truth);
  EXPECT_EQ(
      GenerateCityToFiles(c, (dir / "no/such/dir/x.jsonl").string(), truth)
          .code(),
      StatusCode::kIoError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace epistream
