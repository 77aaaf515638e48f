#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/event_time.h"
#include "engine/logging.h"
#include "engine/metrics_registry.h"
#include "engine/pipeline_probe.h"
#include "engine/process_probe.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

// The value of one series ("name{labels}") in Prometheus text, if present.
std::optional<double> SeriesValue(const std::string& text,
                                  const std::string& series) {
  size_t pos = 0;
  const std::string prefix = series + " ";
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      return std::strtod(text.c_str() + pos + prefix.size(), nullptr);
    }
    pos += prefix.size();
  }
  return std::nullopt;
}

// A listening TCP socket on 127.0.0.1 at an ephemeral port.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd, 4) != 0) {
      return;
    }
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() {
    if (fd >= 0) close(fd);
  }
};

// GET http://127.0.0.1:port/path over a plain socket; the raw response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), 0) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

const std::vector<std::string> kTypes = {"scan", "transport", "fever",
                                         "risk_area", "person"};

class MetricsTest : public ::testing::Test {
 protected:
  MetricsRegistry metrics_;
};

TEST_F(MetricsTest, EventCountsByType) {
  PipelineProbe probe(metrics_, kTypes);
  for (int i = 0; i < 3; ++i) probe.event_in(0);
  probe.event_in(2);
  probe.event_in(7);   // out of range
  probe.event_in(-1);  // out of range
  const std::string text = metrics_.ScrapeText();
  EXPECT_EQ(SeriesValue(text, "epistream_events_total{type=\"scan\"}"), 3.0)
      << text;
  EXPECT_EQ(SeriesValue(text, "epistream_events_total{type=\"transport\"}"),
            0.0);
  EXPECT_EQ(SeriesValue(text, "epistream_events_total{type=\"fever\"}"), 1.0);
  EXPECT_EQ(SeriesValue(text, "epistream_events_total{type=\"person\"}"), 0.0);
  EXPECT_EQ(SeriesValue(text, "epistream_events_total{type=\"other\"}"), 2.0);
  EXPECT_NE(text.find("# TYPE epistream_events_total counter"),
            std::string::npos);
}

TEST_F(MetricsTest, CountersAndGauges) {
  PipelineProbe probe(metrics_, kTypes);
  probe.bytes_in(100);
  probe.bytes_in(23);
  probe.deadletter("bad_json");
  probe.deadletter("missing_field:venue_id");
  probe.deadletter(std::string("bad_json"));  // a different buffer, same reason
  probe.duplicate();
  probe.late();
  probe.late();
  probe.alert_emitted("returnee_risk_area", "critical");
  probe.alert_emitted("returnee_risk_area", "warning");
  probe.alert_emitted("returnee_risk_area", "critical");
  probe.set_watermark(1663632903123);
  probe.set_watermark(kMinTimestamp);  // ignored
  probe.set_consumer_lag("epi.scans", 3, 42);
  probe.set_consumer_lag("epi.scans", 3, 40);
  probe.set_consumer_lag("epi.fever", 0, 7);
  probe.set_state_entries(1234);
  probe.checkpoint_failed();
  probe.observe_checkpoint(0.02, 4096);
  const std::string text = metrics_.ScrapeText();
  EXPECT_EQ(SeriesValue(text, "epistream_input_bytes_total"), 123.0) << text;
  EXPECT_EQ(
      SeriesValue(text, "epistream_deadletters_total{reason=\"bad_json\"}"),
      2.0);
  EXPECT_EQ(
      SeriesValue(
          text,
          "epistream_deadletters_total{reason=\"missing_field:venue_id\"}"),
      1.0);
  EXPECT_EQ(SeriesValue(text, "epistream_duplicates_total"), 1.0);
  EXPECT_EQ(SeriesValue(text, "epistream_late_events_total"), 2.0);
  EXPECT_EQ(SeriesValue(text,
                        "epistream_alerts_total{rule=\"returnee_risk_area\","
                        "severity=\"critical\"}"),
            2.0);
  EXPECT_EQ(SeriesValue(text,
                        "epistream_alerts_total{rule=\"returnee_risk_area\","
                        "severity=\"warning\"}"),
            1.0);
  EXPECT_DOUBLE_EQ(SeriesValue(text, "epistream_watermark_seconds").value_or(0),
                   1663632903.123);
  EXPECT_EQ(
      SeriesValue(
          text, "epistream_consumer_lag{partition=\"3\",topic=\"epi.scans\"}"),
      40.0);
  EXPECT_EQ(
      SeriesValue(
          text, "epistream_consumer_lag{partition=\"0\",topic=\"epi.fever\"}"),
      7.0);
  EXPECT_EQ(SeriesValue(text, "epistream_state_cached_persons"), 1234.0);
  EXPECT_EQ(SeriesValue(text, "epistream_checkpoint_failures_total"), 1.0);
  EXPECT_EQ(SeriesValue(text, "epistream_checkpoint_bytes"), 4096.0);
  EXPECT_EQ(SeriesValue(text, "epistream_checkpoint_duration_seconds_count"),
            1.0);
  EXPECT_EQ(
      SeriesValue(text,
                  "epistream_checkpoint_duration_seconds_bucket{le=\"0.025\"}"),
      1.0);
  EXPECT_EQ(
      SeriesValue(text,
                  "epistream_checkpoint_duration_seconds_bucket{le=\"0.01\"}"),
      0.0);
}

