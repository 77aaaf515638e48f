// PersonStage's daily retention sweep over both of its paths: a partition
// taken on empty, whose every state is then cached encoded (walked in
// memory), and one whose states an earlier run stored (read back from the
// store). Either way an expired person is deleted, a pruned one rewritten,
// and the stage goes on from the pruned state.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/event_time.h"
#include "engine/mem_kv_store.h"
#include "operators/person_cache.h"
#include "operators/person_registry.h"
#include "operators/person_stage.h"
#include "operators/person_state.h"
#include "operators/risk_area_table.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace {

constexpr TimestampMs kT0 = 1'700'000'000'000;  // any day will do

Event ScanOf(const std::string& person, const std::string& venue, TimestampMs ts) {
  Event e = testing::MakeEvent(EventType::kScan, person + "@" + std::to_string(ts), person, ts);
  e.venue_id = venue;
  e.venue_kind = VenueKind::kMall;
  e.code_color = CodeColor::kGreen;
  return e;
}

class SweepTest : public ::testing::Test {
 protected:
  std::unique_ptr<PersonStage> NewStage() {
    auto stage = std::make_unique<PersonStage>(PersonStageOptions(), &store_, &areas_, &registry_);
    EXPECT_OK(stage->AddPartition(0, &alerts_));
    return stage;
  }
  // One event, then the watermark at its time (sweeping on a new day).
  void Feed(PersonStage* stage, const Event& e) {
    bool duplicate = false;
    EXPECT_OK(stage->OnEvent(e, 0, &duplicate, &alerts_));
    EXPECT_OK(stage->OnWatermark(e.ts, &alerts_));
  }
  // "old" on day 0; "kept" on day 0 and day 15.
  void FeedDays0And15(PersonStage* stage) {
    Feed(stage, ScanOf("old", "v1", kT0));
    Feed(stage, ScanOf("kept", "v1", kT0 + kMinuteMs));
    Feed(stage, ScanOf("kept", "v2", kT0 + 15 * kDayMs));
  }
  Status Checkpoint(PersonStage* stage) {
    EPI_RETURN_IF_ERROR(stage->Flush());
    return store_.Commit();
  }
  // The stored state of `person`; false if there is none.
  bool Stored(const std::string& person, PersonState* s) {
    std::string bytes;
    bool found = false;
    EXPECT_OK(store_.Get(PersonCache::StateKey(0, person), &bytes, &found));
    if (found) EXPECT_OK(s->Decode(bytes));
    return found;
  }
  // After the sweep at day 22: "old" (last seen on day 0) is gone; "kept"
  // (days 0 and 15) keeps only its day-15 records.
  void ExpectSwept() {
    PersonState s;
    EXPECT_FALSE(Stored("old", &s)) << "expired person still stored";
    ASSERT_TRUE(Stored("kept", &s));
    ASSERT_EQ(s.seen.size(), 1u);
    EXPECT_EQ(s.seen[0].ts, kT0 + 15 * kDayMs);
    ASSERT_EQ(s.trail.size(), 1u);
    EXPECT_EQ(s.trail[0].venue_id, "v2");
  }

  MemKvStore store_;
  RiskAreaTable areas_{&store_};
  PersonRegistry registry_{&store_};
  std::vector<Alert> alerts_;
};

TEST_F(SweepTest, APartitionHeldInMemoryIsSweptThere) {
  auto stage = NewStage();
  FeedDays0And15(stage.get());
  ASSERT_OK(Checkpoint(stage.get()));
  Feed(stage.get(), ScanOf("clock", "v3", kT0 + 22 * kDayMs + kHourMs));  // sweeps
  ASSERT_OK(Checkpoint(stage.get()));
  ExpectSwept();
  // The cache serves the pruned state too: one more event of "kept" stores
  // its day-15 and day-23 records only.
  Feed(stage.get(), ScanOf("kept", "v4", kT0 + 23 * kDayMs));
  ASSERT_OK(Checkpoint(stage.get()));
  PersonState s;
  ASSERT_TRUE(Stored("kept", &s));
  EXPECT_EQ(s.seen.size(), 2u);
}

TEST_F(SweepTest, APartitionStoredByAnEarlierRunIsSweptFromTheStore) {
  {
    auto first = NewStage();
    FeedDays0And15(first.get());
    ASSERT_OK(Checkpoint(first.get()));
  }
  auto restarted = NewStage();  // the store holds partition 0's states
  ASSERT_OK(restarted->OnWatermark(kT0 + 15 * kDayMs, &alerts_));
  Feed(restarted.get(), ScanOf("clock", "v3", kT0 + 22 * kDayMs + kHourMs));  // sweeps
  ASSERT_OK(Checkpoint(restarted.get()));
  ExpectSwept();
}

}  // namespace
}  // namespace epistream
