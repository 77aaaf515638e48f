// KafkaProducer against the embedded broker: delivery, failures surfacing as
// Status, end offsets for the read-back, Java-compatible key partitioning.
#include "engine/kafka_producer.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <string>
#include <vector>

#include "engine/embedded_broker.h"
#include "engine/table_reader.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/shared_broker_test.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

constexpr int16_t kProduceApiKey = 0;

using testing::Num;

// The Java client's murmur2 (org.apache.kafka.common.utils.Utils.murmur2),
// written from its specification, to check partitions across clients.
int32_t JavaMurmur2(std::string_view data) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const uint32_t length = static_cast<uint32_t>(data.size());
  uint32_t h = 0x9747b28c ^ length;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const uint32_t blocks = length / 4;
  for (uint32_t i = 0; i < blocks; ++i) {
    uint32_t k = p[i * 4] | (p[i * 4 + 1] << 8) | (p[i * 4 + 2] << 16) |
                 (static_cast<uint32_t>(p[i * 4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const unsigned char* tail = p + blocks * 4;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= tail[0];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t JavaPartition(std::string_view key, int32_t partitions) {
  return (JavaMurmur2(key) & 0x7fffffff) % partitions;
}

class KafkaProducerTest : public testing::SharedBrokerTest {
 protected:
  std::unique_ptr<KafkaProducer> MakeProducer(
      std::map<std::string, std::string> props = {}) {
    KafkaProducerOptions opts;
    opts.brokers = broker_->bootstrap_servers();
    opts.properties = std::move(props);
    auto producer = KafkaProducer::Create(opts);
    EXPECT_OK(producer.status());
    return producer.ok() ? std::move(producer).value() : nullptr;
  }

  // key -> partition of every message in the topic.
  std::map<std::string, int32_t> ReadKeys(const std::string& topic) {
    TableReaderOptions opts;
    opts.brokers = broker_->bootstrap_servers();
    opts.topics = {topic};
    auto reader = TableReader::Open(opts);
    EXPECT_OK(reader.status());
    std::map<std::string, int32_t> keys;
    if (!reader.ok()) return keys;
    EXPECT_OK((*reader)->ReadToEnd(
        [&](const KafkaMessage& m) {
          keys[std::string(m.key)] = m.partition;
          return Status::Ok();
        },
        10000));
    return keys;
  }

};

TEST_F(KafkaProducerTest, DeliversAndTracksEndOffsets) {
  ASSERT_OK(broker_->CreateTopic(T("out"), 3));
  auto producer = MakeProducer();
  ASSERT_NE(producer, nullptr);
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(producer->Produce(T("out"), Num("k", i), Num("v", i)));
  }
  ASSERT_OK(producer->Flush(10000));
  EXPECT_EQ(producer->delivered(), 300u);
  EXPECT_EQ(producer->failed(), 0u);
  EXPECT_EQ(producer->in_flight(), 0);
  int64_t total = 0;
  for (int32_t p = 0; p < 3; ++p) {
    auto end = producer->EndOffset(T("out"), p);
    ASSERT_OK(end.status());
    const auto it = producer->DeliveredEndOffsets().find({T("out"), p});
    ASSERT_NE(it, producer->DeliveredEndOffsets().end());
    EXPECT_EQ(it->second, *end);
    total += *end;
  }
  EXPECT_EQ(total, 300);
  auto count = producer->PartitionCount(T("out"));
  ASSERT_OK(count.status());
  EXPECT_EQ(*count, 3);
}

TEST_F(KafkaProducerTest, PartitionsKeysLikeTheJavaClient) {
  ASSERT_OK(broker_->CreateTopic(T("out"), 6));
  auto producer = MakeProducer();
  ASSERT_NE(producer, nullptr);
  std::vector<std::string> keys = {"a", "person-1", "410105199001011234",
                                   "abc"};
  for (int i = 0; i < 50; ++i) keys.push_back(Num("p", i * 7919));
  for (const std::string& k : keys)
    ASSERT_OK(producer->Produce(T("out"), k, "x"));
  ASSERT_OK(producer->Flush(10000));
  const std::map<std::string, int32_t> got = ReadKeys(T("out"));
  ASSERT_EQ(got.size(), keys.size());
  for (const std::string& k : keys) {
    EXPECT_EQ(got.at(k), JavaPartition(k, 6)) << k;
  }
}

TEST_F(KafkaProducerTest, NonRetriableDeliveryFailureSurfacesInFlush) {
  ASSERT_OK(broker_->CreateTopic(T("out"), 1));
  auto producer = MakeProducer();
  ASSERT_NE(producer, nullptr);
  // Warm up (connection, producer id) so the injected error hits a Produce.
  ASSERT_OK(producer->Produce(T("out"), "k", "warm-up"));
  ASSERT_OK(producer->Flush(10000));

  broker_->PushRequestErrors(kProduceApiKey,
                             {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED});
  ASSERT_OK(producer->Produce(T("out"), "k", "refused"));
  const Status st = producer->Flush(10000);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("TOPIC_AUTHORIZATION_FAILED"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(producer->failed(), 1u);

  // Reported once per Flush.
  EXPECT_OK(producer->Flush(1000));
  // librdkafka then remembers the topic as refused until its next metadata
  // refresh: Produce itself fails, as a Status, not a crash.
  const Status again = producer->Produce(T("out"), "k", "after");
  if (!again.ok()) {
    EXPECT_EQ(again.code(), StatusCode::kIoError) << again.ToString();
  }
}

TEST_F(KafkaProducerTest, RetriableErrorsAreRetriedTransparently) {
  ASSERT_OK(broker_->CreateTopic(T("out"), 1));
  auto producer = MakeProducer({{"retry.backoff.ms", "10"}});
  ASSERT_NE(producer, nullptr);
  broker_->PushRequestErrors(kProduceApiKey,
                             {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                              RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
  for (int i = 0; i < 10; ++i)
    ASSERT_OK(producer->Produce(T("out"), Num("k", i), "v"));
  ASSERT_OK(producer->Flush(10000));
  EXPECT_EQ(producer->delivered(), 10u);
  auto end = producer->EndOffset(T("out"), 0);
  ASSERT_OK(end.status());
  EXPECT_EQ(*end, 10);  // retried, not duplicated
}

TEST_F(KafkaProducerTest, FlushTimesOutWhileBrokerIsDownThenDelivers) {
  ASSERT_OK(broker_->CreateTopic(T("out"), 1));
  auto producer = MakeProducer(
      {{"reconnect.backoff.ms", "50"}, {"reconnect.backoff.max.ms", "300"}});
  ASSERT_NE(producer, nullptr);
  ASSERT_OK(producer->Produce(T("out"), "k", "first"));
  ASSERT_OK(producer->Flush(10000));
  ASSERT_OK(broker_->SetDown());
  ASSERT_OK(producer->Produce(T("out"), "k", "during"));
  const Status st = producer->Flush(500);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_EQ(producer->in_flight(), 1);
  ASSERT_OK(broker_->SetUp());
  ASSERT_OK(producer->Flush(10000));
  EXPECT_EQ(producer->delivered(), 2u);
}

TEST_F(KafkaProducerTest, RejectsOversizedMessagesAndBadProperties) {
  ASSERT_OK(broker_->CreateTopic(T("out"), 1));
  auto producer = MakeProducer({{"message.max.bytes", "1000"}});
  ASSERT_NE(producer, nullptr);
  const Status st = producer->Produce(T("out"), "k", std::string(5000, 'x'));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();

  KafkaProducerOptions opts;
  opts.brokers = broker_->bootstrap_servers();
  opts.properties["compression.type"] = "no-such-codec";
  EXPECT_EQ(KafkaProducer::Create(opts).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace epistream
