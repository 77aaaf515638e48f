// EventTimeMerger's wait rule under a stalled topic (engine/event_time_merger.h):
// a topic partition heard from since assignment is waited for however long
// (its broker may be down: releasing the other topics first would apply a
// person's later scans before an earlier arrival; broker_fault_test.cc), one
// never heard from only for max_wait_ms, and the wait is memory-bounded.
// Here with the integration-labelled reliability tests because it pins the
// behaviour that test found.
#include "engine/event_time_merger.h"

#include <gtest/gtest.h>

#include <vector>

namespace epistream {
namespace {

constexpr int kScans = 0;
constexpr int kTransport = 1;
constexpr int kFever = 2;
constexpr int64_t kMaxWaitMs = 3000;

class EventTimeMergerTest : public ::testing::Test {
 protected:
  void Push(int source, TimestampMs ts, int32_t partition = 0) {
    EventTimeMerger::Item item;
    item.ts = ts;
    item.msg.partition = partition;
    item.msg.offset = next_offset_++;
    merger_.Push(source, std::move(item));
  }
  std::vector<TimestampMs> Drain(int64_t now_ms) {
    std::vector<EventTimeMerger::Item> out;
    merger_.Drain(now_ms, &out);
    std::vector<TimestampMs> ts;
    for (const auto& i : out) ts.push_back(i.ts);
    return ts;
  }

  EventTimeMerger merger_{3, kMaxWaitMs};
  int64_t next_offset_ = 0;
};

TEST_F(EventTimeMergerTest, WaitsForAStalledKnownTopicWithoutTimeBound) {
  // Transport delivered once (known), then its broker goes quiet: no data,
  // no end of partition.
  merger_.SetCaughtUp(kFever, 0, true);
  merger_.SetCaughtUp(kScans, 0, true);
  Push(kTransport, 50);
  EXPECT_EQ(Drain(0), std::vector<TimestampMs>({50}));
  Push(kScans, 100);
  EXPECT_TRUE(Drain(1000).empty());
  EXPECT_TRUE(Drain(60'000).empty()) << "released ahead of a stalled known topic";
  // The broker is back: an earlier arrival comes first, then the scan.
  Push(kTransport, 80);
  merger_.SetCaughtUp(kTransport, 0, true);
  EXPECT_EQ(Drain(61'000), std::vector<TimestampMs>({80, 100}));
  EXPECT_EQ(merger_.forced_releases(), 0u);
}

TEST_F(EventTimeMergerTest, WaitsForAnUnknownTopicOnlyMaxWait) {
  // Transport never heard from (not assigned here, or its first fetch is
  // still under way): bounded delay.
  merger_.SetCaughtUp(kFever, 0, true);
  Push(kScans, 100);
  EXPECT_TRUE(Drain(0).empty());
  EXPECT_TRUE(Drain(kMaxWaitMs - 1).empty());
  EXPECT_EQ(Drain(kMaxWaitMs), std::vector<TimestampMs>({100}));
}

TEST_F(EventTimeMergerTest, AnAssignedTopicIsWaitedForBeforeItsFirstFetch) {
  merger_.SetCaughtUp(kFever, 0, true);
  merger_.Assign(kTransport, 0);
  Push(kScans, 100);
  EXPECT_TRUE(Drain(0).empty());
  EXPECT_TRUE(Drain(kMaxWaitMs * 10).empty()) << "released ahead of an assigned topic";
  Push(kTransport, 80);
  merger_.SetCaughtUp(kTransport, 0, true);
  EXPECT_EQ(Drain(kMaxWaitMs * 10), std::vector<TimestampMs>({80, 100}));
}

TEST_F(EventTimeMergerTest, DroppedTopicIsNoLongerWaitedFor) {
  merger_.SetCaughtUp(kFever, 0, true);
  Push(kTransport, 50);
  Push(kScans, 100);
  merger_.SetCaughtUp(kScans, 0, false);
  merger_.DropSource(kTransport, 0);  // revoked: its queue goes, no wait
  EXPECT_EQ(merger_.queued(), 1u);
  EXPECT_EQ(Drain(0), std::vector<TimestampMs>({100}));
}

TEST_F(EventTimeMergerTest, WaitIsBoundedByMemory) {
  merger_.SetCaughtUp(kFever, 0, true);
  merger_.SetCaughtUp(kScans, 0, true);
  Push(kTransport, 1);
  EXPECT_EQ(Drain(0).size(), 1u);  // transport known, now empty and not caught up
  for (size_t i = 0; i <= EventTimeMerger::kMaxHeldPerPartition; ++i) {
    Push(kScans, 100 + static_cast<TimestampMs>(i));
  }
  // One over the bound: exactly one head is released (the oldest).
  EXPECT_EQ(Drain(0), std::vector<TimestampMs>({100}));
  EXPECT_EQ(merger_.forced_releases(), 1u);
  EXPECT_EQ(merger_.queued(), EventTimeMerger::kMaxHeldPerPartition);
}

TEST_F(EventTimeMergerTest, PartitionsWaitIndependently) {
  // Partition 1's stalled transport does not hold partition 0 back.
  merger_.SetCaughtUp(kFever, 0, true);
  merger_.SetCaughtUp(kTransport, 0, true);
  merger_.SetCaughtUp(kFever, 1, true);
  merger_.SetCaughtUp(kScans, 1, true);
  Push(kTransport, 10, 1);
  EXPECT_EQ(Drain(0), std::vector<TimestampMs>({10}));
  Push(kScans, 200, 1);
  Push(kScans, 300, 0);
  EXPECT_EQ(Drain(10'000), std::vector<TimestampMs>({300}));
}

}  // namespace
}  // namespace epistream
