#include "topologies/kafka_runner.h"

#include <csignal>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "engine/http_server.h"
#include "engine/metrics_registry.h"
#include "topologies/kafka_engine.h"
#include "topologies/signals.h"
#include "topologies/state_queries.h"

namespace epistream {

int RunKafkaMode(const AppConfig& cfg, const ScaleOutConfig& scale_out) {
  MetricsRegistry metrics;
  KafkaEngineHooks hooks;
  hooks.on_second = [](const EngineSnapshot& s) {
    static int n = 0;
    if (++n % 10 != 0) return;  // a log line every 10 s
    spdlog::info("records={} alerts={} deadletters={} lag={} merging={} rate={:.0f}/s", s.records,
                 s.alerts, s.deadletters, s.lag, s.merging, s.records_per_s);
  };
  if (cfg.engine.http.queries) {
    Result<std::string> token = HttpServer::ReadTokenFile(cfg.engine.http.token_file);
    if (!token.ok()) {
      std::fprintf(stderr, "epistream run: http.token_file: %s\n", token.status().message().c_str());
      return 2;
    }
    // The directory KafkaEngine::Start opens (its default when unset).
    const std::string dir = cfg.engine.state.dir.empty() ? "epistream-state" : cfg.engine.state.dir;
    if (cfg.engine.metrics.port == 0) spdlog::warn("http.queries is on but metrics.port is 0: not served");
    metrics.EnableQueries(std::make_unique<StateQueries>(dir, cfg.engine.tz_offset_minutes),
                          std::move(token).value());
  }
  KafkaEngine engine(cfg, &metrics, hooks, scale_out);
  // Before any other thread starts, so all of them inherit the signal mask.
  StopOnSignals([&engine] { engine.RequestStop(); });
  Status st = metrics.Serve(cfg.engine.metrics.bind, cfg.engine.metrics.port);
  if (!st.ok()) {
    std::fprintf(stderr, "epistream run: %s\n", st.ToString().c_str());
    return 1;
  }
  st = engine.Start();
  if (st.ok()) st = engine.Run();
  if (!st.ok()) {
    std::fprintf(stderr, "epistream run: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace epistream
