// The person rules at the edges CONTRACT.md section 4 names, driven through
// PersonStage on an in-memory store.
#include "operators/person_stage.h"

#include <gtest/gtest.h>

#include <memory>

#include "engine/mem_kv_store.h"
#include "engine/state_keys.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace {

TimestampMs T(const char* s) {
  auto t = ParseRfc3339(s);
  EXPECT_TRUE(t.has_value()) << s;
  return t.value_or(0);
}

class PersonStageTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(); }

  // A new stage over the same store, as after a process restart.
  void Restart() {
    if (stage_) {
      ASSERT_OK(stage_->Flush());
      ASSERT_OK(store_.Commit());
    }
    areas_ = std::make_unique<RiskAreaTable>(&store_);
    registry_ = std::make_unique<PersonRegistry>(&store_);
    ASSERT_OK(areas_->Load());
    ASSERT_OK(registry_->Load());
    stage_ = std::make_unique<PersonStage>(opts_, &store_, areas_.get(), registry_.get());
    ASSERT_OK(stage_->AddPartition(0, &alerts_));
    if (wm_ != kMinTimestamp) ASSERT_OK(stage_->OnWatermark(wm_, &alerts_));
  }

  void Scan(const std::string& id, const std::string& person, const char* ts,
            VenueKind kind = VenueKind::kMall, CodeColor color = CodeColor::kGreen,
            const std::string& venue = "v1") {
    Event e = testing::MakeEvent(EventType::kScan, id, person, T(ts));
    e.venue_id = venue;
    e.venue_kind = kind;
    e.code_color = color;
    Feed(e);
  }
  void Arrive(const std::string& id, const std::string& person, const char* ts,
              const std::string& origin, std::vector<std::string> trip = {},
              TravelCategory category = TravelCategory::kDomestic) {
    Event e = testing::MakeEvent(EventType::kTransport, id, person, T(ts));
    e.hub_id = "hub1";
    e.mode = TransportMode::kRail;
    e.origin_region = origin;
    e.trip_regions = std::move(trip);
    e.category = category;
    Feed(e);
  }
  void Fever(const std::string& id, const std::string& person, const char* ts) {
    Event e = testing::MakeEvent(EventType::kFever, id, person, T(ts));
    e.clinic_id = "c1";
    e.temp_c = 38.5;
    Feed(e);
  }
  void List(const std::string& id, const std::string& region, RiskLevel level, const char* ts) {
    Event e = testing::MakeEvent(EventType::kRiskArea, id, "", T(ts));
    e.region = region;
    e.level = level;
    if (areas_->Apply(e)) ASSERT_OK(stage_->OnListing(e, &alerts_));
  }
  void Register(const std::string& person, Occupation occupation) {
    registry_->Apply(testing::MakePersonRecord(person, "", occupation));
  }
  void Feed(const Event& e) {
    bool dup = false;
    ASSERT_OK(stage_->OnEvent(e, 0, &dup, &alerts_));
    last_duplicate_ = dup;
  }
  void Advance(const char* ts) {
    wm_ = T(ts);
    ASSERT_OK(stage_->OnWatermark(wm_, &alerts_));
  }
  // "rule/severity/person" of each alert, in order.
  std::vector<std::string> Found() const {
    std::vector<std::string> out;
    for (const Alert& a : alerts_) {
      out.push_back(std::string(a.rule) + "/" + std::string(a.severity) + "/" + a.person_id);
    }
    return out;
  }
  using V = std::vector<std::string>;

  MemKvStore store_;
  PersonStageOptions opts_;
  std::unique_ptr<RiskAreaTable> areas_;
  std::unique_ptr<PersonRegistry> registry_;
  std::unique_ptr<PersonStage> stage_;
  std::vector<Alert> alerts_;
  TimestampMs wm_ = kMinTimestamp;
  bool last_duplicate_ = false;
};

TEST_F(PersonStageTest, PrefixListingCoversStreetCodes) {
  List("r1", "4201", RiskLevel::kHigh, "2022-09-18T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-20T08:00:00+08:00", "420106");
  Arrive("t2", "p2", "2022-09-20T08:00:00+08:00", "420201");
  EXPECT_EQ(Found(), V({"returnee_risk_area/critical/p1"}));
  EXPECT_EQ(alerts_[0].ts, T("2022-09-20T08:00:00+08:00"));
}

