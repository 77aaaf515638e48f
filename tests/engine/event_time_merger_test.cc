// EventTimeMerger's release rule (engine/event_time_merger.h): a head waits
// for every other topic of its partition until that topic has data queued or
// a caught-up snapshot taken AFTER the head was received. These pin issue #7:
// a snapshot from before a fault (leader change, outage, or just the last
// fetch round) must not release newer heads; and the memory bound asks for a
// pause instead of releasing out of order. (Replaces
// tests/reliability/event_time_merger_test.cc, which pinned the EOF-flag rule.)
#include "engine/event_time_merger.h"

#include <gtest/gtest.h>

#include <vector>

namespace epistream {
namespace {

constexpr int kScans = 0;
constexpr int kTransport = 1;
constexpr int kFever = 2;
constexpr int64_t kMaxWaitMs = 3000;

class MergerSnapshotTest : public ::testing::Test {
 protected:
  // A message of `source` with event time ts, received at received_ms.
  void Push(int source, TimestampMs ts, int64_t received_ms,
            int32_t partition = 0, uint64_t batch = 0) {
    EventTimeMerger::Item item;
    item.ts = ts;
    item.batch = batch;
    item.msg.partition = partition;
    item.msg.offset = next_offset_++;
    item.msg.received_ms = received_ms;
    merger_.Push(source, std::move(item));
  }
  std::vector<TimestampMs> Drain(int64_t now_ms = 0, uint64_t max_batch = UINT64_MAX) {
    std::vector<EventTimeMerger::Item> out;
    merger_.Drain(now_ms, &out, max_batch);
    std::vector<TimestampMs> ts;
    for (const auto& i : out) ts.push_back(i.ts);
    return ts;
  }
  void AssignAll(int32_t partition = 0) {
    for (int s : {kScans, kTransport, kFever}) merger_.Assign(s, partition);
  }

