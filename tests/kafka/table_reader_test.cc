// TableReader against the embedded broker: read to the end, follow, start
// from recorded offsets (the alert read-back), failure modes.
#include "engine/table_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/embedded_broker.h"
#include "engine/kafka_producer.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/shared_broker_test.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

using Clock = std::chrono::steady_clock;

using testing::Num;

class TableReaderTest : public testing::SharedBrokerTest {
 protected:
  void SetUp() override {
    SharedBrokerTest::SetUp();
    producer_ = NewProducer();
    ASSERT_NE(producer_, nullptr);
  }

  void Produce(const std::string& topic, int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_OK(producer_->Produce(topic, Num("k", i), Num("v", i)));
    }
    ASSERT_OK(producer_->Flush(10000));
  }

  TableReaderOptions Options(std::vector<std::string> topics) {
    TableReaderOptions opts;
    opts.brokers = broker_->bootstrap_servers();
    opts.topics = std::move(topics);
    opts.properties["fetch.wait.max.ms"] = "50";
    return opts;
  }

  // A ReadToEnd / CatchUp callback that counts the messages in calls_.
  auto Counter() {
    return [this](const KafkaMessage&) {
      ++calls_;
      return Status::Ok();
    };
  }

  void BrokerDownIsUnavailableThenResumes(bool start_ahead);

  std::unique_ptr<KafkaProducer> producer_;
  int calls_ = 0;
};

TEST_F(TableReaderTest, ReadsToEndThenFollowsNewMessages) {
  ASSERT_OK(broker_->CreateTopic(T("table"), 3));
  ASSERT_OK(broker_->CreateTopic(T("other"), 1));
  Produce(T("table"), 0, 300);
  Produce(T("other"), 0, 5);
  auto reader = TableReader::Open(Options({T("table"), T("other")}));
  ASSERT_OK(reader.status());
  EXPECT_EQ((*reader)->partitions().size(), 4u);

  std::set<std::string> seen;  // topic/value
  auto id = [](const KafkaMessage& m) {
    std::string s = *m.topic;
    s += '/';
    s += m.value;
    return s;
  };
  std::map<std::string, int> per_topic;
  ASSERT_OK((*reader)->ReadToEnd(
      [&](const KafkaMessage& m) {
        EXPECT_TRUE(seen.insert(id(m)).second);
        ++per_topic[*m.topic];
        return Status::Ok();
      },
      10000));
  EXPECT_EQ(per_topic[T("table")], 300);
  EXPECT_EQ(per_topic[T("other")], 5);
  int64_t total = 0;
  for (const auto& [tp, next] : (*reader)->Positions()) total += next;
  EXPECT_EQ(total, 305);

  // Follow: new messages arrive through PollBatch, nothing twice.
  Produce(T("table"), 300, 350);
  std::vector<KafkaMessage> batch;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (seen.size() < 355 && Clock::now() < deadline) {
    ASSERT_OK((*reader)->PollBatch(100, &batch, 100));
    for (const KafkaMessage& m : batch) {
      EXPECT_TRUE(seen.insert(id(m)).second) << id(m);
    }
  }
  EXPECT_EQ(seen.size(), 355u);
  for (const PartitionEvent& e : (*reader)->TakeEvents()) {
    EXPECT_NE(e.kind, PartitionEvent::Kind::kError) << e.status.ToString();
  }
}

