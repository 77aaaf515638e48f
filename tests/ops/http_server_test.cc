// The HTTP server (engine/http_server.h) in-process: routes, readiness,
// bearer-token queries, binding; and EngineHealth's readiness rules.
#include "engine/http_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "engine/engine_config.h"
#include "engine/metrics_registry.h"
#include "engine/pipeline_probe.h"
#include "tests/ops/ops_testing.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

using ::epistream::testing::Get;
using ::epistream::testing::ListeningAddresses;
using Clock = EngineHealth::Clock;

constexpr char kToken[] = "s3cret-token-0123456789";

// Answers with what it was asked, and counts the calls.
class FakeQueries : public QueryHandler {
 public:
  HttpResponse Person(std::string_view id) override {
    ++calls;
    return {200, "application/json",
            "{\"person\":\"" + std::string(id) + "\"}"};
  }
  HttpResponse Clusters() override {
    ++calls;
    return {200, "application/json", "{\"clusters\":[]}"};
  }
  std::atomic<int> calls{0};
};

class HttpServerTest : public ::testing::Test {
 protected:
  // A server with every route wired to this fixture.
  std::unique_ptr<HttpServer> StartServer(bool queries) {
    HttpServer::Routes routes;
    routes.metrics = [] { return std::string("epistream_test_total 7\n"); };
    routes.health = &health_;
    if (queries) {
      routes.queries = &queries_;
      routes.token = kToken;
    }
    auto server = std::make_unique<HttpServer>(std::move(routes));
    Status st = server->Start("127.0.0.1", 0);
    EXPECT_OK(st);
    EXPECT_GT(server->port(), 0);
    return server;
  }

  EngineHealth health_;
  FakeQueries queries_;
};

TEST_F(HttpServerTest, ServesMetricsText) {
  auto server = StartServer(false);
  const auto r = Get(server->port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "epistream_test_total 7\n");
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(HttpServerTest, HealthzIsOkWhileServing) {
  auto server = StartServer(false);
  const auto r = Get(server->port(), "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(HttpServerTest, ReadyzFollowsEngineHealth) {
  auto server = StartServer(false);
  const int port = server->port();
  auto r = Get(port, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: global tables not loaded yet\n");

  health_.set_tables_loaded(true);
  r = Get(port, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: no input partitions assigned\n");

  health_.set_assigned_partitions(3);
  health_.MarkProgress();
  r = Get(port, "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");

  health_.set_max_stall(5 * kSecondMs);
  health_.MarkProgress(Clock::now() - std::chrono::seconds(8));
  r = Get(port, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(
      r.body.rfind(
          "not ready: engine loop made no progress for 8 s (limit 5 s)", 0),
      0u)
      << r.body;

  health_.MarkProgress();
  EXPECT_EQ(Get(port, "/readyz").status, 200);
  health_.set_assigned_partitions(0);  // revoked or draining
  EXPECT_EQ(Get(port, "/readyz").status, 503);
}

TEST_F(HttpServerTest, ReadyzWithoutAnEngineIsNotReady) {
  HttpServer server({[] { return std::string(); }, nullptr, nullptr, ""});
  ASSERT_OK(server.Start("127.0.0.1", 0));
  const auto r = Get(server.port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: no engine in this process\n");
}

TEST_F(HttpServerTest, QueriesAreOffByDefault) {
  auto server = StartServer(false);
  const std::string bearer = std::string("Bearer ") + kToken;
  EXPECT_EQ(Get(server->port(), "/v1/persons/p-1", bearer).status, 404);
  EXPECT_EQ(Get(server->port(), "/v1/clusters", bearer).status, 404);
  EXPECT_EQ(queries_.calls.load(), 0);
}

TEST_F(HttpServerTest, QueriesNeedTheBearerToken) {
  auto server = StartServer(true);
  const int port = server->port();
  const std::vector<std::string> refused = {
      "",                                                      // no header
      "Bearer wrong",                                          //
      std::string("Bearer ") + kToken + "x",                   // longer
      std::string("Bearer ") + std::string(kToken).substr(1),  // shorter
      std::string("Basic ") + kToken,                          // another scheme
      kToken,                                                  // no scheme
  };
  for (const std::string& auth : refused) {
    SCOPED_TRACE(auth);
    for (const char* path :
         {"/v1/persons/p-1", "/v1/clusters", "/v1/nothing"}) {
      const auto r = Get(port, path, auth);
      EXPECT_EQ(r.status, 401) << path;
      EXPECT_EQ(r.www_authenticate, "Bearer realm=\"epistream\"");
      EXPECT_EQ(r.body.find("p-1"), std::string::npos);
    }
  }
  EXPECT_EQ(queries_.calls.load(), 0);

  auto r = Get(port, "/v1/persons/p-1", std::string("Bearer ") + kToken);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"person\":\"p-1\"}");
  EXPECT_EQ(r.content_type, "application/json");
  // The scheme is case-insensitive (RFC 7235); the path is URL-decoded.
  r = Get(port, "/v1/persons/a%20b", std::string("bearer ") + kToken);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"person\":\"a b\"}");
  r = Get(port, "/v1/clusters", std::string("Bearer ") + kToken);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"clusters\":[]}");
  EXPECT_EQ(queries_.calls.load(), 3);
  EXPECT_EQ(Get(port, "/v1/nothing", std::string("Bearer ") + kToken).status,
            404);
}

TEST_F(HttpServerTest, QueriesWithoutATokenAreRefusedAtStart) {
  HttpServer server({[] { return std::string(); }, &health_, &queries_, ""});
  const Status st = server.Start("127.0.0.1", 0);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(server.port(), 0);
}

TEST_F(HttpServerTest, UnknownPathsAre404) {
  auto server = StartServer(true);
  EXPECT_EQ(Get(server->port(), "/").status, 404);
  EXPECT_EQ(Get(server->port(), "/metrics/x").status, 404);
}

TEST_F(HttpServerTest, BindsLoopbackOnlyByDefault) {
  MetricsRegistry metrics;
  const MetricsConfig defaults;
  ASSERT_EQ(defaults.bind, "127.0.0.1");
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    st = metrics.Serve(defaults.bind, ::epistream::testing::FreePort());
    if (st.ok()) break;
  }
  ASSERT_OK(st);
  EXPECT_EQ(ListeningAddresses(metrics.port()),
            std::set<std::string>{"127.0.0.1"});
  EXPECT_EQ(Get(metrics.port(), "/healthz").status, 200);
}

TEST_F(HttpServerTest, ASecondServerCannotShareThePort) {
  auto first = StartServer(false);
  HttpServer second({[] { return std::string(); }, nullptr, nullptr, ""});
  const Status st = second.Start("127.0.0.1", first->port());
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(first->port())),
            std::string::npos);
  EXPECT_EQ(Get(first->port(), "/healthz").status, 200);
}