TEST_F(MetricsTest, Histograms) {
  PipelineProbe probe(metrics_, kTypes);
  probe.observe_event_to_alert(0.00005);  // below the first bucket (0.1 ms)
  probe.observe_event_to_alert(0.003);
  probe.observe_event_to_alert(20.0);  // above the last bucket (10 s)
  probe.observe_processing(0.0002);
  const std::string text = metrics_.ScrapeText();
  EXPECT_EQ(SeriesValue(
                text, "epistream_event_to_alert_seconds_bucket{le=\"0.0001\"}"),
            1.0)
      << text;
  EXPECT_EQ(SeriesValue(
                text, "epistream_event_to_alert_seconds_bucket{le=\"0.005\"}"),
            2.0);
  EXPECT_EQ(
      SeriesValue(text, "epistream_event_to_alert_seconds_bucket{le=\"10\"}"),
      2.0);
  EXPECT_EQ(
      SeriesValue(text, "epistream_event_to_alert_seconds_bucket{le=\"+Inf\"}"),
      3.0);
  EXPECT_EQ(SeriesValue(text, "epistream_event_to_alert_seconds_count"), 3.0);
  EXPECT_EQ(SeriesValue(text, "epistream_batch_processing_seconds_count"), 1.0);
}

TEST_F(MetricsTest, StateStatsFromRocksDbPropertyNames) {
  PipelineProbe probe(metrics_, kTypes);
  probe.set_state_stats({{"rocksdb.total-sst-files-size", 1000},
                         {"rocksdb.cur-size-all-mem-tables", 2000},
                         {"rocksdb.block-cache-usage", 3000},
                         {"rocksdb.estimate-pending-compaction-bytes", 4000},
                         {"rocksdb.estimate-num-keys", 5000},
                         {"rocksdb.is-write-stopped", 1},
                         {"rocksdb.unrelated", 9}});
  probe.set_state_stats(
      {{"rocksdb.is-write-stopped", 0}});  // others keep their values
  const std::string text = metrics_.ScrapeText();
  EXPECT_EQ(SeriesValue(text, "epistream_rocksdb_sst_bytes"), 1000.0) << text;
  EXPECT_EQ(SeriesValue(text, "epistream_rocksdb_memtable_bytes"), 2000.0);
  EXPECT_EQ(SeriesValue(text, "epistream_rocksdb_block_cache_bytes"), 3000.0);
  EXPECT_EQ(SeriesValue(text, "epistream_rocksdb_pending_compaction_bytes"),
            4000.0);
  EXPECT_EQ(SeriesValue(text, "epistream_rocksdb_estimate_keys"), 5000.0);
  EXPECT_EQ(SeriesValue(text, "epistream_rocksdb_write_stopped"), 0.0);
  EXPECT_EQ(text.find("unrelated"), std::string::npos);
}

TEST_F(MetricsTest, UnboundedLabelValuesFoldIntoOther) {
  PipelineProbe probe(metrics_, kTypes);
  const size_t n = PipelineProbe::kMaxLabelValues + 10;
  for (size_t i = 0; i < n; ++i)
    probe.deadletter("reason_" + std::to_string(i));
  for (size_t i = 0; i < n; ++i)
    probe.alert_emitted("rule_" + std::to_string(i), "info");
  const std::string text = metrics_.ScrapeText();
  EXPECT_EQ(
      SeriesValue(text, "epistream_deadletters_total{reason=\"reason_0\"}"),
      1.0);
  EXPECT_EQ(SeriesValue(text, "epistream_deadletters_total{reason=\"reason_" +
                                  std::to_string(n - 1) + "\"}"),
            std::nullopt);
  EXPECT_EQ(SeriesValue(text, "epistream_deadletters_total{reason=\"other\"}"),
            10.0);
  EXPECT_EQ(
      SeriesValue(text,
                  "epistream_alerts_total{rule=\"other\",severity=\"other\"}"),
      10.0);
}

