// EmbeddedBroker: an in-process Kafka-protocol broker (librdkafka's mock
// cluster) listening on 127.0.0.1, for `epistream demo`, `epistream broker`
// and the Kafka integration tests. Any Kafka client (the engine, kcat) can
// connect to bootstrap_servers().
//
// Lifecycle: Start() creates a dedicated rd_kafka_t that hosts the mock
// cluster; the cluster runs on its own librdkafka thread until the object is
// destroyed (connected clients then see the brokers go away).
// Threading: all methods are thread-safe (the mock serialises them itself).
//
// What the mock does and does not do (librdkafka 2.0.2; measured, and pinned
// by tests/kafka/embedded_broker_test.cc; details in engine/README-kafka.md):
//  - Retention is a ring, not time-based: each partition keeps at most
//    5 MiB of record batches as stored (after producer compression) and
//    (per the source) 100 000 batches; older batches are dropped silently, the
//    log start moves up, and a consumer behind it gets OFFSET_OUT_OF_RANGE and
//    then auto.offset.reset (KafkaConsumer reports a kOffsetGap when it had a
//    stored offset there). Measured: of 200 000 uncompressed 100 B values,
//    36 742 are kept (~5 MiB); of 200 000 116 B JSON events with lz4,
//    192 321 (repetitive values compress unusually well); with one 10 B
//    message per batch, 62 177 (the byte cap binds before the batch cap: a
//    batch header alone is 61 B). Generated city events (~177 B of JSON,
//    varying ids and times) take ~43-49 B each stored with lz4, so a
//    partition keeps only about 105-120k of them
//    (tests/kafka/city_ring_capacity_test.cc), not 190k. Keep each
//    partition's unconsumed backlog well under 5 MiB (bench/crash/run.sh:
//    one partition per 65k city events), and check that a partition
//    still starts at offset 0 after producing (bench/e2e KafkaLoader::Verify,
//    tests/reliability/city_stream.h ProduceRecords): the loss is silent.
//  - A Fetch returns at most one record batch per partition, and an empty
//    Fetch is answered only after fetch.wait.max.ms even if data arrives:
//    use 50-100 ms against this broker.
//  - Groups work (cooperative-sticky too), but a new group's first leader
//    election waits 3 s, later ones session.timeout.ms - 1 s. The 3 s is
//    the mock coordinator's stand-in for group.initial.rebalance.delay.ms,
//    a constant in 2.0.2 (rd_kafka_mock_cgrp_rebalance: a JoinGroup to an
//    Empty group arms a 3000 ms timer; the election happens only when it
//    fires, even with every member joined). No 2.0.2 API sets it (a later
//    librdkafka adds rd_kafka_mock_group_initial_rebalance_delay_ms), and
//    no consumer setting shortens it: measured, JoinGroup answered after
//    3.00 s with session.timeout.ms 6000/45000, heartbeat.interval.ms 100,
//    group.instance.id, range or cooperative-sticky. Tests and benches wait
//    for it once per new group id.
//  - Idempotent producer: InitProducerId works; per the source, sequence
//    numbers are checked only for transactional producers.
//  - Transactions: init/begin/commit/abort succeed, but no control records
//    are written and Fetch reports no aborted transactions: a
//    read_committed consumer also sees aborted records. Do not rely on
//    Kafka transactions against this broker.
//  - No CreateTopics admin API (use CreateTopic()); unknown topics are
//    auto-created with 4 partitions by any metadata request naming them.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/kafka_status.h"
#include "engine/status.h"

namespace epistream {

class EmbeddedBroker {
 public:
  // Starts a cluster of `num_brokers` brokers (ids 1..num_brokers), each on
  // an ephemeral 127.0.0.1 port.
  static Result<std::unique_ptr<EmbeddedBroker>> Start(int num_brokers = 1);

  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:PORT[,127.0.0.1:PORT...]"
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  int num_brokers() const { return num_brokers_; }

  // Creates `name` with `partitions` partitions (replication factor 1,
  // leaders spread over the brokers). Creating an existing topic is an error.
  Status CreateTopic(const std::string& name, int partitions);

  // Fault injection. broker_id -1 means every broker.
  // SetDown closes the broker's connections and refuses new ones (no leader
  // change); SetUp accepts them again.
  Status SetDown(int32_t broker_id = -1);
  Status SetUp(int32_t broker_id = -1);
  // The next errors.size() requests with `api_key` (0 Produce, 1 Fetch,
  // 2 ListOffsets, 3 Metadata, 8 OffsetCommit, 11 JoinGroup...) fail with
  // these codes, in order. RD_KAFKA_RESP_ERR__TRANSPORT disconnects instead.
  void PushRequestErrors(int16_t api_key,
                         const std::vector<rd_kafka_resp_err_t>& errors);
  // Delays every response of a broker by rtt_ms.
  Status SetRtt(int32_t broker_id, int rtt_ms);

  // The raw mock cluster, for the rd_kafka_mock_* calls not wrapped here.
  rd_kafka_mock_cluster_t* mock_cluster() const { return mcluster_; }

 private:
  EmbeddedBroker(KafkaHandle rk, rd_kafka_mock_cluster_t* mcluster,
                 int num_brokers);

  KafkaHandle rk_;  // hosts the cluster; destroyed after it
  rd_kafka_mock_cluster_t* mcluster_;
  int num_brokers_;
  std::string bootstrap_servers_;
};

}  // namespace epistream