TEST_F(HttpServerTest, StopIsPromptAndClosesThePort) {
  auto server = StartServer(false);
  const int port = server->port();
  ASSERT_EQ(Get(port, "/metrics").status,
            200);  // leaves a keep-alive connection
  const auto start = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2500));
  EXPECT_EQ(server->port(), 0);
  EXPECT_EQ(Get(port, "/healthz").status, -1);
  server->Stop();  // idempotent
}

TEST_F(HttpServerTest, MetricsRegistryServesItsRegistryAndHealth) {
  MetricsRegistry metrics;
  PipelineProbe probe(metrics, {"scan", "transport"});
  probe.event_in(1);
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    st = metrics.Serve("127.0.0.1", ::epistream::testing::FreePort());
    if (st.ok()) break;
  }
  ASSERT_OK(st);
  const auto r = Get(metrics.port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("epistream_events_total{type=\"transport\"} 1\n"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body, metrics.ScrapeText());
  EXPECT_EQ(Get(metrics.port(), "/readyz").status, 503);
  metrics.health().set_tables_loaded(true);
  metrics.health().set_assigned_partitions(1);
  metrics.health().MarkProgress();
  EXPECT_EQ(Get(metrics.port(), "/readyz").status, 200);
  EXPECT_EQ(Get(metrics.port(), "/v1/clusters").status,
            404);  // queries not enabled
}

TEST(EngineHealthTest, ReadyOnlyWithTablesPartitionsAndRecentProgress) {
  EngineHealth h;
  const auto t0 = Clock::now();
  EXPECT_FALSE(h.Check(t0).ready);
  h.set_tables_loaded(true);
  h.set_assigned_partitions(2);
  EXPECT_EQ(h.Check(t0).reason, "engine loop has not run yet");
  h.MarkProgress(t0);
  EXPECT_TRUE(
      h.Check(t0 + std::chrono::seconds(30)).ready);  // default limit 30 s
  EXPECT_FALSE(h.Check(t0 + std::chrono::seconds(31)).ready);
  h.set_max_stall(60 * kSecondMs);
  EXPECT_TRUE(h.Check(t0 + std::chrono::seconds(31)).ready);
  EXPECT_EQ(h.Check(t0 + std::chrono::seconds(31)).reason, "ready");
}

class TokenFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& content) {
    const std::string path = dir_.File("token");
    EXPECT_TRUE(::epistream::testing::WriteFile(path, content));
    ::chmod(path.c_str(), 0600);
    return path;
  }
  ::epistream::testing::TempDir dir_;
};

TEST_F(TokenFileTest, FirstLineTrimmed) {
  Result<std::string> t =
      HttpServer::ReadTokenFile(Write("  abc123\t\nsecond line\n"));
  ASSERT_OK(t.status());
  EXPECT_EQ(*t, "abc123");
}

TEST_F(TokenFileTest, EmptyMissingOrUnsetAreErrors) {
  EXPECT_EQ(HttpServer::ReadTokenFile(Write(" \n")).status().code(),
            StatusCode::kInvalidArgument);
  const Result<std::string> missing =
      HttpServer::ReadTokenFile(dir_.File("absent"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir_.File("absent")),
            std::string::npos);
  EXPECT_EQ(HttpServer::ReadTokenFile("").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace epistream
