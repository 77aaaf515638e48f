#include "topologies/kafka_runner.h"

#include <csignal>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "engine/metrics_registry.h"
#include "topologies/kafka_engine.h"
#include "topologies/signals.h"

namespace epistream {

int RunKafkaMode(const AppConfig& cfg) {
  MetricsRegistry metrics;
  KafkaEngineHooks hooks;
  hooks.on_second = [](const EngineSnapshot& s) {
    static int n = 0;
    if (++n % 10 != 0) return;  // a log line every 10 s
    spdlog::info("records={} alerts={} deadletters={} lag={} merging={} rate={:.0f}/s", s.records,
                 s.alerts, s.deadletters, s.lag, s.merging, s.records_per_s);
  };
  KafkaEngine engine(cfg, &metrics, hooks);
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