  EventTimeMerger merger_{3, kMaxWaitMs};
  int64_t next_offset_ = 0;
};

TEST_F(MergerSnapshotTest, SnapshotOlderThanTheHeadDoesNotReleaseIt) {
  // Issue #7: transport was at its end at t=100 (then its broker went away or
  // its leader moved); a scan fetched at t=200 must wait for a newer answer.
  AssignAll();
  merger_.SetCaughtUpAsOf(kTransport, 0, 100);
  merger_.SetCaughtUpAsOf(kFever, 0, 100);
  Push(kScans, 5000, 200);
  EXPECT_TRUE(Drain(0).empty()) << "released on a snapshot older than the head";
  EXPECT_TRUE(Drain(600'000).empty())
      << "a known topic is waited for without a time bound";
  EXPECT_TRUE(merger_.WantsSnapshot());
  // The broker is back: the arrival it held comes first, then the scan.
  Push(kTransport, 4000, 700'000);
  merger_.SetCaughtUpAsOf(kFever, 0, 700'001);
  merger_.SetCaughtUpAsOf(kTransport, 0, 700'001);
  EXPECT_EQ(Drain(700'001), std::vector<TimestampMs>({4000, 5000}));
  EXPECT_FALSE(merger_.WantsSnapshot());
  EXPECT_EQ(merger_.order_inversions(), 0u);
  EXPECT_EQ(merger_.forced_releases(), 0u);
}

TEST_F(MergerSnapshotTest, ASnapshotVouchesOnlyForHeadsReceivedBeforeIt) {
  AssignAll();
  Push(kScans, 100, 10);
  Push(kScans, 200, 30);
  merger_.SetCaughtUpAsOf(kTransport, 0, 20);
  merger_.SetCaughtUpAsOf(kFever, 0, 20);
  EXPECT_EQ(Drain(), std::vector<TimestampMs>({100}));
  EXPECT_TRUE(merger_.WantsSnapshot());
  // Snapshots only move forward: an older answer arriving late changes nothing.
  merger_.SetCaughtUpAsOf(kTransport, 0, 5);
  merger_.SetCaughtUpAsOf(kFever, 0, 30);
  EXPECT_TRUE(Drain().empty());
  merger_.SetCaughtUpAsOf(kTransport, 0, 30);
  EXPECT_EQ(Drain(), std::vector<TimestampMs>({200}));
}

TEST_F(MergerSnapshotTest, QueuedDataNeedsNoSnapshot) {
  // Every topic has a head: the oldest goes, whatever the snapshots say.
  AssignAll();
  Push(kScans, 300, 10);
  Push(kTransport, 100, 10);
  Push(kFever, 200, 10);
  EXPECT_EQ(Drain(), std::vector<TimestampMs>({100}));
  EXPECT_TRUE(merger_.WantsSnapshot());  // transport is empty now
  merger_.SetCaughtUpAsOf(kTransport, 0, 11);
  EXPECT_EQ(Drain(), std::vector<TimestampMs>({200}));  // now fever is empty
  merger_.SetCaughtUpAsOf(kFever, 0, 11);
  EXPECT_EQ(Drain(), std::vector<TimestampMs>({300}));
}

TEST_F(MergerSnapshotTest, ReassignmentForgetsEarlierSnapshots) {
  AssignAll();
  merger_.SetCaughtUpAsOf(kTransport, 0, 1000);
  merger_.SetCaughtUpAsOf(kFever, 0, 1000);
  merger_.DropSource(kTransport, 0);
  merger_.Assign(kTransport, 0);  // it restarts from its checkpointed offset
  Push(kScans, 100, 10);
  EXPECT_TRUE(Drain(0).empty());
  merger_.SetCaughtUpAsOf(kTransport, 0, 11);
  EXPECT_EQ(Drain(0), std::vector<TimestampMs>({100}));
}

TEST_F(MergerSnapshotTest, DroppedAndUnknownTopics) {
  // Dropped (revoked): not waited for. Never assigned here: max_wait_ms.
  merger_.Assign(kScans, 0);
  merger_.DropSource(kTransport, 0);
  Push(kScans, 100, 10);
  EXPECT_TRUE(Drain(0).empty());  // fever unknown
  EXPECT_FALSE(merger_.WantsSnapshot());
  EXPECT_TRUE(Drain(kMaxWaitMs - 1).empty());
  EXPECT_EQ(Drain(kMaxWaitMs), std::vector<TimestampMs>({100}));
}

TEST_F(MergerSnapshotTest, CountsEventsOlderThanOneReleased) {
  AssignAll();
  merger_.DropSource(kFever, 0);
  merger_.SetCaughtUpAsOf(kTransport, 0, 20);
  Push(kScans, 500, 10);
  EXPECT_EQ(Drain(), std::vector<TimestampMs>({500}));
  Push(kTransport, 400, 30);  // a producer appended it after the scan
  Push(kTransport, 600, 30);
  Push(kTransport, kMinTimestamp, 30);  // no ts: dead-lettered, not counted
  EXPECT_EQ(merger_.order_inversions(), 1u);
}

TEST_F(MergerSnapshotTest,
       AFullPartitionAsksForAPauseBeforeReleasingOutOfOrder) {
  AssignAll();
  AssignAll(1);
  merger_.SetCaughtUpAsOf(kFever, 0, 1);
  // Transport of partition 0 stalls; scans keep coming.
  for (size_t i = 0; i <= EventTimeMerger::kMaxHeldPerPartition; ++i) {
    Push(kScans, 100 + static_cast<TimestampMs>(i), 10);
  }
  Push(kScans, 50, 10, /*partition=*/1);
  EXPECT_TRUE(Drain().empty());
  const std::vector<EventTimeMerger::Held> held = merger_.Blocked();
  ASSERT_EQ(held.size(), 1u);  // partition 1 is under the bound
  EXPECT_EQ(held[0].partition, 0);
  EXPECT_EQ(held[0].full, std::vector<int>({kScans}));
  EXPECT_EQ(merger_.forced_releases(), 0u);
  // A pause that did not take: only at the hard bound is a head let go.
  for (size_t i = merger_.queued(0);
       i <= EventTimeMerger::kHardMaxHeldPerPartition; ++i) {
    Push(kScans, 1'000'000, 10);
  }
  EXPECT_EQ(Drain(), std::vector<TimestampMs>({100}));
  EXPECT_EQ(merger_.forced_releases(), 1u);
  // The stalled topic delivers: everything drains, nothing is held.
  Push(kTransport, 10, 20);
  merger_.SetCaughtUpAsOf(kTransport, 0, 20);
  merger_.SetCaughtUpAsOf(kFever, 0, 20);
  merger_.SetCaughtUpAsOf(kTransport, 1, 20);
  merger_.SetCaughtUpAsOf(kFever, 1, 20);
  EXPECT_EQ(Drain().size(), EventTimeMerger::kHardMaxHeldPerPartition + 2);
  EXPECT_TRUE(merger_.Blocked().empty());
  EXPECT_EQ(merger_.queued(), 0u);
}

TEST_F(MergerSnapshotTest, AnAssignedTopicIsWaitedForBeforeItsFirstFetch) {
  // Assigned but its first fetch is slow (a start under load): known, so
  // waited for without the unknown topics' max_wait_ms.
  AssignAll();
  merger_.SetCaughtUpAsOf(kFever, 0, 100);
  Push(kScans, 100, 10);
  EXPECT_TRUE(Drain(kMaxWaitMs * 10).empty())
      << "released ahead of an assigned topic";
  Push(kTransport, 80, 50);
  merger_.SetCaughtUpAsOf(kTransport, 0, 60);
  EXPECT_EQ(Drain(kMaxWaitMs * 10), std::vector<TimestampMs>({80, 100}));
}

TEST_F(MergerSnapshotTest, PartitionsWaitIndependently) {
  // Partition 1's stalled transport does not hold partition 0 back.
  AssignAll(0);
  AssignAll(1);
  for (int32_t p : {0, 1}) {
    for (int s : {kScans, kTransport, kFever}) merger_.SetCaughtUpAsOf(s, p, 5);
  }
  Push(kScans, 200, 10, 1);
  Push(kScans, 300, 10, 0);
  merger_.SetCaughtUpAsOf(kTransport, 0, 20);
  merger_.SetCaughtUpAsOf(kFever, 0, 20);
  merger_.SetCaughtUpAsOf(kFever, 1, 20);
  EXPECT_EQ(Drain(10'000), std::vector<TimestampMs>({300}));
  EXPECT_EQ(merger_.queued(1), 1u);
}

// KafkaEngine releases the heads of a poll only once that poll's table
// barrier has run (max_batch): an uncovered head waits, and holds back its
// partition's later heads, even when every other topic has data queued.
TEST_F(MergerSnapshotTest, HeadOfAPollNotCoveredByItsTableBarrierWaits) {
  AssignAll();
  AssignAll(1);
  Push(kScans, 1000, 10, 0, /*batch=*/2);
  Push(kTransport, 2000, 5, 0, /*batch=*/1);
  Push(kFever, 3000, 5, 0, /*batch=*/1);
  Push(kScans, 500, 5, 1, /*batch=*/1);
  Push(kTransport, 600, 5, 1, /*batch=*/1);
  Push(kFever, 700, 5, 1, /*batch=*/1);
  merger_.SetCaughtUpAsOf(kScans, 0, 10);
  merger_.SetCaughtUpAsOf(kScans, 1, 10);
  // Partition 0's head (1000) came with poll 2: nothing of partition 0 goes,
  // partition 1 (poll 1, covered) releases up to where it has to wait.
  EXPECT_EQ(Drain(0, 1), std::vector<TimestampMs>({500, 600}));
  EXPECT_EQ(merger_.queued(0), 3u);
  // Poll 2's barrier done: partition 0 releases in event-time order.
  EXPECT_EQ(Drain(0, 2), std::vector<TimestampMs>({1000, 2000}));
  // Nothing to wait for but the barrier: partition 1's other topics revoked.
  merger_.DropSource(kScans, 1);
  merger_.DropSource(kTransport, 1);
  EXPECT_EQ(merger_.queued(1), 1u);
  Push(kFever, 800, 5, 1, /*batch=*/3);
  EXPECT_EQ(Drain(0, 2), std::vector<TimestampMs>({700}));
  EXPECT_TRUE(Drain(0, 2).empty()) << "released before its barrier";
  EXPECT_EQ(Drain(0, 3), std::vector<TimestampMs>({800}));
  // An unknown topic's max wait does not release an uncovered head either.
  Push(kFever, 900, 5, 2, /*batch=*/4);
  EXPECT_TRUE(Drain(0, 3).empty());
  EXPECT_TRUE(Drain(kMaxWaitMs + 1, 3).empty()) << "released before its barrier";
  EXPECT_EQ(Drain(kMaxWaitMs + 1, 4), std::vector<TimestampMs>({900}));
}

}  // namespace
}  // namespace epistream
