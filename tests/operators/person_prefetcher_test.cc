// PersonPrefetcher with PersonStage: a state loaded ahead of use reaches the
// cache only while it is still the person's current state. Each test reads a
// person on the helper thread, changes that person on the stage thread (an
// event, a checkpoint's write-back and eviction, commits: staged, in flight,
// applied), then installs the read: a stale install would lose the event in
// between, which the person's dedupe of event ids makes visible (a repeat of
// it would no longer count as a duplicate). Run over the in-memory store and
// RocksDB with synchronous and asynchronous commits.
#include "operators/person_prefetcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"
#include "operators/person_stage.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/small_rocks.h"
#include "tests/testing/record_builders.h"

namespace epistream {
namespace {

enum class StoreKind { kMem, kRocksSync, kRocksAsync };

// What happens to the person between the helper's read and the install.
enum class Between {
  kNothing,         // the read is current: installed
  kEventOnly,       // an event: the person is cached (dirty) by then
  kFlush,           // event, write-back and eviction, not committed
  kCommit,          // ... and committed (applied, synced)
  kCommitInFlight,  // ... committed without Sync: async ones maybe not applied
  kTwoCommits,      // ... committed, then another checkpoint
};

struct Case {
  StoreKind store;
  Between between;
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  static const char* kStores[] = {"Mem", "RocksSync", "RocksAsync"};
  static const char* kBetween[] = {"Nothing", "EventOnly",      "Flush",
                                   "Commit",  "CommitInFlight", "TwoCommits"};
  return std::string(kStores[static_cast<int>(info.param.store)]) +
         kBetween[static_cast<int>(info.param.between)];
}

// gtest prints a failing case by its name, not its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << CaseName(::testing::TestParamInfo<Case>(c, 0));
}

class PersonPrefetcherTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (GetParam().store == StoreKind::kMem) {
      store_ = std::make_unique<MemKvStore>();
    } else {
      dir_ =
          (std::filesystem::temp_directory_path() / "epistream-prefetch-XXXXXX")
              .string();
      ASSERT_NE(mkdtemp(dir_.data()), nullptr);
      auto opened = RocksKvStore::Open(dir_ + "/db", testing::SmallStateConfig());
      ASSERT_OK(opened.status());
      rocks_ = opened->get();
      if (GetParam().store == StoreKind::kRocksAsync)
        rocks_->EnableAsyncCommit();
      store_ = std::move(opened).value();
    }
    areas_ = std::make_unique<RiskAreaTable>(store_.get());
    registry_ = std::make_unique<PersonRegistry>(store_.get());
    PersonStageOptions opts;
    opts.cache_entries = 0;  // every checkpoint evicts every person
    opts.encoded_cache_bytes = 0;  // and keeps none encoded
    stage_ = std::make_unique<PersonStage>(opts, store_.get(), areas_.get(),
                                           registry_.get());
    ASSERT_OK(stage_->AddPartition(0, &alerts_));
    prefetcher_ = std::make_unique<PersonPrefetcher>(store_.get());
  }
  void TearDown() override {
    prefetcher_.reset();
    stage_.reset();
    registry_.reset();
    areas_.reset();
    store_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Applies a scan of `person`; true if it was a duplicate.
  bool Scan(const std::string& event_id, const std::string& person) {
    Event e = testing::MakeEvent(EventType::kScan, event_id, person,
                                 ts_ += kMinuteMs);
    e.venue_id = "v1";
    e.venue_kind = VenueKind::kMall;
    bool duplicate = false;
    EXPECT_OK(stage_->OnEvent(e, 0, &duplicate, &alerts_));
    return duplicate;
  }
  Status Flush() { return stage_->Flush(); }
  Status Commit() {
    EPI_RETURN_IF_ERROR(store_->Commit());
    return rocks_ != nullptr ? rocks_->Sync() : Status::Ok();
  }
  Status Checkpoint() {
    EPI_RETURN_IF_ERROR(Flush());
    return Commit();
  }
  // Plans and loads `person` on the helper thread.
  std::unique_ptr<PrefetchBatch> Read(const std::string& person) {
    std::unique_ptr<PrefetchBatch> b = prefetcher_->NewBatch();
    stage_->PlanPrefetch(0, person, b.get());
    prefetcher_->Submit(std::move(b));
    return prefetcher_->Take();
  }

  std::string dir_;
  std::unique_ptr<KvStore> store_;
  RocksKvStore* rocks_ = nullptr;
  std::unique_ptr<RiskAreaTable> areas_;
  std::unique_ptr<PersonRegistry> registry_;
  std::unique_ptr<PersonStage> stage_;
  std::unique_ptr<PersonPrefetcher> prefetcher_;
  std::vector<Alert> alerts_;
  TimestampMs ts_ = 1'663'632'000'000;  // 2022-09-20T00:00Z
};