TEST_F(PersonStageTest, ListingCoversArrivalsUpTo14DaysBefore) {
  List("r1", "420106", RiskLevel::kMedium, "2022-09-18T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-04T00:00:00+08:00", "420106");        // L - 14 d exactly
  Arrive("t2", "p2", "2022-09-03T23:59:59.999+08:00", "420106");    // 1 ms earlier
  EXPECT_EQ(Found(), V({"returnee_risk_area/warning/p1"}));
}

TEST_F(PersonStageTest, DelistingEndsCoverage) {
  List("r1", "420106", RiskLevel::kHigh, "2022-09-01T00:00:00+08:00");
  List("r2", "420106", RiskLevel::kLow, "2022-09-10T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-10T00:00:00+08:00", "420106");  // t == D: covered
  Arrive("t2", "p2", "2022-09-10T00:00:00.001+08:00", "420106");
  EXPECT_EQ(Found(), V({"returnee_risk_area/critical/p1"}));
}

TEST_F(PersonStageTest, RetroactiveListingFiresOnceWithArrivalTime) {
  Arrive("t1", "p1", "2022-09-20T08:00:00+08:00", "420106");
  Scan("s1", "p2", "2022-09-21T08:00:00+08:00");
  Advance("2022-09-21T07:55:00+08:00");
  EXPECT_TRUE(alerts_.empty());
  List("r1", "4201", RiskLevel::kHigh, "2022-09-21T00:00:00+08:00");
  ASSERT_EQ(Found(), V({"returnee_risk_area/critical/p1"}));
  EXPECT_EQ(alerts_[0].ts, T("2022-09-20T08:00:00+08:00"));
  // The same listing again (another record) does not alert twice.
  List("r2", "4201", RiskLevel::kHigh, "2022-09-21T01:00:00+08:00");
  EXPECT_EQ(alerts_.size(), 1u);
}

TEST_F(PersonStageTest, RetroactiveListingIgnoresArrivalsBeyondTheWindow) {
  Arrive("t1", "p1", "2022-09-01T08:00:00+08:00", "420106");
  Advance("2022-09-16T09:00:00+08:00");  // t1 is 15 days behind the watermark
  List("r1", "4201", RiskLevel::kHigh, "2022-09-10T00:00:00+08:00");
  EXPECT_TRUE(alerts_.empty());
}

TEST_F(PersonStageTest, ListingReadWhilePartitionUnownedFiresOnAssignment) {
  Arrive("t1", "p1", "2022-09-20T08:00:00+08:00", "420106");
  ASSERT_OK(stage_->Flush());
  ASSERT_OK(store_.Commit());
  // A restart: the table is read to its end before partitions are assigned.
  stage_ = std::make_unique<PersonStage>(opts_, &store_, areas_.get(), registry_.get());
  List("r1", "4201", RiskLevel::kHigh, "2022-09-21T00:00:00+08:00");
  EXPECT_TRUE(alerts_.empty());
  ASSERT_OK(stage_->AddPartition(0, &alerts_));
  EXPECT_EQ(Found(), V({"returnee_risk_area/critical/p1"}));
  ASSERT_OK(stage_->AddPartition(0, &alerts_));  // idempotent
  EXPECT_EQ(alerts_.size(), 1u);
}

TEST_F(PersonStageTest, OneAlertPerPersonPerArea) {
  List("r1", "420106", RiskLevel::kHigh, "2022-09-18T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-20T08:00:00+08:00", "420106");
  Arrive("t2", "p1", "2022-09-22T08:00:00+08:00", "420106");
  Restart();
  Arrive("t3", "p1", "2022-09-23T08:00:00+08:00", "420106");
  EXPECT_EQ(alerts_.size(), 1u);
}

TEST_F(PersonStageTest, TripRegionsMatch) {
  List("r1", "310115", RiskLevel::kMedium, "2022-09-18T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-20T08:00:00+08:00", "110101", {"320102", "310115"});
  EXPECT_EQ(Found(), V({"returnee_risk_area/warning/p1"}));
}

