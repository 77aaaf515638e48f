// Which listing an alert names must not depend on when the risk-area table
// was read (CONTRACT.md section 2: joins use event time; section 4: alerts are
// emitted once). The same records are driven through PersonStage in two
// orders:
//   - tables first: every risk_area record before any event, as Kafka mode
//     reads the global table to its end before the stream topics;
//   - interleaved: all records in event-time order, as `epistream run
//     --input` reads a time-ordered file;
// with the watermark handled as CityPipeline does (max ts - 5 min after every
// stream event and after every listing, max ts at the end of the input). The
// alerts, serialised without the wall clock, must be byte-identical as sets
// (their order differs: a retroactive finding is emitted when its listing is
// read).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "operators/alert.h"
#include "operators/person_registry.h"
#include "operators/person_stage.h"
#include "operators/risk_area_table.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace {

constexpr int kTz = 8 * 60;
constexpr DurationMs kOutOfOrder = 5 * kMinuteMs;

TimestampMs T(const char* s) {
  auto t = ParseRfc3339(s);
  EXPECT_TRUE(t.has_value()) << s;
  return t.value_or(0);
}

Event Listing(const std::string& id, const std::string& region, RiskLevel level, TimestampMs ts) {
  Event e = testing::MakeEvent(EventType::kRiskArea, id, "", ts);
  e.region = region;
  e.level = level;
  return e;
}

Event Arrival(const std::string& id, const std::string& person, TimestampMs ts,
              const std::string& origin, std::vector<std::string> trip = {}) {
  Event e = testing::MakeEvent(EventType::kTransport, id, person, ts);
  e.hub_id = "hub1";
  e.mode = TransportMode::kRail;
  e.origin_region = origin;
  e.trip_regions = std::move(trip);
  return e;
}

Event ScanAt(const std::string& id, const std::string& person, TimestampMs ts, VenueKind kind) {
  Event e = testing::MakeEvent(EventType::kScan, id, person, ts);
  e.venue_id = kind == VenueKind::kTestSite ? "ts1" : "mall1";
  e.venue_kind = kind;
  e.code_color = CodeColor::kGreen;
  return e;
}

Event FeverAt(const std::string& id, const std::string& person, TimestampMs ts) {
  Event e = testing::MakeEvent(EventType::kFever, id, person, ts);
  e.clinic_id = "c1";
  e.temp_c = 38.5;
  return e;
}

// One engine over a fresh in-memory store; records are fed in the order given.
class Engine {
 public:
  Engine() : areas_(&store_), registry_(&store_), stage_(opts_, &store_, &areas_, &registry_) {
    EXPECT_OK(stage_.AddPartition(0, &alerts_));
  }

  void Feed(const Event& e) {
    if (e.type == EventType::kRiskArea) {
      if (!areas_.Apply(e)) return;
      EXPECT_OK(stage_.OnListing(e, &alerts_));
      // CityPipeline advances after a listing: retroactive deadlines may be due.
      if (wm_ != kMinTimestamp) EXPECT_OK(stage_.OnWatermark(wm_, &alerts_));
      return;
    }
    bool duplicate = false;
    EXPECT_OK(stage_.OnEvent(e, 0, &duplicate, &alerts_));
    max_ts_ = std::max(max_ts_, e.ts);
    wm_ = std::max(wm_, max_ts_ - kOutOfOrder);
    EXPECT_OK(stage_.OnWatermark(wm_, &alerts_));
  }

  // End of input: the watermark advances to the largest ts seen.
  void End() {
    if (max_ts_ == kMinTimestamp) return;
    wm_ = max_ts_;
    EXPECT_OK(stage_.OnWatermark(wm_, &alerts_));
  }

