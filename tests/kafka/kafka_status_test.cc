// The librdkafka -> Status mapping (kafka_status.h) and the conf helpers.
#include "engine/kafka_status.h"

#include <gtest/gtest.h>

#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

TEST(KafkaStatusTest, MapsErrorsByWhatTheCallerShouldDo) {
  struct Case {
    rd_kafka_resp_err_t err;
    StatusCode code;
  };
  const Case cases[] = {
      {RD_KAFKA_RESP_ERR_NO_ERROR, StatusCode::kOk},
      {RD_KAFKA_RESP_ERR__TRANSPORT, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__TIMED_OUT, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__QUEUE_FULL, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, StatusCode::kOutOfRange},
      {RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, StatusCode::kOutOfRange},
      {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, StatusCode::kNotFound},
      {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, StatusCode::kNotFound},
      {RD_KAFKA_RESP_ERR__INVALID_ARG, StatusCode::kInvalidArgument},
      {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, StatusCode::kInvalidArgument},
      {RD_KAFKA_RESP_ERR__BAD_MSG, StatusCode::kCorruption},
      {RD_KAFKA_RESP_ERR_INVALID_RECORD, StatusCode::kCorruption},
      {RD_KAFKA_RESP_ERR__FATAL, StatusCode::kInternal},
      {RD_KAFKA_RESP_ERR_PRODUCER_FENCED, StatusCode::kInternal},
      {RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, StatusCode::kInternal},
      {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, StatusCode::kIoError},
      {RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, StatusCode::kIoError},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(KafkaErrorCode(c.err), c.code) << rd_kafka_err2name(c.err);
    EXPECT_EQ(KafkaStatus(c.err, "ctx").code(), c.code)
        << rd_kafka_err2name(c.err);
  }
}

TEST(KafkaStatusTest, MessageNamesContextErrorAndDetail) {
  const Status st = KafkaStatus(RD_KAFKA_RESP_ERR__TRANSPORT, "consumer in [3]",
                                "connection refused");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("consumer in [3]"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("_TRANSPORT"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("connection refused"), std::string::npos)
      << st.message();
  EXPECT_OK(KafkaStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "ctx", "ignored"));
}

TEST(KafkaStatusTest, ErrorObjectsHonourFatalAndRetriableFlags) {
  EXPECT_OK(KafkaErrorStatus(nullptr, "ctx"));
  // rd_kafka_error_new gives a plain (neither fatal nor retriable) error.
  const Status plain = KafkaErrorStatus(
      rd_kafka_error_new(RD_KAFKA_RESP_ERR__INVALID_ARG, "bad %s", "thing"),
      "ctx");
  EXPECT_EQ(plain.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(plain.message().find("bad thing"), std::string::npos)
      << plain.message();
}

TEST(KafkaStatusTest, ConfSetNamesTheKeyButNotTheValue) {
  KafkaConf conf(rd_kafka_conf_new());
  EXPECT_OK(KafkaConfSet(conf.get(), "linger.ms", "5"));
  const Status bad =
      KafkaConfSet(conf.get(), "linger.ms", "secret-not-a-number");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("linger.ms"), std::string::npos);
  const Status unknown = KafkaConfSetAll(conf.get(), {{"no.such.key", "1"}});
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("no.such.key"), std::string::npos);
}

TEST(KafkaStatusTest, KnowsBuiltinFeatures) {
  EXPECT_TRUE(KafkaHasFeature("lz4"));  // Debian's librdkafka has it
  EXPECT_FALSE(KafkaHasFeature("lz"));
  EXPECT_FALSE(KafkaHasFeature("no-such-feature"));
}

}  // namespace
}  // namespace epistream
