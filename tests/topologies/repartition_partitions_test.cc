// The repartition topic's partition count Q, apart from the input partition
// count N (issue 8): its default, the `epistream run` flag and the topics
// `epistream broker` creates. The engine's side (an existing topic's count
// wins, with a warning) runs in ScaleOutRepartitionTest, whose broker makes
// Q = 3 for N = 8 inputs.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/kafka_producer.h"
#include "engine/mem_kv_store.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/child_process.h"
#include "tests/testing/scenario.h"
#include "topologies/app_config.h"
#include "topologies/cluster_side.h"

namespace epistream {
namespace {

using ::epistream::testing::ChildProcess;
using ::epistream::testing::EngineBinary;
using ::epistream::testing::TempDir;

TEST(RepartitionPartitionsTest, DefaultIsTheInputCountUpToSix) {
  EXPECT_EQ(RepartitionPartitionsFor(0, 1), 1);
  EXPECT_EQ(RepartitionPartitionsFor(0, 4), 4);
  EXPECT_EQ(RepartitionPartitionsFor(0, 6), 6);
  EXPECT_EQ(RepartitionPartitionsFor(0, 8), 6);
  EXPECT_EQ(RepartitionPartitionsFor(0, 96), 6);
  EXPECT_EQ(RepartitionPartitionsFor(0, 0), 1);
}

TEST(RepartitionPartitionsTest, ConfiguredCountWinsBothWays) {
  EXPECT_EQ(RepartitionPartitionsFor(3, 96), 3);
  EXPECT_EQ(RepartitionPartitionsFor(12, 4), 12);
  EXPECT_EQ(RepartitionPartitionsFor(1, 1), 1);
}

TEST(RepartitionPartitionsTest, ConfigKeyDefaultsToZeroAndParses) {
  Result<AppConfig> absent =
      ParseAppConfig("scale_out:\n  enabled: true\n", "t.yaml");
  ASSERT_OK(absent.status());
  EXPECT_EQ(absent->engine.scale_out.repartition_partitions, 0);
  Result<AppConfig> set = ParseAppConfig(
      "scale_out:\n  enabled: true\n  repartition: true\n  "
      "repartition_partitions: 6\n",
      "t.yaml");
  ASSERT_OK(set.status());
  EXPECT_EQ(set->engine.scale_out.repartition_partitions, 6);
  EXPECT_NE(DescribeAppConfig(*set).find("repartition_partitions=6"),
            std::string::npos)
      << DescribeAppConfig(*set);
  EXPECT_NE(DescribeAppConfig(*absent).find("repartition_partitions=default"),
            std::string::npos);
}

class NullSink final : public RecordSink {
 public:
  Status Write(std::string_view, std::string_view) override {
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
};

class NullFrames final : public RepartitionFrameSink {
 public:
  Status Write(uint16_t, std::string_view, std::string_view) override {
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
};

// Cluster state of q built under (Q, N) is refused under another Q or N:
// keys would hash to other partitions than their state's.
TEST(RepartitionPartitionsTest, StateOfAnotherShapeIsRefused) {
  MemKvStore store;
  NullSink alerts, dead;
  NullFrames frames;
  auto side = [&](uint16_t q_count, uint16_t n_count) {
    ClusterSideOptions o;
    o.upstream_partitions = n_count;
    o.repartition_partitions = q_count;
    return std::make_unique<ClusterSide>(o, &store, &frames, &alerts, &dead);
  };
  {
    auto s = side(3, 8);
    ASSERT_OK(s->Open());
    ASSERT_OK(s->Assign(1));
    ASSERT_OK(s->Checkpoint());
    ASSERT_OK(store.Commit());
  }
  {
    auto s = side(3, 8);  // the same shape: fine
    ASSERT_OK(s->Open());
    EXPECT_OK(s->Assign(1));
  }
  {
    auto s = side(4, 8);
    ASSERT_OK(s->Open());
    const Status st = s->Assign(1);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_NE(
        st.message().find(
            "built with 3 repartition partitions and 8 input partitions; now 4 "
            "and 8"),
        std::string::npos)
        << st.message();
    EXPECT_OK(s->Assign(2));  // q = 2 has no state yet
  }
  {
    auto s = side(3, 4);
    ASSERT_OK(s->Open());
    EXPECT_EQ(s->Assign(1).code(), StatusCode::kInvalidArgument);
  }
}

class RepartitionCliTest : public ::testing::Test {
 protected:
  // Runs `epistream args...` to its exit (usage errors exit at once).
  int Run(const std::vector<std::string>& args, std::string* log) {
    std::vector<std::string> argv = {EngineBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p;
    const std::string path =
        dir_.path() + "/run" + std::to_string(++runs_) + ".log";
    EXPECT_TRUE(p.Start(argv, path));
    const int rc = p.Wait(std::chrono::seconds(20));
    *log = p.Log();
    return rc;
  }

  // `epistream broker args...`: the partition count of each of `topics`.
  std::vector<int> BrokerCounts(const std::vector<std::string>& args,
                                const std::vector<std::string>& topics) {
    std::vector<std::string> argv = {EngineBinary(), "broker"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess broker;
    EXPECT_TRUE(broker.Start(
        argv, dir_.path() + "/broker" + std::to_string(++runs_) + ".log"));
    const std::string line =
        broker.WaitForLine("bootstrap.servers=", std::chrono::seconds(20));
    std::vector<int> counts;
    if (line.empty()) {
      ADD_FAILURE() << broker.Log();
      return counts;
    }
    {
      KafkaProducerOptions opts;
      opts.brokers = line.substr(std::string("bootstrap.servers=").size());
      auto producer = KafkaProducer::Create(opts);
      EXPECT_OK(producer.status());
      if (!producer.ok()) return counts;
      for (const std::string& t : topics) {
        SCOPED_TRACE(t);
        auto n = (*producer)->PartitionCount(t);
        EXPECT_OK(n.status());
        counts.push_back(n.ok() ? *n : -1);
      }
    }  // the producer goes before the broker
    EXPECT_EQ(broker.Stop(SIGTERM, std::chrono::seconds(10)), 0)
        << broker.Log();
    return counts;
  }

  TempDir dir_;
  int runs_ = 0;
};

TEST_F(RepartitionCliTest, RunFlagNeedsRepartition) {
  std::string log;
  EXPECT_EQ(Run({"run", "--scale-out", "--repartition-partitions", "3",
                 "--state", dir_.path() + "/state"},
                &log),
            2);
  EXPECT_NE(log.find("--repartition-partitions needs --repartition"),
            std::string::npos)
      << log;
}

TEST_F(RepartitionCliTest, RunFlagRejectsOutOfRange) {
  std::string log;
  EXPECT_EQ(Run({"run", "--scale-out", "--repartition",
                 "--repartition-partitions", "70000"},
                &log),
            2);
  EXPECT_NE(log.find("--repartition-partitions"), std::string::npos) << log;
  EXPECT_EQ(Run({"run", "--scale-out", "--repartition",
                 "--repartition-partitions", "-1"},
                &log),
            2);
}

TEST_F(RepartitionCliTest, BrokerSizesTheRepartitionTopicsApart) {
  const std::vector<std::string> topics = {
      "epi.scans", "epistream.changelog", std::string(kRepartitionClusterTopic),
      std::string(kClusterChangelogTopic)};
  // Default: min(--partitions, 6).
  EXPECT_EQ(BrokerCounts({"--partitions", "12"}, topics),
            (std::vector<int>{12, 12, 6, 6}));
  EXPECT_EQ(BrokerCounts({"--partitions", "3"}, topics),
            (std::vector<int>{3, 3, 3, 3}));
  // Named: fewer or more than the inputs.
  EXPECT_EQ(BrokerCounts({"--partitions", "5", "--repartition-partitions", "2"},
                         topics),
            (std::vector<int>{5, 5, 2, 2}));
  EXPECT_EQ(BrokerCounts({"--partitions", "2", "--repartition-partitions", "6"},
                         topics),
            (std::vector<int>{2, 2, 6, 6}));
}

}  // namespace
}  // namespace epistream