TEST_F(PersonStageTest, UntestedFiresAtDeadlineOnlyWithoutTest) {
  List("r1", "420106", RiskLevel::kMedium, "2022-09-18T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-20T08:00:00+08:00", "420106");
  Arrive("t2", "p2", "2022-09-20T08:00:00+08:00", "420106");
  Scan("s1", "p2", "2022-09-21T07:59:59+08:00", VenueKind::kTestSite);
  alerts_.clear();
  Advance("2022-09-21T07:59:59.999+08:00");
  EXPECT_TRUE(alerts_.empty());
  Advance("2022-09-21T08:00:00+08:00");
  ASSERT_EQ(Found(), V({"returnee_untested/warning/p1"}));
  EXPECT_EQ(alerts_[0].ts, T("2022-09-21T08:00:00+08:00"));
}

TEST_F(PersonStageTest, TestDeadlineSurvivesRestart) {
  List("r1", "420106", RiskLevel::kMedium, "2022-09-18T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-20T08:00:00+08:00", "420106");
  alerts_.clear();
  Restart();
  Advance("2022-09-22T00:00:00+08:00");
  EXPECT_EQ(Found(), V({"returnee_untested/warning/p1"}));
}

TEST_F(PersonStageTest, InboundQuarantineIs14DaysHighRiskIs7) {
  Arrive("t1", "p1", "2022-09-01T10:00:00+08:00", "US", {}, TravelCategory::kInboundReleased);
  List("r1", "420106", RiskLevel::kHigh, "2022-08-30T00:00:00+08:00");
  Arrive("t2", "p2", "2022-09-01T10:00:00+08:00", "420106");
  alerts_.clear();
  Scan("s1", "p1", "2022-09-14T12:00:00+08:00");  // day 13: breach
  Scan("s2", "p2", "2022-09-07T12:00:00+08:00");  // day 6: breach
  Scan("s3", "p2", "2022-09-08T12:00:00+08:00");  // day 7 after 10:00: free
  Scan("s4", "p1", "2022-09-15T10:00:00+08:00");  // exactly 14 d: free
  EXPECT_EQ(Found(), V({"quarantine_breach/warning/p1", "quarantine_breach/warning/p2"}));
}

TEST_F(PersonStageTest, QuarantineExemptKindsAndOncePerLocalDay) {
  Arrive("t1", "p1", "2022-09-01T10:00:00+08:00", "US", {}, TravelCategory::kInboundReleased);
  Scan("s1", "p1", "2022-09-02T10:00:00+08:00", VenueKind::kTestSite);
  Scan("s2", "p1", "2022-09-02T11:00:00+08:00", VenueKind::kHospital);
  Scan("s3", "p1", "2022-09-02T12:00:00+08:00", VenueKind::kResidential);
  EXPECT_TRUE(alerts_.empty());
  Scan("s4", "p1", "2022-09-02T23:30:00+08:00");
  Scan("s5", "p1", "2022-09-02T23:45:00+08:00");
  Scan("s6", "p1", "2022-09-03T00:30:00+08:00");  // the next local day
  EXPECT_EQ(Found(), V({"quarantine_breach/warning/p1", "quarantine_breach/warning/p1"}));
}

TEST_F(PersonStageTest, AbnormalCodeOncePerDayAndSeverity) {
  Scan("s1", "p1", "2022-09-02T09:00:00+08:00", VenueKind::kMall, CodeColor::kYellow);
  Scan("s2", "p1", "2022-09-02T10:00:00+08:00", VenueKind::kMall, CodeColor::kYellow);
  Scan("s3", "p1", "2022-09-02T11:00:00+08:00", VenueKind::kMarket, CodeColor::kRed);
  Scan("s4", "p1", "2022-09-02T12:00:00+08:00", VenueKind::kTestSite, CodeColor::kRed);
  Scan("s5", "p2", "2022-09-02T12:00:00+08:00", VenueKind::kHospital, CodeColor::kRed);
  Scan("s6", "p1", "2022-09-03T09:00:00+08:00", VenueKind::kMall, CodeColor::kYellow);
  EXPECT_EQ(Found(), V({"abnormal_code_at_venue/warning/p1", "abnormal_code_at_venue/critical/p1",
                        "abnormal_code_at_venue/warning/p1"}));
  EXPECT_NE(alerts_[0].alert_id, alerts_[2].alert_id);
}

