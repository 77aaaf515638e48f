// The process's Prometheus metrics and the HTTP endpoint serving them.
//
// One MetricsRegistry per process, created at start-up and outliving every
// probe (engine/pipeline_probe.h, engine/process_probe.h) registered on it;
// probes are the only code that touches prometheus-cpp metric types.
//
// Threading: registration and updates may happen on any thread (the
// prometheus::Registry and its metrics are thread-safe); Serve() and Stop()
// are called by the owner, not concurrently with each other. Once serving,
// civetweb worker threads read the registry on each scrape.
#pragma once

#include <memory>
#include <string>

#include "engine/status.h"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace epistream {

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();  // stops serving first
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Where probes register their metric families.
  prometheus::Registry& registry() { return *registry_; }

  // Serves GET /metrics (Prometheus text format) on bind:port with two
  // civetweb threads. Port 0 disables the endpoint and returns Ok. A port
  // outside 0..65535, a bind failure (port in use, bad address) or a second
  // Serve() without Stop() is an error Status; nothing is thrown.
  Status Serve(const std::string& bind, int port);

  // The port being served, 0 when not serving.
  int port() const { return port_; }

  // Stops the endpoint (joins its threads); no-op when not serving. May take
  // up to about 2 s: civetweb's listener polls its stop flag at that period.
  void Stop();

  // The current metrics in Prometheus text format, as a scrape would see them.
  std::string ScrapeText() const;

 private:
  std::shared_ptr<prometheus::Registry>
      registry_;  // shared: the exposer holds a weak_ptr
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace epistream
