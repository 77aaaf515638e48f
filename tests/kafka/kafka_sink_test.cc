// KafkaSink's read-back against the embedded broker: what a recovery reads
// from recorded positions, which replayed records it suppresses, and the
// per-partition pending counts the engine keeps a stored position by
// (KafkaEngine's BeforeCommit). Until now only the multi-process tests
// reached this code.
#include "engine/kafka_sink.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/embedded_broker.h"
#include "engine/kafka_producer.h"
#include "engine/table_reader.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/shared_broker_test.h"

namespace epistream {
namespace {

// Sink positions (KafkaSink::Position's format); no ends is what the engine
// stores for "never checkpointed" (kSinkStart in topologies/kafka_engine.cc).
std::string Position(const std::map<int32_t, int64_t>& ends) {
  return KafkaSink::EncodePosition(ends);
}

// Dead letters are keyed "<topic>:<partition>:<offset>" by input position.
std::string DeadLetterKey(int input_partition, int offset) {
  return "epi.scans:" + std::to_string(input_partition) + ":" +
         std::to_string(offset);
}

class KafkaSinkTest : public testing::SharedBrokerTest {
 protected:
  void SetUp() override {
    SharedBrokerTest::SetUp();
    producer_ = NewProducer();
    ASSERT_NE(producer_, nullptr);
    topic_ = T("sink");
    ASSERT_OK(broker_->CreateTopic(topic_, 2));
  }

  // Writes keys to sink partition `sink_partition`, as an earlier owner did.
  void Earlier(int32_t sink_partition, const std::vector<std::string>& keys) {
    for (const std::string& k : keys) {
      ASSERT_OK(producer_->ProduceToPartition(topic_, sink_partition, k, "{}"));
    }
    ASSERT_OK(producer_->Flush(10000));
  }

  std::map<int32_t, int64_t> Ends() {
    std::map<int32_t, int64_t> ends;
    for (int32_t p = 0; p < 2; ++p) {
      auto end = producer_->EndOffset(topic_, p);
      EXPECT_OK(end.status());
      ends[p] = end.ok() ? *end : -1;
    }
    return ends;
  }

  TableReaderOptions Reader() {
    TableReaderOptions opts;
    opts.brokers = broker_->bootstrap_servers();
    opts.properties["fetch.wait.max.ms"] = "20";
    return opts;
  }

  std::unique_ptr<KafkaSink> Sink() {
    return std::make_unique<KafkaSink>(producer_.get(), topic_,
                                       KafkaSink::KeyOf);
  }

  // The engine's filter for dead letters: each input partition keeps its own.
  static bool OwnDeadLetters(int32_t p, std::string_view key) {
    return key.substr(0, key.rfind(':')).ends_with(":" + std::to_string(p));
  }

