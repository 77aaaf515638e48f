#include "engine/embedded_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

namespace epistream {

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(int num_brokers) {
  if (num_brokers < 1) {
    return Status::InvalidArgument("embedded broker: num_brokers must be >= 1");
  }
  KafkaConf conf(rd_kafka_conf_new());
  KafkaSetLogger(conf.get());
  EPI_RETURN_IF_ERROR(
      KafkaConfSet(conf.get(), "client.id", "epistream-broker"));
  // Warnings and errors only: at info level the hosting client announces
  // that it has no bootstrap.servers, which is on purpose.
  EPI_RETURN_IF_ERROR(KafkaConfSet(conf.get(), "log_level", "4"));
  // The hosting client never talks to a cluster itself: no bootstrap
  // servers, so it stays idle apart from serving the mock.
  auto rk = KafkaCreate(RD_KAFKA_PRODUCER, std::move(conf));
  if (!rk.ok()) return rk.status();
  rd_kafka_mock_cluster_t* mcluster =
      rd_kafka_mock_cluster_new(rk->get(), num_brokers);
  if (mcluster == nullptr) {
    return Status::IoError("embedded broker: cannot create mock cluster");
  }
  return std::unique_ptr<EmbeddedBroker>(
      new EmbeddedBroker(std::move(rk).value(), mcluster, num_brokers));
}

EmbeddedBroker::EmbeddedBroker(KafkaHandle rk,
                               rd_kafka_mock_cluster_t* mcluster,
                               int num_brokers)
    : rk_(std::move(rk)),
      mcluster_(mcluster),
      num_brokers_(num_brokers),
      bootstrap_servers_(rd_kafka_mock_cluster_bootstraps(mcluster)) {}

namespace {

// Listener ports of a "127.0.0.1:P1,127.0.0.1:P2" bootstrap list.
std::vector<uint16_t> Ports(const std::string& bootstraps) {
  std::vector<uint16_t> ports;
  size_t pos = 0;
  while (pos < bootstraps.size()) {
    size_t end = bootstraps.find(',', pos);
    if (end == std::string::npos) end = bootstraps.size();
    const size_t colon = bootstraps.rfind(':', end - 1);
    if (colon != std::string::npos && colon > pos) {
      ports.push_back(static_cast<uint16_t>(
          std::stoi(bootstraps.substr(colon + 1, end - colon - 1))));
    }
    pos = end + 1;
  }
  return ports;
}

// Opens and drops a loopback connection: makes the mock thread's poll()
// return.
void Poke(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  close(fd);
}

}  // namespace

EmbeddedBroker::~EmbeddedBroker() {
  // librdkafka 2.0.2's mock thread sees the stop request only when its
  // poll() returns, which takes up to 1 s on an idle cluster; a connection
  // attempt to a listener wakes it. Poke until the destroy has returned.
  std::atomic<bool> destroyed{false};
  const std::vector<uint16_t> ports = Ports(bootstrap_servers_);
  std::thread waker([&] {
    while (!destroyed.load()) {
      for (uint16_t port : ports) Poke(port);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // The cluster must go before the rd_kafka_t it was created on.
  rd_kafka_mock_cluster_destroy(mcluster_);
  destroyed.store(true);
  waker.join();
}

Status EmbeddedBroker::CreateTopic(const std::string& name, int partitions) {
  if (name.empty() || partitions < 1) {
    return Status::InvalidArgument("embedded broker: bad topic '" + name +
                                   "' or partition count");
  }
  return KafkaStatus(
      rd_kafka_mock_topic_create(mcluster_, name.c_str(), partitions, 1),
      "embedded broker: create topic " + name);
}

Status EmbeddedBroker::SetDown(int32_t broker_id) {
  return KafkaStatus(rd_kafka_mock_broker_set_down(mcluster_, broker_id),
                     "embedded broker: set down");
}

Status EmbeddedBroker::SetUp(int32_t broker_id) {
  return KafkaStatus(rd_kafka_mock_broker_set_up(mcluster_, broker_id),
                     "embedded broker: set up");
}

void EmbeddedBroker::PushRequestErrors(
    int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors) {
  rd_kafka_mock_push_request_errors_array(mcluster_, api_key, errors.size(),
                                          errors.data());
}

Status EmbeddedBroker::SetRtt(int32_t broker_id, int rtt_ms) {
  return KafkaStatus(rd_kafka_mock_broker_set_rtt(mcluster_, broker_id, rtt_ms),
                     "embedded broker: set rtt");
}

}  // namespace epistream
