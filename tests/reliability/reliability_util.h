// Helpers shared by the reliability tests (tests/reliability/*_test.cc):
// a loopback port, a minimal HTTP GET for /metrics and a parser for the
// Prometheus text format, a plain librdkafka producer, and reading a whole
// topic back. Header-only (tests/<folder>/ builds only *_test.cc files).
//
// Threading: test-thread only, except TestProducer which is a thin wrapper
// over a thread-safe rd_kafka_t.
#pragma once

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/table_reader.h"

namespace epistream::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).
inline int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// GET http://127.0.0.1:port/path (HTTP/1.0, so the server closes when done).
// The body, or nullopt on any error or a status other than 200.
inline std::optional<std::string> HttpGet(int port, const std::string& path,
                                          int timeout_ms = 3000) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (ok) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    ok = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (ok) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      ok = false;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) {
      ok = false;
      break;
    }
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) ok = false;
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (!ok || response.rfind("HTTP/1.", 0) != 0) return std::nullopt;
  const size_t sp = response.find(' ');
  if (sp == std::string::npos || response.compare(sp + 1, 3, "200") != 0) return std::nullopt;
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return response.substr(body + 4);
}

// Prometheus text format -> {"name{labels}": value}; comments skipped.
inline std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t close = line.rfind('}');
    const size_t sp = line.find(' ', close == std::string::npos ? 0 : close);
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

// The value of series name{label="value"} (0 if absent).
inline double Metric(const std::map<std::string, double>& m, const std::string& name,
                     const std::string& label = "", const std::string& value = "") {
  const std::string key = label.empty() ? name : name + "{" + label + "=\"" + value + "\"}";
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// label value -> series value, for every series of `name` with one label.
inline std::map<std::string, double> MetricByLabel(const std::map<std::string, double>& m,
                                                   const std::string& name) {
  std::map<std::string, double> out;
  const std::string prefix = name + "{";
  for (const auto& [key, v] : m) {
    if (key.rfind(prefix, 0) != 0) continue;
    const size_t q1 = key.find('"');
    const size_t q2 = key.rfind('"');
    if (q1 == std::string::npos || q2 <= q1) continue;
    out[key.substr(q1 + 1, q2 - q1 - 1)] = v;
  }
  return out;
}

// A plain librdkafka producer for test input (as producers in the field).
class TestProducer {
 public:
  explicit TestProducer(const std::string& brokers,
                        const std::map<std::string, std::string>& extra = {}) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::map<std::string, std::string> props = {
        {"bootstrap.servers", brokers}, {"linger.ms", "20"}, {"message.max.bytes", "20000000"}};
    for (const auto& [k, v] : extra) props[k] = v;
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        error_ = err;
      }
    }
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) error_ = err;
  }
  ~TestProducer() {
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }
  TestProducer(const TestProducer&) = delete;
  TestProducer& operator=(const TestProducer&) = delete;

  const std::string& error() const { return error_; }

  // Queues one record; `key` nullopt sends a record without key, `value`
  // nullopt one without value. Waits while the local queue is full.
  rd_kafka_resp_err_t Produce(const std::string& topic, int32_t partition,
                              std::optional<std::string_view> key,
                              std::optional<std::string_view> value) {
    if (rk_ == nullptr) return RD_KAFKA_RESP_ERR__INVALID_ARG;
    // librdkafka's V_ macros cast their arguments without parentheses.
    const void* key_ptr = key ? key->data() : nullptr;
    const size_t key_len = key ? key->size() : 0;
    void* value_ptr = value ? const_cast<char*>(value->data()) : nullptr;
    const size_t value_len = value ? value->size() : 0;
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
                                  RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key_ptr, key_len),
                                  RD_KAFKA_V_VALUE(value_ptr, value_len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 10);
    }
    return e;
  }
  rd_kafka_resp_err_t Flush(int timeout_ms = 30000) {
    return rk_ == nullptr ? RD_KAFKA_RESP_ERR__INVALID_ARG : rd_kafka_flush(rk_, timeout_ms);
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  std::string error_;
};

// Every record of `topic` now, as (key, value) copies.
struct TopicRecord {
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
};
inline Status ReadTopic(const std::string& brokers, const std::string& topic,
                        std::vector<TopicRecord>* out, int timeout_ms = 30000) {
  TableReaderOptions opts;
  opts.brokers = brokers;
  opts.topics = {topic};
  auto reader = TableReader::Open(opts);
  if (!reader.ok()) return reader.status();
  return (*reader)->ReadToEnd(
      [&](const KafkaMessage& m) {
        out->push_back({m.partition, m.offset, std::string(m.key), std::string(m.value)});
        return Status::Ok();
      },
      timeout_ms);
}

}  // namespace epistream::testing