TEST_F(MetricsTest, TwoProbesOnOneRegistryAddUp) {
  PipelineProbe a(metrics_, kTypes);
  PipelineProbe b(metrics_, kTypes);
  a.event_in(1);
  b.event_in(1);
  a.deadletter("too_large");
  b.deadletter("too_large");
  const std::string text = metrics_.ScrapeText();
  EXPECT_EQ(SeriesValue(text, "epistream_events_total{type=\"transport\"}"),
            2.0)
      << text;
  EXPECT_EQ(
      SeriesValue(text, "epistream_deadletters_total{reason=\"too_large\"}"),
      2.0);
}

TEST_F(MetricsTest, ProcessProbeSamplesProc) {
  ProcessProbe probe(metrics_);
  ASSERT_OK(probe.Sample());
  const std::string text = metrics_.ScrapeText();
  EXPECT_GT(
      SeriesValue(text, "epistream_process_resident_memory_bytes").value_or(0),
      1e6)
      << text;
  EXPECT_GE(SeriesValue(text, "epistream_process_cpu_seconds").value_or(-1),
            0.0);
  EXPECT_GE(SeriesValue(text, "epistream_process_open_fds").value_or(0),
            3.0);  // stdio
  EXPECT_GE(SeriesValue(text, "epistream_process_threads").value_or(0), 1.0);

  // A new descriptor shows up in the next sample.
  const double fds =
      SeriesValue(text, "epistream_process_open_fds").value_or(0);
  const int extra = dup(0);
  ASSERT_GE(extra, 0);
  ASSERT_OK(probe.Sample());
  EXPECT_EQ(SeriesValue(metrics_.ScrapeText(), "epistream_process_open_fds"),
            fds + 1);
  close(extra);
}

TEST_F(MetricsTest, ServePortZeroIsDisabled) {
  ASSERT_OK(metrics_.Serve("127.0.0.1", 0));
  EXPECT_EQ(metrics_.port(), 0);
}

TEST_F(MetricsTest, ServeRejectsInvalidPort) {
  const Status st = metrics_.Serve("127.0.0.1", 70000);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
}

TEST_F(MetricsTest, ServesMetricsOverHttp) {
  PipelineProbe probe(metrics_, kTypes);
  probe.event_in(0);
  probe.event_in(0);
  // An ephemeral port just released by the kernel; another process could
  // take it in between, so try a few.
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port;
    {
      Listener probe_port;
      ASSERT_GT(probe_port.port, 0);
      port = probe_port.port;
    }
    st = metrics_.Serve("127.0.0.1", port);
    if (st.ok()) break;
  }
  ASSERT_OK(st);
  ASSERT_GT(metrics_.port(), 0);
  const std::string response = HttpGet(metrics_.port(), "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.", 0), 0u) << response;
  EXPECT_NE(response.find(" 200 "), std::string::npos) << response;
  EXPECT_NE(response.find("epistream_events_total{type=\"scan\"} 2"),
            std::string::npos)
      << response;

  const Status again = metrics_.Serve("127.0.0.1", metrics_.port());
  EXPECT_FALSE(again.ok());

  const int port = metrics_.port();
  metrics_.Stop();
  EXPECT_EQ(metrics_.port(), 0);
  EXPECT_EQ(HttpGet(port, "/metrics"), "");  // connection refused
}

TEST_F(MetricsTest, ServeOnPortInUseIsAnError) {
  Listener busy;
  ASSERT_GT(busy.port, 0);
  const Status st = metrics_.Serve("127.0.0.1", busy.port);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(busy.port)),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(metrics_.port(), 0);
}

TEST(LoggingTest, InitLoggingSetsLevel) {
  EXPECT_TRUE(IsLogLevel("warn"));
  EXPECT_TRUE(IsLogLevel("off"));
  EXPECT_FALSE(IsLogLevel("verbose"));
  InitLogging("debug");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  InitLogging("off");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::off);
  InitLogging("verbose");  // unknown: info, with a warning
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
  InitLogging("warn");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
}

}  // namespace
}  // namespace epistream