TEST_P(PersonPrefetcherTest, PrefetchedStateNeverReplacesANewerOne) {
  const Between between = GetParam().between;
  ASSERT_FALSE(Scan("e1", "A"));
  ASSERT_OK(Checkpoint());        // A = {e1}, stored and evicted
  ASSERT_FALSE(Scan("b1", "B"));  // another person, for the second commit
  std::unique_ptr<PrefetchBatch> read = Read("A");  // A = {e1} as read
  ASSERT_NE(read, nullptr);
  ASSERT_OK(read->read_status);
  ASSERT_EQ(read->keys.size(), 1u);
  ASSERT_EQ(read->results[0], PrefetchBatch::kFound);

  if (between != Between::kNothing) {
    ASSERT_FALSE(Scan("e2", "A"));  // A = {e1, e2}
  }
  switch (between) {
    case Between::kNothing:
    case Between::kEventOnly:
      break;
    case Between::kFlush:
      ASSERT_OK(Flush());
      break;
    case Between::kCommit:
      ASSERT_OK(Checkpoint());
      break;
    case Between::kCommitInFlight:
      ASSERT_OK(Flush());
      ASSERT_OK(store_->Commit());  // no Sync: applied or not, unknown
      break;
    case Between::kTwoCommits:
      ASSERT_OK(Checkpoint());
      ASSERT_FALSE(Scan("b2", "B"));
      ASSERT_OK(Checkpoint());
      break;
  }
  const uint64_t misses = stage_->cache_misses();
  stage_->InstallPrefetched(read.get());
  prefetcher_->Recycle(std::move(read));
  const PrefetchCounters& c = stage_->prefetch_counters();
  if (between == Between::kNothing) {
    EXPECT_EQ(c.installed, 1u);
    EXPECT_TRUE(Scan("e1", "A"));  // the installed state knows e1...
    EXPECT_EQ(stage_->cache_misses(), misses);  // ...and was a hit
    return;
  }
  EXPECT_EQ(c.installed, 0u);
  EXPECT_EQ(c.stale + c.cached, 1u);
  EXPECT_EQ(c.cached, between == Between::kEventOnly ? 1u : 0u);
  // Whatever happened, A's current state knows both events.
  EXPECT_TRUE(Scan("e2", "A"));
  EXPECT_TRUE(Scan("e1", "A"));
  ASSERT_OK(Checkpoint());
  EXPECT_TRUE(Scan("e2", "A"));
}

// The same fixture, one case per store.
class PersonPrefetcherStoreTest : public PersonPrefetcherTest {};

TEST_P(PersonPrefetcherStoreTest,
       NewPersonsInstallEmptyAndCachedOnesAreNotPlanned) {
  ASSERT_FALSE(Scan("e1", "A"));  // cached: not planned
  std::unique_ptr<PrefetchBatch> b = prefetcher_->NewBatch();
  stage_->PlanPrefetch(0, "A", b.get());
  stage_->PlanPrefetch(0, "N", b.get());
  stage_->PlanPrefetch(0, "N", b.get());  // repeats are read once
  stage_->PlanPrefetch(7, "X", b.get());  // partition not owned: not planned
  prefetcher_->Submit(std::move(b));
  b = prefetcher_->Take();
  ASSERT_OK(b->read_status);
  ASSERT_EQ(b->keys.size(), 1u);
  EXPECT_EQ(b->keys[0], PersonCache::StateKey(0, "N"));
  EXPECT_EQ(b->results[0], PrefetchBatch::kNotFound);
  const uint64_t misses = stage_->cache_misses();
  stage_->InstallPrefetched(b.get());
  EXPECT_EQ(stage_->prefetch_counters().installed, 1u);
  EXPECT_FALSE(Scan("n1", "N"));
  EXPECT_EQ(stage_->cache_misses(), misses);
  EXPECT_TRUE(Scan("n1", "N"));
  EXPECT_EQ(prefetcher_->outstanding(), 0u);
  EXPECT_EQ(prefetcher_->Take(), nullptr);
}

TEST_P(PersonPrefetcherStoreTest, UndecodableStateIsLeftToTheStageRead) {
  store_->Put(PersonCache::StateKey(0, "C"), std::string("\xff\xff\xff", 3));
  ASSERT_OK(Commit());
  // Taken on again, as after a restart: the partition now has stored state.
  stage_->RemovePartition(0);
  ASSERT_OK(stage_->AddPartition(0, &alerts_));
  std::unique_ptr<PrefetchBatch> b = Read("C");
  ASSERT_EQ(b->results.size(), 1u);
  EXPECT_EQ(b->results[0], PrefetchBatch::kUnusable);
  stage_->InstallPrefetched(b.get());
  EXPECT_EQ(stage_->prefetch_counters().installed, 0u);
  Event e = testing::MakeEvent(EventType::kScan, "c1", "C", ts_);
  bool duplicate = false;
  EXPECT_EQ(stage_->OnEvent(e, 0, &duplicate, &alerts_).code(),
            StatusCode::kCorruption);
}

std::vector<Case> AllCases() {
  std::vector<Case> out;
  for (StoreKind s :
       {StoreKind::kMem, StoreKind::kRocksSync, StoreKind::kRocksAsync}) {
    for (Between b :
         {Between::kNothing, Between::kEventOnly, Between::kFlush,
          Between::kCommit, Between::kCommitInFlight, Between::kTwoCommits}) {
      out.push_back({s, b});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Stores, PersonPrefetcherTest,
                         ::testing::ValuesIn(AllCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(
    Stores, PersonPrefetcherStoreTest,
    ::testing::Values(Case{StoreKind::kMem, Between::kNothing},
                      Case{StoreKind::kRocksSync, Between::kNothing},
                      Case{StoreKind::kRocksAsync, Between::kNothing}),
    CaseName);

}  // namespace
}  // namespace epistream
