// Retention (CONTRACT.md section 5): data older than the retention (21 days
// of event time by default) is deleted, no person record outlives it. Fifty
// persons leave every kind of per-person state on day 0 (a risky arrival with
// its arrivals-index entry and test-deadline timer, an exposure, a venue
// trail, a fever visit, a test, a quarantine, day flags, dedupe ids); the city
// then goes on for 30 days. Afterwards the RocksDB state, opened read-only
// and scanned key by key, holds no key and no value naming any of them, and
// a person who stayed active keeps only records younger than the retention.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "engine/event_time.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "operators/person_cache.h"
#include "operators/person_state.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::TempDir;

constexpr int kOldPersons = 50;
constexpr int kDays = 30;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    t0_ = *ParseRfc3339("2022-09-01T00:00:00.000+08:00");
  }

  // (ts, line): the input is sorted by event time before it is written.
  using Input = std::vector<std::pair<TimestampMs, std::string>>;
  static std::pair<TimestampMs, std::string> Line(const std::string& type, const std::string& event_id,
                                                  TimestampMs ts, const std::string& person,
                                                  const std::string& fields) {
    return {ts, "{\"type\":\"" + type + "\",\"event_id\":\"" + event_id + "\",\"ts\":" +
                    std::to_string(ts) + ",\"person_id\":\"" + person + "\"," + fields + "}"};
  }

  // Day-0 life of one person: every kind of state the person stage keeps.
  static void Day0(const std::string& p, TimestampMs at, Input* in) {
    in->push_back(Line("transport", p + "-t", at, p,
                       "\"hub_id\":\"hub-1\",\"mode\":\"rail\",\"origin_region\":\"420106\","
                       "\"trip_regions\":[\"3101\"],\"category\":\"inbound_released\""));
    in->push_back(Line("scan", p + "-s1", at + kHourMs, p,
                       "\"venue_id\":\"venue-7\",\"code_color\":\"yellow\",\"venue_kind\":\"market\""));
    in->push_back(Line("scan", p + "-s2", at + 2 * kHourMs, p,
                       "\"venue_id\":\"site-1\",\"code_color\":\"green\",\"venue_kind\":\"test_site\""));
    in->push_back(Line("fever", p + "-f", at + 3 * kHourMs, p,
                       "\"clinic_id\":\"clinic-1\",\"temp_c\":38.4,\"community_id\":\"comm-1\""));
  }

  TempDir dir_;
  TimestampMs t0_ = 0;
};

TEST_F(RetentionTest, NoPersonRecordOutlivesTheRetention) {
  Input in;
  in.emplace_back(t0_ - kDayMs, "{\"type\":\"risk_area\",\"event_id\":\"ra-1\",\"ts\":" +
                                    std::to_string(t0_ - kDayMs) + ",\"region\":\"420106\",\"level\":\"high\"}");
  std::vector<std::string> old_ids;
  for (int i = 0; i < kOldPersons; ++i) {
    old_ids.push_back("old-person-" + std::to_string(1000 + i));
    Day0(old_ids.back(), t0_ + i * kMinuteMs, &in);
  }
  // One person active on day 0 and again on day 25.
  const std::string active = "active-person-1";
  Day0(active, t0_, &in);
  // The city goes on: one scan per hour for 30 days (a clock of other
  // persons), the active person's day-25 scan among them.
  for (int h = 6; h <= kDays * 24; ++h) {
    const TimestampMs ts = t0_ + h * kHourMs;
    const std::string p = "clock-" + std::to_string(h % 97);
    in.push_back(Line("scan", "clock-" + std::to_string(h), ts, p,
                      "\"venue_id\":\"venue-" + std::to_string(h % 13) + "\",\"code_color\":\"green\""));
    if (h == 25 * 24) {
      in.push_back(Line("scan", active + "-late", ts + kMinuteMs, active,
                        "\"venue_id\":\"venue-9\",\"code_color\":\"green\",\"venue_kind\":\"mall\""));
    }
  }
  std::stable_sort(in.begin(), in.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string text;
  for (const auto& [ts, line] : in) text += line + "\n";
  ASSERT_TRUE(testing::WriteFile(dir_.File("in.jsonl"), text));
  testing::RunOptions opts;
  opts.state_dir = dir_.File("state");
  opts.batch_size = 500;
  auto run = testing::RunEngine(dir_.File("in.jsonl"), dir_.path(), "run", opts);
  ASSERT_EQ(run.process.exit_code, 0) << run.process.Describe();
  // The old persons did raise alerts (their state existed), nothing was late.
  size_t old_alerts = 0;
  for (const std::string& a : run.alerts) old_alerts += a.find("old-person-") != std::string::npos;
  ASSERT_GE(old_alerts, static_cast<size_t>(kOldPersons));
  ASSERT_EQ(run.deadletters, std::vector<std::string>{});

  auto store = RocksKvStore::OpenReadOnly(dir_.File("state"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  size_t keys = 0, person_states = 0;
  std::vector<std::string> leftovers;
  std::string active_state;
  const std::string state_marker(1, 'S');
  ASSERT_OK((*store)->Scan("", "", [&](std::string_view k, std::string_view v) {
    ++keys;
    if (k.size() > 3 && k[0] == state_keys::kPartitioned && k[3] == 'S') ++person_states;
    for (const std::string& id : old_ids) {
      if (k.find(id) != std::string_view::npos || v.find(id) != std::string_view::npos) {
        leftovers.push_back(std::string(k.substr(0, 1)) + "..." + id);
        break;
      }
    }
    if (k == PersonCache::StateKey(0, active)) active_state = std::string(v);
    return true;
  }));
  EXPECT_EQ(leftovers, std::vector<std::string>{}) << "state older than the retention survived";
  EXPECT_GT(person_states, 0u) << "recent persons must keep their state";

  // The active person: kept, but only records younger than the retention.
  ASSERT_FALSE(active_state.empty());
  PersonState s;
  ASSERT_OK(s.Decode(active_state));
  const TimestampMs horizon = t0_ + kDays * kDayMs - 21 * kDayMs;
  EXPECT_GE(s.last_ts, horizon);
  EXPECT_TRUE(s.entries.empty());
  EXPECT_TRUE(s.exposures.empty());
  EXPECT_TRUE(s.fevers.empty());
  EXPECT_TRUE(s.tests.empty());
  for (const VisitRecord& v : s.trail) EXPECT_GE(v.ts, horizon);
  for (const QuarantineRecord& q : s.quarantines) EXPECT_GE(q.end, horizon);
  for (const SeenEvent& e : s.seen) EXPECT_GE(e.ts, horizon);
  EXPECT_EQ(s.seen.size(), 1u);  // the day-25 scan only
  std::printf("state after %d days: %zu keys, %zu person states, no key of the %d old persons\n",
              kDays, keys, person_states, kOldPersons);
}

}  // namespace
}  // namespace epistream