  std::unique_ptr<KafkaProducer> producer_;
  std::string topic_;
};

TEST_F(KafkaSinkTest, RecoverSuppressesWhatWasWrittenAfterThePositionOnly) {
  Earlier(0, {"a", "b"});
  const std::string position = Position(Ends());
  Earlier(0, {"c"});
  Earlier(1, {"d"});
  auto sink = Sink();
  ASSERT_OK(sink->Recover(position, Reader(), 10000));
  EXPECT_EQ(sink->pending_suppressions(), 2u);  // c and d, not a or b
  // A checkpoint waits until the replay has regenerated them.
  EXPECT_EQ(sink->Flush().code(), StatusCode::kUnavailable);
  ASSERT_OK(sink->Write("a", "{}"));  // before the position: written again
  ASSERT_OK(sink->Write("c", "{}"));
  ASSERT_OK(sink->Write("d", "{}"));
  EXPECT_EQ(sink->suppressed(), 2u);
  EXPECT_EQ(sink->written(), 1u);
  EXPECT_EQ(sink->pending_suppressions(), 0u);
  ASSERT_OK(sink->Flush());
  EXPECT_EQ(sink->Position(), Position(Ends()));
}

TEST_F(KafkaSinkTest,
       AddRecoveryCountsEachPartitionsOwnRecordsAfterItsPosition) {
  Earlier(0, {DeadLetterKey(4, 1)});
  const std::string p4 = Position(Ends());  // input partition 4's checkpoint
  Earlier(0, {DeadLetterKey(4, 2), DeadLetterKey(5, 1)});
  Earlier(1, {DeadLetterKey(5, 2)});
  const std::string p5 = Position(Ends());  // 5 checkpointed after its output
  Earlier(1, {DeadLetterKey(5, 3)});
  auto sink = Sink();
  ASSERT_OK(
      sink->AddRecovery({{4, p4}, {5, p5}}, Reader(), 10000, OwnDeadLetters));
  EXPECT_EQ(sink->pending_for(4), 1u);  // 4:2
  EXPECT_EQ(sink->pending_for(5),
            1u);  // 5:3 (5:1 and 5:2 are before 5's position)
  EXPECT_EQ(sink->pending_for(6), 0u);
  // Unlike Recover's, these do not hold the checkpoint back.
  ASSERT_OK(sink->Flush());

  ASSERT_OK(sink->Write(DeadLetterKey(4, 1), "{}"));  // before 4's position
  ASSERT_OK(sink->Write(DeadLetterKey(4, 2), "{}"));
  EXPECT_EQ(sink->pending_for(4), 0u);
  EXPECT_EQ(sink->pending_for(5), 1u);
  ASSERT_OK(sink->Write(DeadLetterKey(5, 3), "{}"));
  EXPECT_EQ(sink->pending_for(5), 0u);
  EXPECT_EQ(sink->suppressed(), 2u);
  EXPECT_EQ(sink->written(), 1u);
}

TEST_F(KafkaSinkTest,
       AddRecoveryOfANeverCheckpointedPartitionReadsFromTheStart) {
  // Partition 6's owner died before its first checkpoint (no position: the
  // empty list); partition 7 has one. 6's records anywhere in the topic are
  // expected from its replay, 7's only after its position.
  Earlier(0, {DeadLetterKey(6, 1), DeadLetterKey(7, 1)});
  const std::string p7 = Position(Ends());
  Earlier(1, {DeadLetterKey(6, 2), DeadLetterKey(7, 2)});
  auto sink = Sink();
  ASSERT_OK(sink->AddRecovery({{6, Position({})}, {7, p7}}, Reader(), 10000,
                              OwnDeadLetters));
  EXPECT_EQ(sink->pending_for(6), 2u);
  EXPECT_EQ(sink->pending_for(7), 1u);
}

TEST_F(KafkaSinkTest,
       AddRecoveryWithoutAFilterExpectsEveryRecordFromEachPartition) {
  // Alerts carry no input position: every record after a partition's
  // position is expected from it, so the others' keep its count up until
  // ForgetPending (the engine then keeps that partition's stored position).
  Earlier(0, {"x"});
  const std::string p1 = Position(Ends());
  Earlier(0, {"y"});
  Earlier(1, {"z"});
  auto sink = Sink();
  ASSERT_OK(sink->AddRecovery({{1, p1}, {2, Position({})}}, Reader(), 10000,
                              nullptr));
  EXPECT_EQ(sink->pending_for(1), 2u);  // y, z
  EXPECT_EQ(sink->pending_for(2), 3u);  // x, y, z
  ASSERT_OK(sink->Write("y", "{}"));    // one write, counted off both
  EXPECT_EQ(sink->pending_for(1), 1u);
  EXPECT_EQ(sink->pending_for(2), 2u);
  EXPECT_EQ(sink->ForgetPending(), 2u);  // x and z were never regenerated
  EXPECT_EQ(sink->pending_for(1), 0u);
  EXPECT_EQ(sink->pending_for(2), 0u);
  ASSERT_OK(sink->Write("z", "{}"));  // forgotten: written
  EXPECT_EQ(sink->written(), 1u);
}

}  // namespace
}  // namespace epistream