TEST_F(TableReaderTest, EmptyTopicIsReadToEndAtOnce) {
  ASSERT_OK(broker_->CreateTopic(T("empty"), 2));
  auto reader = TableReader::Open(Options({T("empty")}));
  ASSERT_OK(reader.status());
  int calls = 0;
  const auto start = Clock::now();
  ASSERT_OK((*reader)->ReadToEnd(
      [&](const KafkaMessage&) {
        ++calls;
        return Status::Ok();
      },
      5000));
  EXPECT_EQ(calls, 0);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST_F(TableReaderTest, StartsFromRecordedOffsets) {
  // The exactly-once read-back: alerts written after the checkpoint's
  // recorded end offsets, and only those.
  ASSERT_OK(broker_->CreateTopic(T("alerts"), 2));
  Produce(T("alerts"), 0, 40);
  std::map<TopicPartition, int64_t> recorded;
  for (int32_t p = 0; p < 2; ++p) {
    auto end = producer_->EndOffset(T("alerts"), p);
    ASSERT_OK(end.status());
    recorded[{T("alerts"), p}] = *end;
  }
  EXPECT_EQ(producer_->DeliveredEndOffsets(), recorded);
  Produce(T("alerts"), 40, 60);  // "after the checkpoint"

  auto reader = TableReader::Open(Options({T("alerts")}), recorded);
  ASSERT_OK(reader.status());
  std::set<std::string> after;
  ASSERT_OK((*reader)->ReadToEnd(
      [&](const KafkaMessage& m) {
        after.emplace(m.value);
        return Status::Ok();
      },
      10000));
  ASSERT_EQ(after.size(), 20u);
  for (int i = 40; i < 60; ++i) EXPECT_TRUE(after.count(Num("v", i))) << i;
  for (const PartitionEvent& e : (*reader)->TakeEvents()) {
    EXPECT_NE(e.kind, PartitionEvent::Kind::kOffsetGap);
  }
}

TEST_F(TableReaderTest, CallbackErrorStopsTheRead) {
  ASSERT_OK(broker_->CreateTopic(T("table"), 1));
  Produce(T("table"), 0, 10);
  auto reader = TableReader::Open(Options({T("table")}));
  ASSERT_OK(reader.status());
  int calls = 0;
  const Status st = (*reader)->ReadToEnd(
      [&](const KafkaMessage&) {
        return ++calls == 3 ? Status::Corruption("bad record") : Status::Ok();
      },
      10000);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(calls, 3);
}

TEST_F(TableReaderTest, MissingTopicIsNotFound) {
  TableReaderOptions opts = Options({"no.such.topic"});
  opts.metadata_timeout_ms = 2000;
  auto reader = TableReader::Open(opts);
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound)
      << reader.status().ToString();
}

TEST_F(TableReaderTest, StartBeyondTheEndIsOutOfRange) {
  ASSERT_OK(broker_->CreateTopic(T("table"), 1));
  Produce(T("table"), 0, 5);
  auto reader =
      TableReader::Open(Options({T("table")}), {{{T("table"), 0}, 50}});
  ASSERT_OK(reader.status());
  const Status st = (*reader)->ReadToEnd(
      [](const KafkaMessage&) { return Status::Ok(); }, 5000);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.ToString();
}

TEST_F(TableReaderTest, BrokerDownTimesOutAsUnavailableThenResumes) {
  ASSERT_OK(broker_->CreateTopic(T("table"), 1));
  Produce(T("table"), 0, 10);
  TableReaderOptions opts = Options({T("table")});
  opts.properties["reconnect.backoff.ms"] = "50";
  opts.properties["reconnect.backoff.max.ms"] = "300";
  auto reader = TableReader::Open(opts);
  ASSERT_OK(reader.status());
  ASSERT_OK(broker_->SetDown());
  auto count = Counter();
  const Status st = (*reader)->ReadToEnd(count, 1000);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  ASSERT_OK(broker_->SetUp());
  ASSERT_OK((*reader)->ReadToEnd(count, 10000));
  EXPECT_EQ(calls_, 10);
}

