// The data-loss stop (CONTRACT.md section 5, issue #3): when input the engine
// has not processed yet is deleted by retention before it is read, the engine
// must stop with exit 1 and "input data lost", never skip to the new start of
// the log, and commit nothing past its last checkpoint.
//
// Retention here is the mock broker's: each partition keeps ~5 MiB of record
// batches (engine/embedded_broker.h), so producing ~12 MiB while the engine is
// stopped moves the log start far past its checkpointed offset.
#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "engine/byte_codec.h"
#include "engine/embedded_broker.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "tests/reliability/reliability_util.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/child_process.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::ChildProcess;
using ::epistream::testing::TempDir;

constexpr int kProcessedFirst = 2000;
constexpr int kFlood = 90000;  // ~130 B each, uncompressed: ~12 MiB

// (Built with += : g++ 12 -O3 warns falsely on "p" + std::to_string.)
std::string Person(int i) {
  std::string s = "p";
  s += std::to_string(i % 700);
  return s;
}

std::string Scan(int i) {
  std::string v = "{\"event_id\":\"e";
  v += std::to_string(i);
  v += "\",\"ts\":";
  v += std::to_string(1663632000000LL + static_cast<int64_t>(i) * 1000);
  v += ",\"person_id\":\"p";
  v += std::to_string(i % 700);
  v += "\",\"venue_id\":\"v";
  v += std::to_string(i % 50);
  v += "\",\"code_color\":\"green\",\"venue_kind\":\"market\"}";
  return v;
}

// The broker's low and high watermark of topic/0, or {-1, -1}.
std::pair<int64_t, int64_t> Watermarks(const std::string& brokers, const std::string& topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return {-1, -1};
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) return {-1, -1};
  int64_t lo = -1, hi = -1;
  if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), 0, &lo, &hi, 10000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    lo = hi = -1;
  }
  rd_kafka_destroy(rk);
  return {lo, hi};
}

class DataLossTest : public ::testing::Test {
 protected:
  std::vector<std::string> EngineArgs(const std::string& brokers, int metrics_port) const {
    return {::epistream::testing::EngineBinary(), "run", "--brokers", brokers, "--group", "loss",
            "--state", state_, "--metrics-port", std::to_string(metrics_port)};
  }
  // The next offset of epi.scans/0 in the committed checkpoint (-1 if none).
  int64_t CommittedOffset() const {
    auto store = RocksKvStore::OpenReadOnly(state_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return -1;
    std::string value;
    bool found = false;
    EXPECT_OK((*store)->Get(state_keys::Offset("epi.scans", 0), &value, &found));
    if (!found) return -1;
    ByteReader r(value);
    return static_cast<int64_t>(r.BigEndian64());
  }

  TempDir dir_;
  const std::string state_ = dir_.File("state");
};

TEST_F(DataLossTest, UnreadInputDeletedByRetentionStopsTheEngine) {
  auto broker = EmbeddedBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  for (const char* t : {"epi.scans", "epi.transport", "epi.fever", "epi.risk_areas", "epi.persons",
                        "epi.alerts.person", "epi.alerts.cluster", "epi.deadletter"}) {
    ASSERT_OK((*broker)->CreateTopic(t, 1));
  }
  const std::string brokers = (*broker)->bootstrap_servers();
  ::epistream::testing::TestProducer producer(brokers);
  ASSERT_EQ(producer.error(), "");

  // 1. The engine processes the first records, checkpoints and stops cleanly.
  for (int i = 0; i < kProcessedFirst; ++i) {
    const std::string v = Scan(i);
    ASSERT_EQ(producer.Produce("epi.scans", 0, Person(i), v),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(producer.Flush(), RD_KAFKA_RESP_ERR_NO_ERROR);
  const int port = ::epistream::testing::FreeLoopbackPort();
  {
    ChildProcess engine;
    ASSERT_TRUE(engine.Start(EngineArgs(brokers, port), dir_.File("run1.log")));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    double scans = 0;
    while (std::chrono::steady_clock::now() < deadline && scans < kProcessedFirst) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (auto body = ::epistream::testing::HttpGet(port, "/metrics")) {
        scans = ::epistream::testing::Metric(::epistream::testing::ParseMetrics(*body),
                                             "epistream_events_total", "type", "scan");
      }
    }
    ASSERT_EQ(scans, kProcessedFirst) << engine.Log();
    ASSERT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(20)), 0) << engine.Log();
  }
  ASSERT_EQ(CommittedOffset(), kProcessedFirst);

  // 2. While it is down, retention deletes records it has not read yet.
  for (int i = kProcessedFirst; i < kProcessedFirst + kFlood; ++i) {
    const std::string v = Scan(i);
    ASSERT_EQ(producer.Produce("epi.scans", 0, Person(i), v),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(producer.Flush(), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto [low, high] = Watermarks(brokers, "epi.scans");
  ASSERT_EQ(high, kProcessedFirst + kFlood);
  ASSERT_GT(low, kProcessedFirst) << "retention did not delete the unread records";

  // 3. The restart must stop loudly, not skip [kProcessedFirst, low).
  ChildProcess engine;
  ASSERT_TRUE(engine.Start(EngineArgs(brokers, port), dir_.File("run2.log")));
  const int code = engine.Wait(std::chrono::seconds(60));
  const std::string log = engine.Log();
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("input data lost"), std::string::npos) << log;
  EXPECT_NE(log.find("epi.scans/0"), std::string::npos) << log;
  // Nothing after the checkpoint was committed: a fixed restart (e.g. a
  // reprocessing of a backup) can still start from the right place.
  EXPECT_EQ(CommittedOffset(), kProcessedFirst);
  std::printf("data_loss: checkpoint at %d, log start moved to %lld (high %lld); exit %d\n",
              kProcessedFirst, static_cast<long long>(low), static_cast<long long>(high), code);
}

}  // namespace
}  // namespace epistream
