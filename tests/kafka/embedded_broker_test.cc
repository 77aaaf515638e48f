// EmbeddedBroker: what the mock cluster does, so that the limits written in
// embedded_broker.h stay true when librdkafka changes.
#include "engine/embedded_broker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "engine/kafka_producer.h"
#include "engine/table_reader.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/shared_broker_test.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

using testing::Num;

// One broker for the suite (stopping one can take a second); each test
// uses its own topics.
class EmbeddedBrokerTest : public testing::SharedBrokerTest {
 protected:
  // Produces n records "k<i>" -> value(i), flushed.
  template <typename ValueFn>
  void Produce(const std::string& topic, int n, const std::string& compression,
               ValueFn value) {
    KafkaProducerOptions opts;
    opts.brokers = broker_->bootstrap_servers();
    opts.properties["compression.type"] = compression;
    auto producer = KafkaProducer::Create(opts);
    ASSERT_OK(producer.status());
    for (int i = 0; i < n; ++i) {
      ASSERT_OK((*producer)->Produce(topic, Num("k", i), value(i)));
    }
    ASSERT_OK((*producer)->Flush(30000));
  }
};

TEST_F(EmbeddedBrokerTest, ListensOnLoopbackAndCreatesTopics) {
  EXPECT_EQ(broker_->bootstrap_servers().rfind("127.0.0.1:", 0), 0u)
      << broker_->bootstrap_servers();
  ASSERT_OK(broker_->CreateTopic("epi.scans", 6));
  EXPECT_FALSE(broker_->CreateTopic("epi.scans", 6).ok());
  EXPECT_EQ(broker_->CreateTopic("", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(broker_->CreateTopic("x", 0).code(), StatusCode::kInvalidArgument);
  KafkaProducerOptions opts;
  opts.brokers = broker_->bootstrap_servers();
  auto producer = KafkaProducer::Create(opts);
  ASSERT_OK(producer.status());
  auto count = (*producer)->PartitionCount("epi.scans");
  ASSERT_OK(count.status());
  EXPECT_EQ(*count, 6);
}

TEST(EmbeddedBrokerClusterTest, StartsSeveralBrokers) {
  auto broker = EmbeddedBroker::Start(3);
  ASSERT_OK(broker.status());
  const std::string& servers = (*broker)->bootstrap_servers();
  EXPECT_EQ(std::count(servers.begin(), servers.end(), ','), 2) << servers;
  EXPECT_EQ((*broker)->num_brokers(), 3);
  EXPECT_EQ(EmbeddedBroker::Start(0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(EmbeddedBrokerTest, KeepsAboutFiveMiBPerPartition) {
  // 60 000 uncompressed records of ~130 B (100 B value, key, record
  // overhead) are ~7.5 MiB: the oldest are dropped silently.
  ASSERT_OK(broker_->CreateTopic("plain", 1));
  Produce("plain", 60000, "none", [](int) { return std::string(100, 'x'); });
  const auto [lo, hi] = KeptRange("plain");
  EXPECT_EQ(hi, 60000);
  EXPECT_GT(lo, 0) << "the mock kept everything";
  const double kept_bytes = static_cast<double>(hi - lo) * 130;
  EXPECT_GT(kept_bytes, 4.0 * (1 << 20));
  EXPECT_LT(kept_bytes, 6.0 * (1 << 20));

  // The limit is on stored (compressed) bytes: lz4 keeps the same count of
  // repetitive JSON in full.
  ASSERT_OK(broker_->CreateTopic("lz4", 1));
  Produce("lz4", 60000, "lz4", [](int i) {
    return "{\"event_id\":\"" + Num("e", i) +
           "\",\"ts\":\"2022-09-20T08:15:03.123+08:00\",\"person_id\":\"" +
           Num("p", i % 9973) +
           "\",\"venue_id\":\"v1\",\"code_color\":\"green\"}";
  });
  const auto [lz4_lo, lz4_hi] = KeptRange("lz4");
  EXPECT_EQ(lz4_lo, 0);
  EXPECT_EQ(lz4_hi, 60000);
}

TEST_F(EmbeddedBrokerTest, TransactionsAreAcceptedButNotIsolated) {
  ASSERT_OK(broker_->CreateTopic("txn", 1));
  KafkaConf conf(rd_kafka_conf_new());
  ASSERT_OK(KafkaConfSet(conf.get(), "bootstrap.servers",
                         broker_->bootstrap_servers()));
  ASSERT_OK(KafkaConfSet(conf.get(), "transactional.id", "t1"));
  auto rk = KafkaCreate(RD_KAFKA_PRODUCER, std::move(conf));
  ASSERT_OK(rk.status());
  ASSERT_OK(
      KafkaErrorStatus(rd_kafka_init_transactions(rk->get(), 5000), "init"));
  for (const char* outcome : {"aborted", "committed"}) {
    ASSERT_OK(KafkaErrorStatus(rd_kafka_begin_transaction(rk->get()), "begin"));
    ASSERT_OK(KafkaStatus(
        rd_kafka_producev(
            rk->get(), RD_KAFKA_V_TOPIC("txn"),
            RD_KAFKA_V_VALUE(const_cast<char*>(outcome), strlen(outcome)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
        "produce"));
    ASSERT_OK(KafkaStatus(rd_kafka_flush(rk->get(), 5000), "flush"));
    if (std::string(outcome) == "aborted") {
      ASSERT_OK(KafkaErrorStatus(rd_kafka_abort_transaction(rk->get(), 5000),
                                 "abort"));
    } else {
      ASSERT_OK(KafkaErrorStatus(rd_kafka_commit_transaction(rk->get(), 5000),
                                 "commit"));
    }
  }
  TableReaderOptions opts{broker_->bootstrap_servers(), {"txn"}, {}, 5000};
  opts.properties["isolation.level"] = "read_committed";
  auto reader = TableReader::Open(opts);
  ASSERT_OK(reader.status());
  std::vector<std::string> seen;
  ASSERT_OK((*reader)->ReadToEnd(
      [&](const KafkaMessage& m) {
        seen.emplace_back(m.value);
        return Status::Ok();
      },
      5000));
  // A real broker would hide "aborted" from a read_committed consumer.
  EXPECT_EQ(seen, (std::vector<std::string>{"aborted", "committed"}));
}

}  // namespace
}  // namespace epistream
