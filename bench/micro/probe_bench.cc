// Cost of the PipelineProbe hot-path calls, next to the prometheus-cpp
// primitives they are built on (a Family::Add lookup per event versus a
// cached counter handle).
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

#include "engine/metrics_registry.h"
#include "engine/pipeline_probe.h"

namespace epistream {
namespace {

const std::vector<std::string> kTypes = {"scan", "transport", "fever",
                                         "risk_area", "person"};

// A realistic mix: a dozen distinct reasons seen so far.
const std::vector<std::string> kReasons = {"bad_json",
                                           "too_large",
                                           "bad_timestamp",
                                           "too_late",
                                           "missing_field:ts",
                                           "missing_field:venue_id",
                                           "missing_field:person_id",
                                           "bad_type:temp_c",
                                           "bad_value:code_color",
                                           "bad_value:origin_region",
                                           "out_of_range:temp_c",
                                           "missing_field:event_id"};

const std::vector<std::pair<std::string, std::string>> kAlerts = {
    {"returnee_risk_area", "critical"},
    {"returnee_risk_area", "warning"},
    {"returnee_untested", "warning"},
    {"quarantine_breach", "warning"},
    {"abnormal_code_at_venue", "critical"},
    {"abnormal_code_at_venue", "warning"},
    {"fever_returnee", "critical"},
    {"fever_key_worker", "warning"},
    {"fever_cluster", "critical"},
    {"clinic_surge", "warning"}};

void BM_EventIn(benchmark::State& state) {
  MetricsRegistry metrics;
  PipelineProbe probe(metrics, kTypes);
  int i = 0;
  for (auto _ : state) {
    probe.event_in(i);
    i = i == 4 ? 0 : i + 1;
  }
}
BENCHMARK(BM_EventIn);

void BM_Deadletter(benchmark::State& state) {
  MetricsRegistry metrics;
  PipelineProbe probe(metrics, kTypes);
  size_t i = 0;
  for (auto _ : state) {
    probe.deadletter(kReasons[i]);
    i = i + 1 == kReasons.size() ? 0 : i + 1;
  }
}
BENCHMARK(BM_Deadletter);

void BM_AlertEmitted(benchmark::State& state) {
  MetricsRegistry metrics;
  PipelineProbe probe(metrics, kTypes);
  size_t i = 0;
  for (auto _ : state) {
    probe.alert_emitted(kAlerts[i].first, kAlerts[i].second);
    i = i + 1 == kAlerts.size() ? 0 : i + 1;
  }
}
BENCHMARK(BM_AlertEmitted);

void BM_ObserveEventToAlert(benchmark::State& state) {
  MetricsRegistry metrics;
  PipelineProbe probe(metrics, kTypes);
  double v = 0.0001;
  for (auto _ : state) {
    probe.observe_event_to_alert(v);
    v = v > 5 ? 0.0001 : v * 1.7;
  }
}
BENCHMARK(BM_ObserveEventToAlert);

// Baselines: the raw counter, and resolving the label set on every event.
void BM_RawCounterIncrement(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family =
      prometheus::BuildCounter().Name("c_total").Help("c").Register(registry);
  prometheus::Counter& counter = family.Add({{"type", "scan"}});
  for (auto _ : state) counter.Increment();
}
BENCHMARK(BM_RawCounterIncrement);

void BM_FamilyAddPerEvent(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family =
      prometheus::BuildCounter().Name("c_total").Help("c").Register(registry);
  size_t i = 0;
  for (auto _ : state) {
    family.Add({{"reason", kReasons[i]}}).Increment();
    i = i + 1 == kReasons.size() ? 0 : i + 1;
  }
}
BENCHMARK(BM_FamilyAddPerEvent);

}  // namespace
}  // namespace epistream
