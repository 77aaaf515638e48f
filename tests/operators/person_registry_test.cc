// PersonRegistry: upserts report the community a person had before (what the
// cluster stage moves population counts from), and the registry survives a
// commit and a reload from the store, last record winning.
#include "operators/person_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/record_builders.h"
#include "tests/testing/small_rocks.h"

namespace epistream {
namespace {

using testing::MakePersonRecord;

TEST(PersonRegistryTest, ApplyReportsThePreviousCommunity) {
  MemKvStore store;
  PersonRegistry registry(&store);
  std::string before = "stale";
  registry.Apply(MakePersonRecord("p1", "c-north", Occupation::kMedical),
                 &before);
  EXPECT_EQ(before, "");  // a new person had none
  registry.Apply(MakePersonRecord("p1", "c-south", Occupation::kOther),
                 &before);
  EXPECT_EQ(before, "c-north");
  registry.Apply(MakePersonRecord("p2", "c-east", Occupation::kTransport),
                 &before);
  EXPECT_EQ(before, "");

  const PersonInfo* p1 = registry.Find("p1");
  ASSERT_NE(p1, nullptr);
  EXPECT_EQ(p1->community_id, "c-south");
  EXPECT_EQ(p1->occupation, Occupation::kOther);
  EXPECT_EQ(registry.Find("p3"), nullptr);
  EXPECT_EQ(registry.size(), 2u);
}

TEST(PersonRegistryTest, ReloadsTheLatestRecordsAfterACommit) {
  const std::string dir = ::testing::TempDir() + "/person_registry_reload";
  std::filesystem::remove_all(dir);
  {
    auto store = testing::OpenSmallRocks(dir);
    ASSERT_NE(store, nullptr);
    PersonRegistry registry(store.get());
    registry.Apply(MakePersonRecord("p1", "c-north", Occupation::kMedical));
    registry.Apply(MakePersonRecord("p2", "c-east", Occupation::kColdChain));
    registry.Apply(MakePersonRecord("p1", "c-south", Occupation::kTransport));
    ASSERT_OK(store->Commit());
    // Not committed: gone after the reopen.
    registry.Apply(MakePersonRecord("p3", "c-west", Occupation::kOther));
  }
  auto store = testing::OpenSmallRocks(dir);
  ASSERT_NE(store, nullptr);
  PersonRegistry registry(store.get());
  ASSERT_OK(registry.Load());
  EXPECT_EQ(registry.size(), 2u);
  const PersonInfo* p1 = registry.Find("p1");
  ASSERT_NE(p1, nullptr);
  EXPECT_EQ(p1->community_id, "c-south");
  EXPECT_EQ(p1->occupation, Occupation::kTransport);
  const PersonInfo* p2 = registry.Find("p2");
  ASSERT_NE(p2, nullptr);
  EXPECT_EQ(p2->community_id, "c-east");
  EXPECT_EQ(p2->occupation, Occupation::kColdChain);
  EXPECT_EQ(registry.Find("p3"), nullptr);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace epistream