// The engine's table barrier: whatever the broker had appended before the
// call is delivered by the time CatchUp returns, without waiting for this
// reader's own fetches to bring it.
TEST_F(TableReaderTest, CatchUpDeliversEverythingAppendedBeforeTheCall) {
  ASSERT_OK(broker_->CreateTopic(T("table"), 2));
  ASSERT_OK(broker_->CreateTopic(T("other"), 1));
  auto reader = TableReader::Open(Options({T("table"), T("other")}));
  ASSERT_OK(reader.status());
  auto count = Counter();
  ASSERT_OK((*reader)->ReadToEnd(count, 5000));
  EXPECT_EQ(calls_, 0);
  for (int round = 1; round <= 3; ++round) {
    Produce(T("table"), 100 * round, 100 * round + 7);
    Produce(T("other"), 100 * round, 100 * round + 1);
    ASSERT_OK((*reader)->CatchUp(count, 5000));
    EXPECT_EQ(calls_, 8 * round) << "round " << round;
  }
  // Nothing new: done after one ListOffsets round trip.
  const auto start = Clock::now();
  ASSERT_OK((*reader)->CatchUp(count, 5000));
  EXPECT_EQ(calls_, 24);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
}

// A barrier while the broker is down is kUnavailable, and the next one after
// it is back delivers what was appended meanwhile; `start_ahead` sends the
// barrier's ListOffsets with StartCatchUp() first.
void TableReaderTest::BrokerDownIsUnavailableThenResumes(bool start_ahead) {
  ASSERT_OK(broker_->CreateTopic(T("table"), 1));
  TableReaderOptions opts = Options({T("table")});
  opts.properties["reconnect.backoff.ms"] = "50";
  opts.properties["reconnect.backoff.max.ms"] = "300";
  auto reader = TableReader::Open(opts);
  ASSERT_OK(reader.status());
  auto count = Counter();
  ASSERT_OK((*reader)->ReadToEnd(count, 5000));
  Produce(T("table"), 0, 10);
  ASSERT_OK(broker_->SetDown());
  if (start_ahead) (*reader)->StartCatchUp(1000);
  const Status st = (*reader)->CatchUp(count, 1000);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  ASSERT_OK(broker_->SetUp());
  ASSERT_OK((*reader)->CatchUp(count, 10000));
  EXPECT_EQ(calls_, 10);
}

TEST_F(TableReaderTest, CatchUpBrokerDownIsUnavailableThenResumes) {
  BrokerDownIsUnavailableThenResumes(/*start_ahead=*/false);
}

// StartCatchUp() sends the barrier's ListOffsets ahead; the CatchUp() after
// it delivers at least what the broker had appended before StartCatchUp(),
// and a later CatchUp() everything since.
TEST_F(TableReaderTest, StartCatchUpCoversWhatWasAppendedBeforeIt) {
  ASSERT_OK(broker_->CreateTopic(T("table"), 2));
  ASSERT_OK(broker_->CreateTopic(T("other"), 1));
  auto reader = TableReader::Open(Options({T("table"), T("other")}));
  ASSERT_OK(reader.status());
  auto count = Counter();
  ASSERT_OK((*reader)->ReadToEnd(count, 5000));
  int produced = 0;
  for (int round = 1; round <= 3; ++round) {
    Produce(T("table"), 100 * round, 100 * round + 7);
    Produce(T("other"), 100 * round, 100 * round + 1);
    produced += 8;
    (*reader)->StartCatchUp(5000);
    (*reader)->StartCatchUp(5000);  // already under way: no second request
    // Appended after the request: not required by this barrier.
    Produce(T("table"), 100 * round + 50, 100 * round + 53);
    ASSERT_OK((*reader)->CatchUp(count, 5000));
    EXPECT_GE(calls_, produced) << "round " << round;
    produced += 3;
    ASSERT_OK((*reader)->CatchUp(count, 5000));
    EXPECT_EQ(calls_, produced) << "round " << round;
  }
  // A request still under way when the reader goes: waited for, no crash.
  (*reader)->StartCatchUp(5000);
  reader->reset();
}

TEST_F(TableReaderTest, StartCatchUpBrokerDownIsUnavailableThenResumes) {
  BrokerDownIsUnavailableThenResumes(/*start_ahead=*/true);
}

}  // namespace
}  // namespace epistream
