// SharedBrokerTest: a gtest fixture base with one embedded Kafka broker
// (127.0.0.1 only) per test suite. Starting and stopping a mock cluster
// takes about a second, so a suite shares one and every test names its own
// topics and groups with T().
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "engine/embedded_broker.h"
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

  inline static EmbeddedBroker* broker_ = nullptr;
};

}  // namespace epistream::testing
