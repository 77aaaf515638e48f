// CapturingKvStore passes calls through, or keeps writes while capturing and
// replays them into its target in their order; reads while capturing are
// refused, and Replay reports the first refusal.
#include "engine/capturing_kv_store.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engine/mem_kv_store.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

using Map = std::map<std::string, std::string>;

// Everything a Scan of `store` sees, staged writes included.
Map Contents(KvStore& store) {
  Map out;
  EXPECT_OK(store.Scan("", "", [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  }));
  return out;
}

TEST(CapturingKvStoreTest, PassesCallsThroughWhenNotCapturing) {
  MemKvStore target;
  CapturingKvStore store(&target);
  store.Put("a", "1");
  store.PutForCommit("b", "2");
  store.Put("c", "3");
  store.Delete("c");
  std::string v;
  bool found = false;
  ASSERT_OK(store.Get("a", &v, &found));
  EXPECT_TRUE(found);
  EXPECT_EQ(v, "1");
  EXPECT_EQ(Contents(target), (Map{{"a", "1"}, {"b", "2"}}));
  ASSERT_OK(store.Commit());
  EXPECT_EQ(Contents(store), (Map{{"a", "1"}, {"b", "2"}}));
}

TEST(CapturingKvStoreTest, KeepsWritesUntilReplayThenAppliesThemInOrder) {
  MemKvStore target;
  target.Put("gone", "x");
  target.Put("kept", "y");
  CapturingKvStore store(&target);
  store.Capture();
  EXPECT_TRUE(store.capturing());
  store.PutForCommit("k1", "first");
  store.Put("k2", std::string(1000, 'v'));
  store.PutForCommit("k1", "second");  // the later write wins
  store.DeleteForCommit("gone");
  store.Put("k3", "");
  store.Delete("k3");   // put then deleted: absent
  store.Put("k4", "");  // an empty value is a value
  // Nothing reached the target yet.
  EXPECT_EQ(Contents(target), (Map{{"gone", "x"}, {"kept", "y"}}));
  ASSERT_OK(store.Replay());
  EXPECT_FALSE(store.capturing());
  EXPECT_EQ(Contents(target), (Map{{"k1", "second"},
                                   {"k2", std::string(1000, 'v')},
                                   {"k4", ""},
                                   {"kept", "y"}}));
  // Passing through again, and a second capture starts empty.
  store.Put("k5", "5");
  store.Capture();
  store.Put("k6", "6");
  ASSERT_OK(store.Replay());
  ASSERT_OK(store.Commit());
  EXPECT_EQ(Contents(target).count("k5"), 1u);
  EXPECT_EQ(Contents(target).count("k6"), 1u);
  EXPECT_EQ(Contents(target).size(), 6u);
}

TEST(CapturingKvStoreTest, ReadsWhileCapturingAreRefusedAndReportedByReplay) {
  MemKvStore target;
  target.Put("a", "1");
  CapturingKvStore store(&target);
  store.Capture();
  std::string v;
  bool found = false;
  EXPECT_EQ(store.Get("a", &v, &found).code(), StatusCode::kInternal);
  EXPECT_EQ(
      store
          .Scan("", "", [](std::string_view, std::string_view) { return true; })
          .code(),
      StatusCode::kInternal);
  EXPECT_EQ(store.DeleteRange("a", "b").code(), StatusCode::kInternal);
  EXPECT_EQ(store.Commit().code(), StatusCode::kInternal);
  store.Put("b", "2");
  const Status replayed = store.Replay();
  EXPECT_EQ(replayed.code(), StatusCode::kInternal);
  EXPECT_NE(replayed.message().find("Get"), std::string::npos)
      << replayed.message();
  // The writes were replayed all the same, and the error is reported once.
  EXPECT_EQ(Contents(target), (Map{{"a", "1"}, {"b", "2"}}));
  store.Capture();
  EXPECT_OK(store.Replay());
  ASSERT_OK(store.Get("a", &v, &found));
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace epistream