TEST_F(PersonStageTest, FeverReturneeWithin14DaysOfExposure) {
  List("r1", "420106", RiskLevel::kHigh, "2022-09-01T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-02T08:00:00+08:00", "420106");
  alerts_.clear();
  Fever("f1", "p1", "2022-09-16T08:00:00+08:00");  // exactly 14 d
  Fever("f2", "p1", "2022-09-16T08:00:00.001+08:00");
  EXPECT_EQ(Found(), V({"fever_returnee/critical/p1"}));
}

TEST_F(PersonStageTest, RetroactiveExposureFiresForEarlierFever) {
  Arrive("t1", "p1", "2022-09-02T08:00:00+08:00", "420106");
  Fever("f1", "p1", "2022-09-05T08:00:00+08:00");
  Advance("2022-09-05T08:00:00+08:00");
  EXPECT_TRUE(alerts_.empty());
  List("r1", "420106", RiskLevel::kMedium, "2022-09-06T00:00:00+08:00");
  EXPECT_EQ(Found(), V({"returnee_risk_area/warning/p1", "fever_returnee/critical/p1"}));
  EXPECT_EQ(alerts_[1].ts, T("2022-09-05T08:00:00+08:00"));
}

TEST_F(PersonStageTest, FeverKeyWorkerNeedsRegisteredOccupation) {
  Register("p1", Occupation::kColdChain);
  Register("p2", Occupation::kOther);
  Fever("f1", "p1", "2022-09-05T08:00:00+08:00");
  Fever("f2", "p2", "2022-09-05T08:00:00+08:00");
  Fever("f3", "p3", "2022-09-05T08:00:00+08:00");
  EXPECT_EQ(Found(), V({"fever_key_worker/warning/p1"}));
}

TEST_F(PersonStageTest, DuplicateEventIsIgnored) {
  Scan("s1", "p1", "2022-09-02T09:00:00+08:00", VenueKind::kMall, CodeColor::kRed);
  EXPECT_FALSE(last_duplicate_);
  Restart();
  Scan("s1", "p1", "2022-09-02T09:00:00+08:00", VenueKind::kMall, CodeColor::kRed);
  EXPECT_TRUE(last_duplicate_);
  EXPECT_EQ(alerts_.size(), 1u);
}

TEST_F(PersonStageTest, AlertIdsAreDeterministic) {
  List("r1", "420106", RiskLevel::kHigh, "2022-09-01T00:00:00+08:00");
  Arrive("t1", "p1", "2022-09-02T08:00:00+08:00", "420106");
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_EQ(alerts_[0].alert_id, MakeAlertId("returnee_risk_area", "p1", "420106"));
  EXPECT_EQ(alerts_[0].alert_id.size(), 32u);
}

TEST_F(PersonStageTest, RetentionDeletesIdlePersons) {
  Scan("s1", "p1", "2022-09-01T09:00:00+08:00");
  Arrive("t1", "p1", "2022-09-01T10:00:00+08:00", "420106");
  Advance("2022-09-01T10:00:00+08:00");
  ASSERT_OK(stage_->Flush());
  ASSERT_OK(store_.Commit());
  Scan("s2", "p2", "2022-09-30T09:00:00+08:00");
  Advance("2022-09-30T09:00:00+08:00");  // > 21 d later: a sweep runs
  ASSERT_OK(stage_->Flush());
  ASSERT_OK(store_.Commit());
  int persons = 0, index = 0;
  const std::string sp = state_keys::PartitionPrefix(0, 'S');
  ASSERT_OK(store_.Scan(sp, PrefixEnd(sp), [&](std::string_view, std::string_view) { ++persons; return true; }));
  const std::string ip = state_keys::PartitionPrefix(0, 'R');
  ASSERT_OK(store_.Scan(ip, PrefixEnd(ip), [&](std::string_view, std::string_view) { ++index; return true; }));
  EXPECT_EQ(persons, 1);  // only p2
  EXPECT_EQ(index, 0);
}

}  // namespace
}  // namespace epistream
