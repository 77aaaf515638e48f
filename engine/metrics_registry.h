// The process's Prometheus metrics, its readiness, and the one HTTP endpoint
// serving them (engine/http_server.h: /metrics, /healthz, /readyz, /v1).
//
// One MetricsRegistry per process, created at start-up and outliving every
// probe (engine/pipeline_probe.h, engine/process_probe.h) registered on it;
// probes are the only code that touches prometheus-cpp metric types. The
// engine loop reports readiness through health().
//
// Threading: registration and updates may happen on any thread (the
// prometheus::Registry and its metrics are thread-safe; EngineHealth is
// atomics); EnableQueries(), Serve() and Stop() are called by the owner, not
// concurrently with each other. Once serving, the HTTP server's threads read
// the registry on each scrape.
#pragma once

#include <memory>
#include <string>

#include "engine/engine_health.h"
#include "engine/status.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace epistream {

class HttpServer;
class QueryHandler;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();  // stops serving first
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Where probes register their metric families.
  prometheus::Registry& registry() { return *registry_; }

  // What GET /readyz reports; the engine loop keeps it current.
  EngineHealth& health() { return health_; }

  // Turns on the read-only GET /v1 queries, answered by `handler` for
  // clients presenting `token` (not empty). Call before Serve().
  void EnableQueries(std::unique_ptr<QueryHandler> handler, std::string token);

  // Serves GET /metrics (Prometheus text format), /healthz, /readyz and, if
  // enabled, /v1 on bind:port. Port 0 disables the endpoint and returns Ok.
  // A port outside 0..65535, a bind failure (port in use, bad address) or a
  // second Serve() without Stop() is an error Status; nothing is thrown.
  Status Serve(const std::string& bind, int port);

  // The port being served, 0 when not serving.
  int port() const;

  // Stops the endpoint (joins its threads); no-op when not serving.
  void Stop();

  // The current metrics in Prometheus text format, as a scrape would see them.
  std::string ScrapeText() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  EngineHealth health_;
  std::unique_ptr<QueryHandler> queries_;
  std::string token_;
  std::unique_ptr<HttpServer> server_;  // declared last: stopped first
};

}  // namespace epistream
