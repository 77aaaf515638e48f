// SharedBrokerTest: a gtest fixture base with one embedded Kafka broker
// (127.0.0.1 only) per test suite. Starting and stopping a mock cluster
// takes about a second, so a suite shares one and every test names its own
// topics and groups with T().
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "engine/embedded_broker.h"
#include "engine/kafka_producer.h"
#include "engine/table_reader.h"
#include "tests/testing/assert_ok.h"

namespace epistream::testing {

class SharedBrokerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto broker = EmbeddedBroker::Start();
    ASSERT_OK(broker.status());
    broker_ = std::move(broker).value().release();
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(broker_, nullptr); }

  // The running test's own name for a topic or group: "<test>.<name>".
  static std::string T(const char* name) {
    std::string s = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    s += '.';
    s += name;
    return s;
  }

  // A producer on the suite's broker (null, with a test failure, if it
  // cannot be made).
  static std::unique_ptr<KafkaProducer> NewProducer() {
    KafkaProducerOptions opts;
    opts.brokers = broker_->bootstrap_servers();
    auto producer = KafkaProducer::Create(opts);
    EXPECT_OK(producer.status());
    return producer.ok() ? std::move(producer).value() : nullptr;
  }

  // [first offset, last offset + 1] of the records the broker still holds
  // in partition 0 of `topic` (the mock drops the oldest beyond ~5 MiB):
  // every record read to the end and counted. {-1, -1} on a read error.
  static std::pair<int64_t, int64_t> KeptRange(const std::string& topic,
                                               int read_timeout_ms = 20000) {
    auto reader = TableReader::Open({broker_->bootstrap_servers(),
                                     {topic},
                                     {{"fetch.wait.max.ms", "50"}},
                                     5000});
    EXPECT_OK(reader.status());
    if (!reader.ok()) return {-1, -1};
    int64_t first = -1;
    int64_t count = 0;
    EXPECT_OK((*reader)->ReadToEnd(
        [&](const KafkaMessage& m) {
          if (first < 0) first = m.offset;
          ++count;
          return Status::Ok();
        },
        read_timeout_ms));
    return {first, first + count};
  }

  inline static EmbeddedBroker* broker_ = nullptr;
};

}  // namespace epistream::testing
