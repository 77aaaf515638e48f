// PutForCommit / DeleteForCommit (the checkpoint write-back path) behave
// exactly like Put / Delete on both stores: read-your-writes, last write wins
// in call order across the two paths, one atomic commit, nothing durable
// before it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/kv_store.h"
#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/small_rocks.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

std::string NumKey(int i) { return testing::Num("s", i); }

class CommitStagingTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            "epistream-staging-test-XXXXXX")
               .string();
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool rocks() const { return GetParam(); }
  // A RocksDB store is reopened from disk (staged writes are dropped); an
  // in-memory one is replaced by an empty one.
  void Reopen() {
    if (!rocks()) {
      store_ = std::make_unique<MemKvStore>();
      return;
    }
    store_.reset();
    auto opened = RocksKvStore::Open(dir_, testing::SmallStateConfig());
    ASSERT_OK(opened.status());
    store_ = std::move(opened).value();
  }
  std::string Get(const std::string& key) {
    std::string v;
    bool found = false;
    EXPECT_OK(store_->Get(key, &v, &found));
    return found ? v : "<none>";
  }
  std::vector<std::string> ScanAll() {
    std::vector<std::string> out;
    EXPECT_OK(store_->Scan("", "", [&](std::string_view k, std::string_view v) {
      out.push_back(std::string(k) + "=" + std::string(v));
      return true;
    }));
    return out;
  }

  std::string dir_;
  std::unique_ptr<KvStore> store_;
};

TEST_P(CommitStagingTest, GetSeesStagedWrite) {
  store_->Put("a", "1");
  ASSERT_OK(store_->Commit());
  store_->PutForCommit("a", "2");
  store_->PutForCommit("b", "3");
  EXPECT_EQ(Get("a"), "2");
  EXPECT_EQ(Get("b"), "3");
  EXPECT_EQ(Get("c"), "<none>");
}

TEST_P(CommitStagingTest, ScanSeesStagedWritesAndDeletes) {
  store_->Put("a", "1");
  store_->Put("b", "1");
  ASSERT_OK(store_->Commit());
  store_->DeleteForCommit("a");
  store_->PutForCommit("c", "2");
  store_->Put("d", "3");
  EXPECT_EQ(ScanAll(), (std::vector<std::string>{"b=1", "c=2", "d=3"}));
  ASSERT_OK(store_->Commit());
  EXPECT_EQ(ScanAll(), (std::vector<std::string>{"b=1", "c=2", "d=3"}));
}

TEST_P(CommitStagingTest, LaterIndexedWriteOfSameKeyWins) {
  store_->PutForCommit("k", "staged");
  store_->Put("k", "indexed");
  EXPECT_EQ(Get("k"), "indexed");
  ASSERT_OK(store_->Commit());
  EXPECT_EQ(Get("k"), "indexed");
  store_->PutForCommit("k", "staged2");
  store_->Delete("k");
  ASSERT_OK(store_->Commit());
  EXPECT_EQ(Get("k"), "<none>");
}

TEST_P(CommitStagingTest, LaterStagedWriteOfSameKeyWins) {
  store_->Put("k", "indexed");
  store_->PutForCommit("k", "staged");
  store_->Put("other", "x");  // an unrelated indexed write in between
  ASSERT_OK(store_->Commit());
  EXPECT_EQ(Get("k"), "staged");
  EXPECT_EQ(Get("other"), "x");
}

TEST_P(CommitStagingTest, OneAtomicCommitThatSurvivesReopen) {
  for (int i = 0; i < 1000; ++i) store_->PutForCommit(NumKey(1000 + i), "v");
  store_->Put("offset", "42");
  EXPECT_GT(store_->StagedBytes(), 1000u);
  Reopen();  // not committed: nothing of it is visible
  EXPECT_EQ(Get("offset"), "<none>");
  EXPECT_EQ(Get("s1000"), "<none>");
  for (int i = 0; i < 1000; ++i) store_->PutForCommit(NumKey(1000 + i), "v");
  store_->Put("offset", "42");
  ASSERT_OK(store_->Commit());
  EXPECT_EQ(store_->StagedBytes(), 0u);
  if (rocks()) Reopen();  // durable on disk; the in-memory store keeps it
  EXPECT_EQ(Get("offset"), "42");
  EXPECT_EQ(Get("s1999"), "v");
  EXPECT_EQ(ScanAll().size(), 1001u);
}

TEST_P(CommitStagingTest, UnsortedStagedKeysStayExact) {
  // Keys staged out of order, probed inside and outside their range.
  store_->PutForCommit("m", "1");
  store_->PutForCommit("c", "2");
  store_->PutForCommit("x", "3");
  EXPECT_EQ(Get("a"), "<none>");
  EXPECT_EQ(Get("d"), "<none>");
  EXPECT_EQ(Get("c"), "2");
  store_->Put("d", "4");
  store_->PutForCommit("d", "5");
  ASSERT_OK(store_->Commit());
  EXPECT_EQ(ScanAll(), (std::vector<std::string>{"c=2", "d=5", "m=1", "x=3"}));
}

// Async commit: reads see the batch in flight (staged values, deletes, plain
// writes), a Scan waits for it, Sync makes it durable.
TEST(AsyncCommitTest, ReadsSeeTheBatchInFlight) {
  std::string dir =
      (std::filesystem::temp_directory_path() / "epistream-async-test-XXXXXX")
          .string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  {
    auto opened = RocksKvStore::Open(dir, testing::SmallStateConfig());
    ASSERT_OK(opened.status());
    RocksKvStore& store = **opened;
    store.EnableAsyncCommit();
    store.Put("gone", "x");
    ASSERT_OK(store.Commit());
    for (int round = 0; round < 20; ++round) {
      for (int i = 0; i < 500; ++i)
        store.PutForCommit(NumKey(1000 + i), std::to_string(round));
      store.Put("round", std::to_string(round));
      if (round == 3) store.Delete("gone");
      ASSERT_OK(store.Commit());  // returns while the write may be in flight
      std::string v;
      bool found = false;
      ASSERT_OK(store.Get("round", &v, &found));
      ASSERT_TRUE(found);
      EXPECT_EQ(v, std::to_string(round));
      ASSERT_OK(store.Get(NumKey(1000 + round), &v, &found));
      ASSERT_TRUE(found);
      EXPECT_EQ(v, std::to_string(round));
      ASSERT_OK(store.Get("gone", &v, &found));
      EXPECT_EQ(found, round < 3);
      if (round % 5 == 0) {
        size_t n = 0;
        ASSERT_OK(
            store.Scan("s", "t", [&](std::string_view, std::string_view value) {
              EXPECT_EQ(value, std::to_string(round));
              ++n;
              return true;
            }));
        EXPECT_EQ(n, 500u);
      }
    }
    ASSERT_OK(store.Sync());
  }
  {
    auto reopened = RocksKvStore::Open(dir, StateConfig());
    ASSERT_OK(reopened.status());
    std::string v;
    bool found = false;
    ASSERT_OK((*reopened)->Get("round", &v, &found));
    EXPECT_EQ(v, "19");
    ASSERT_OK((*reopened)->Get(NumKey(1499), &v, &found));
    EXPECT_EQ(v, "19");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

INSTANTIATE_TEST_SUITE_P(Stores, CommitStagingTest,
                         ::testing::Values(false, true), [](const auto& info) {
                           return info.param ? "Rocks" : "Mem";
                         });

}  // namespace
}  // namespace epistream