  // Every alert's JSON (emitted_at fixed), sorted.
  std::vector<std::string> Json() const {
    std::vector<std::string> out;
    for (const Alert& a : alerts_) {
      std::string s;
      AlertToJson(a, kTz, 0, &s);
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  const std::vector<Alert>& alerts() const { return alerts_; }

 private:
  MemKvStore store_;
  PersonStageOptions opts_;
  RiskAreaTable areas_;
  PersonRegistry registry_;
  PersonStage stage_;
  std::vector<Alert> alerts_;
  TimestampMs max_ts_ = kMinTimestamp;
  TimestampMs wm_ = kMinTimestamp;
};

// `records` in event-time order (stable for equal ts).
std::vector<Event> InEventTime(std::vector<Event> records) {
  std::stable_sort(records.begin(), records.end(),
                   [](const Event& a, const Event& b) { return a.ts < b.ts; });
  return records;
}

// On the heap: an engine's stage points into it, so it never moves.
std::unique_ptr<Engine> TablesFirst(const std::vector<Event>& records) {
  auto run_ptr = std::make_unique<Engine>();
  Engine& run = *run_ptr;
  for (const Event& e : records) {
    if (e.type == EventType::kRiskArea) run.Feed(e);
  }
  for (const Event& e : records) {
    if (e.type != EventType::kRiskArea) run.Feed(e);
  }
  run.End();
  return run_ptr;
}

std::unique_ptr<Engine> InOrder(const std::vector<Event>& records) {
  auto run = std::make_unique<Engine>();
  for (const Event& e : records) run->Feed(e);
  run->End();
  return run;
}

// The alerts of `rule` (first one) must exist; returns its evidence.
std::string EvidenceOf(const Engine& run, std::string_view rule) {
  for (const Alert& a : run.alerts()) {
    if (a.rule == rule) return a.evidence_json;
  }
  ADD_FAILURE() << "no " << rule << " alert";
  return "";
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// An arrival covered only by listings made after its 24 h deadline: the
// interleaved run fires when the first of them (medium, 420106) is read; the
// tables-first run knows the later, more severe one (high, 4201) as well.
// Both must name the earliest listed.
TEST(ListingOrderTest, UntestedNamesEarliestListingMadeAfterTheDeadline) {
  const std::vector<Event> records = InEventTime({
      Arrival("t1", "p1", T("2022-09-20T08:00:00+08:00"), "420106"),
      ScanAt("s1", "p2", T("2022-09-21T12:00:00+08:00"), VenueKind::kMall),
      Listing("rA", "420106", RiskLevel::kMedium, T("2022-09-22T09:00:00+08:00")),
      ScanAt("s2", "p2", T("2022-09-22T09:30:00+08:00"), VenueKind::kMall),
      Listing("rB", "4201", RiskLevel::kHigh, T("2022-09-22T10:00:00+08:00")),
      ScanAt("s3", "p2", T("2022-09-23T12:00:00+08:00"), VenueKind::kMall),
  });
  const auto kafka = TablesFirst(records);
  const auto file = InOrder(records);
  EXPECT_EQ(Joined(kafka->Json()), Joined(file->Json()));
  EXPECT_NE(EvidenceOf(*kafka, "returnee_untested").find("\"rA\""), std::string::npos)
      << EvidenceOf(*kafka, "returnee_untested");
  EXPECT_EQ(kafka->Json().size(), 3u);  // two returnee_risk_area, one returnee_untested
}

// Two listings made after the deadline, both read before the watermark
// passes it (within the out-of-orderness): the interleaved run knows both
// when the timer fires, and still names the earlier one, as the tables-first
// run does.
TEST(ListingOrderTest, UntestedNamesEarliestOfTwoLateListingsKnownAtTheTimer) {
  const std::vector<Event> records = InEventTime({
      Arrival("t1", "p1", T("2022-09-20T08:00:00+08:00"), "420106"),
      Listing("rA", "420106", RiskLevel::kMedium, T("2022-09-21T08:01:00+08:00")),
      Listing("rB", "4201", RiskLevel::kHigh, T("2022-09-21T08:02:00+08:00")),
      ScanAt("s1", "p2", T("2022-09-21T08:03:00+08:00"), VenueKind::kMall),
      ScanAt("s2", "p2", T("2022-09-21T08:10:00+08:00"), VenueKind::kMall),
  });
  const auto kafka = TablesFirst(records);
  const auto file = InOrder(records);
  EXPECT_EQ(Joined(kafka->Json()), Joined(file->Json()));
  EXPECT_NE(EvidenceOf(*file, "returnee_untested").find("\"rA\""), std::string::npos)
      << EvidenceOf(*file, "returnee_untested");
}

// Listings in force by the deadline still rank by severity (then code), in
// both orders: the high one listed after the arrival but before the deadline.
TEST(ListingOrderTest, UntestedNamesMostSevereListingInForceByTheDeadline) {
  const std::vector<Event> records = InEventTime({
      Listing("rA", "420106", RiskLevel::kMedium, T("2022-09-18T00:00:00+08:00")),
      Arrival("t1", "p1", T("2022-09-20T08:00:00+08:00"), "420106"),
      Listing("rB", "4201", RiskLevel::kHigh, T("2022-09-20T20:00:00+08:00")),
      Listing("rC", "42", RiskLevel::kHigh, T("2022-09-22T00:00:00+08:00")),  // late
      ScanAt("s1", "p2", T("2022-09-23T12:00:00+08:00"), VenueKind::kMall),
  });
  const auto kafka = TablesFirst(records);
  const auto file = InOrder(records);
  EXPECT_EQ(Joined(kafka->Json()), Joined(file->Json()));
  EXPECT_NE(EvidenceOf(*file, "returnee_untested").find("\"rB\""), std::string::npos)
      << EvidenceOf(*file, "returnee_untested");
}

// A fever visit whose arrival is covered only by listings made after the
// visit: the interleaved run fires fever_returnee (retroactively) when the
// first is read; both runs must name it, not the later high one.
TEST(ListingOrderTest, FeverReturneeNamesEarliestListingMadeAfterTheVisit) {
  const std::vector<Event> records = InEventTime({
      Arrival("t1", "p1", T("2022-09-02T08:00:00+08:00"), "420106"),
      ScanAt("s0", "p1", T("2022-09-02T12:00:00+08:00"), VenueKind::kTestSite),
      FeverAt("f1", "p1", T("2022-09-05T08:00:00+08:00")),
      ScanAt("s1", "p2", T("2022-09-05T12:00:00+08:00"), VenueKind::kMall),
      Listing("rA", "420106", RiskLevel::kMedium, T("2022-09-06T00:00:00+08:00")),
      ScanAt("s2", "p2", T("2022-09-06T12:00:00+08:00"), VenueKind::kMall),
      Listing("rB", "4201", RiskLevel::kHigh, T("2022-09-07T00:00:00+08:00")),
      ScanAt("s3", "p1", T("2022-09-08T12:00:00+08:00"), VenueKind::kMall),  // quarantined
  });
  const auto kafka = TablesFirst(records);
  const auto file = InOrder(records);
  EXPECT_EQ(Joined(kafka->Json()), Joined(file->Json()));
  EXPECT_NE(EvidenceOf(*file, "fever_returnee").find("\"rA\""), std::string::npos)
      << EvidenceOf(*file, "fever_returnee");
  EXPECT_NE(EvidenceOf(*kafka, "quarantine_breach"), "");
}

// Listings in force at the visit rank by severity for the same arrival, in
// both orders, ahead of a more severe one listed after the visit.
TEST(ListingOrderTest, FeverReturneeNamesMostSevereListingInForceAtTheVisit) {
  const std::vector<Event> records = InEventTime({
      Listing("rA", "310115", RiskLevel::kMedium, T("2022-08-30T00:00:00+08:00")),
      Listing("rB", "420106", RiskLevel::kHigh, T("2022-08-31T00:00:00+08:00")),
      Arrival("t1", "p1", T("2022-09-02T08:00:00+08:00"), "420106", {"310115"}),
      FeverAt("f1", "p1", T("2022-09-05T08:00:00+08:00")),
      Listing("rC", "42", RiskLevel::kHigh, T("2022-09-06T00:00:00+08:00")),
      ScanAt("s1", "p2", T("2022-09-07T12:00:00+08:00"), VenueKind::kMall),
  });
  const auto kafka = TablesFirst(records);
  const auto file = InOrder(records);
  EXPECT_EQ(Joined(kafka->Json()), Joined(file->Json()));
  EXPECT_NE(EvidenceOf(*file, "fever_returnee").find("\"rB\""), std::string::npos)
      << EvidenceOf(*file, "fever_returnee");
}

// The stream topics are read independently: a fever visit can be applied
// before the arrival that explains it (within the allowed lateness). The
// arrival then brings all its exposures at once, and the visit must name the
// one it names when the arrival is read first (the most severe), not the one
// whose area code sorts first.
TEST(ListingOrderTest, FeverReadBeforeItsArrivalNamesTheSameListing) {
  const std::vector<Event> tables = {
      Listing("rA", "310115", RiskLevel::kMedium, T("2022-08-30T00:00:00+08:00")),
      Listing("rB", "420106", RiskLevel::kHigh, T("2022-08-31T00:00:00+08:00")),
  };
  const Event arrival = Arrival("t1", "p1", T("2022-09-05T07:30:00+08:00"), "420106", {"310115"});
  const Event fever = FeverAt("f1", "p1", T("2022-09-05T08:00:00+08:00"));
  Engine arrival_first;
  Engine fever_first;
  for (const Event& e : tables) {
    arrival_first.Feed(e);
    fever_first.Feed(e);
  }
  arrival_first.Feed(arrival);
  arrival_first.Feed(fever);
  fever_first.Feed(fever);
  fever_first.Feed(arrival);
  arrival_first.End();
  fever_first.End();
  EXPECT_EQ(Joined(arrival_first.Json()), Joined(fever_first.Json()));
  EXPECT_NE(EvidenceOf(fever_first, "fever_returnee").find("\"rB\""), std::string::npos)
      << EvidenceOf(fever_first, "fever_returnee");
}

// Random small cities: every listing, de-listing and level change, arrival,
// test, venue scan and fever visit at a distinct millisecond. Tables-first
// and interleaved must give the same alerts, byte for byte.
TEST(ListingOrderTest, RandomCitiesGiveTheSameAlertsInBothOrders) {
  std::mt19937_64 rng(20221129);
  auto below = [&](uint64_t n) { return static_cast<int64_t>(rng() % n); };
  const TimestampMs start = T("2022-09-01T00:00:00+08:00");
  const std::vector<std::string> areas = {"42", "4201", "420106", "420107", "31", "310115"};
  const std::vector<std::string> origins = {"420106", "420107", "420201", "310115", "110101"};
  const RiskLevel levels[] = {RiskLevel::kHigh, RiskLevel::kMedium, RiskLevel::kLow};
  int compared_alerts = 0;
  int named_listings = 0;  // returnee_untested and fever_returnee alerts
  for (int city = 0; city < 150; ++city) {
    std::vector<Event> records;
    int64_t used_ms = 0;
    // Distinct times: a random minute plus a distinct millisecond.
    auto at = [&](int64_t lo_min, int64_t span_min) {
      return start + (lo_min + below(span_min)) * kMinuteMs + (++used_ms);
    };
    const int listings = 2 + static_cast<int>(below(8));
    for (int i = 0; i < listings; ++i) {
      records.push_back(Listing("r" + std::to_string(i), areas[below(areas.size())],
                                levels[below(3)], at(0, 20 * 24 * 60)));
    }
    const int persons = 2 + static_cast<int>(below(5));
    for (int p = 0; p < persons; ++p) {
      const std::string person = "p" + std::to_string(p);
      const int arrivals = 1 + static_cast<int>(below(2));
      for (int a = 0; a < arrivals; ++a) {
        std::vector<std::string> trip;
        if (below(2) == 0) trip.push_back(origins[below(origins.size())]);
        const TimestampMs t = at(0, 16 * 24 * 60);
        records.push_back(Arrival(person + "t" + std::to_string(a), person, t,
                                  origins[below(origins.size())], trip));
        if (below(2) == 0) {  // a test, within the 24 h or not
          records.push_back(ScanAt(person + "x" + std::to_string(a), person,
                                   t + (1 + below(36 * 60)) * kMinuteMs + (++used_ms),
                                   VenueKind::kTestSite));
        }
        if (below(2) == 0) {  // a fever visit within 14 days
          records.push_back(FeverAt(person + "f" + std::to_string(a), person,
                                    t + (1 + below(14 * 24 * 60)) * kMinuteMs + (++used_ms)));
        }
        records.push_back(ScanAt(person + "m" + std::to_string(a), person,
                                 t + (1 + below(10 * 24 * 60)) * kMinuteMs + (++used_ms),
                                 VenueKind::kMall));
      }
    }
    records = InEventTime(std::move(records));
    const auto kafka = TablesFirst(records);
    const auto file = InOrder(records);
    ASSERT_EQ(Joined(kafka->Json()), Joined(file->Json())) << "city " << city;
    compared_alerts += static_cast<int>(kafka->Json().size());
    for (const Alert& a : kafka->alerts()) {
      if (a.rule == "returnee_untested" || a.rule == "fever_returnee") ++named_listings;
    }
  }
  std::printf("listing order: 150 cities, %d alerts compared, %d naming a listing\n",
              compared_alerts, named_listings);
  // The cities must exercise the rules, not pass vacuously.
  EXPECT_GT(compared_alerts, 300);
  EXPECT_GT(named_listings, 100);
}

}  // namespace
}  // namespace epistream
