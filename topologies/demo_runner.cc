#include "topologies/demo_runner.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "bench/city/city_generator.h"
#include "engine/embedded_broker.h"
#include "engine/kafka_producer.h"
#include "engine/metrics_registry.h"
#include "topologies/kafka_engine.h"
#include "topologies/signals.h"

namespace epistream {
namespace {

// Simulated time per wall second: one city day every 8 s.
constexpr double kSimMsPerWallMs = 24.0 * 3600.0 / 8.0;
constexpr int kPartitions = 4;

// The value of a top-level string field, found without a parser (the city's
// own output, one field per key).
std::string_view FieldOf(std::string_view line, std::string_view key) {
  std::string pat = "\"" + std::string(key) + "\":\"";
  const size_t at = line.find(pat);
  if (at == std::string_view::npos) return {};
  const size_t start = at + pat.size();
  const size_t end = line.find('"', start);
  return end == std::string_view::npos ? std::string_view() : line.substr(start, end - start);
}

// Streams the generated city into the broker at a time-compressed pace.
void ProduceCity(const std::string& events_path, const std::string& brokers, const AppConfig& cfg,
                 const std::atomic<bool>& stop, std::atomic<uint64_t>* produced) {
  KafkaProducerOptions opts;
  opts.brokers = brokers;
  auto producer = KafkaProducer::Create(opts);
  if (!producer.ok()) {
    spdlog::error("demo producer: {}", producer.status().ToString());
    return;
  }
  const std::map<std::string_view, const std::string*> topics = {
      {"scan", &cfg.topics.scans},           {"transport", &cfg.topics.transport},
      {"fever", &cfg.topics.fever},          {"risk_area", &cfg.topics.risk_areas},
      {"person", &cfg.topics.persons}};
  std::ifstream in(events_path);
  std::string line;
  TimestampMs sim_start = kMinTimestamp;
  const auto wall_start = std::chrono::steady_clock::now();
  while (!stop.load() && std::getline(in, line)) {
    auto type = topics.find(FieldOf(line, "type"));
    if (type == topics.end()) continue;
    const std::string_view key =
        type->first == "risk_area" ? FieldOf(line, "region") : FieldOf(line, "person_id");
    const bool stream_event = type->first != "person" && type->first != "risk_area";
    auto ts = ParseRfc3339(FieldOf(line, "ts"));
    if (ts && sim_start == kMinTimestamp && stream_event) sim_start = *ts;
    // Pace from the first stream event on; earlier table records (listings
    // from before the city's first day, the registry) go out at once.
    if (ts && sim_start != kMinTimestamp && *ts > sim_start) {
      const auto due = wall_start + std::chrono::milliseconds(
                                        static_cast<int64_t>((*ts - sim_start) / kSimMsPerWallMs));
      while (!stop.load() && std::chrono::steady_clock::now() < due) {
        (*producer)->Poll(0);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    Status st = (*producer)->Produce(*type->second, key, line);
    if (!st.ok()) {
      spdlog::error("demo producer: {}", st.ToString());
      return;
    }
    produced->fetch_add(1, std::memory_order_relaxed);
  }
  (*producer)->Flush(10000).IgnoreError();
}

}  // namespace

int RunDemo(const DemoOptions& opts) {
  AppConfig cfg;
  std::atomic<bool> stop{false};
  std::atomic<KafkaEngine*> engine_ptr{nullptr};
  StopOnSignals([&] {
    stop.store(true);
    if (KafkaEngine* e = engine_ptr.load()) e->RequestStop();
  });

  auto broker = EmbeddedBroker::Start();
  if (!broker.ok()) {
    std::fprintf(stderr, "epistream demo: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  const TopicsConfig& t = cfg.topics;
  for (const std::string& topic : {t.scans, t.transport, t.fever, t.risk_areas, t.persons,
                                   t.alerts_person, t.alerts_cluster, t.deadletter}) {
    Status st = (*broker)->CreateTopic(topic, kPartitions);
    if (!st.ok()) {
      std::fprintf(stderr, "epistream demo: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  const std::string brokers = (*broker)->bootstrap_servers();

  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("epistream-demo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // The sample city's boosted rates (more travel, listings, quarantine
  // breakers and fevers than a real city) so that every person rule shows
  // within the first minute; activity at its normal level.
  CityConfig city = CityConfig::Sample();
  city.activity_scale = 1.0;
  city.persons = opts.persons;
  city.days = 14;
  city.seed = 7;
  std::printf("epistream demo: generating a city of %llu persons over %d days...\n",
              static_cast<unsigned long long>(city.persons), city.days);
  Status st = GenerateCityToFiles(city, (dir / "city.jsonl").string(), (dir / "truth.json").string());
  if (!st.ok()) {
    std::fprintf(stderr, "epistream demo: %s\n", st.ToString().c_str());
    return 1;
  }

  cfg.engine.kafka.brokers = brokers;
  cfg.engine.kafka.group = "epistream-demo";
  cfg.engine.state.dir = (dir / "state").string();
  cfg.engine.metrics.port = opts.metrics_port;
  // A city day passes in 8 s here: a topic-partition quiet for 2 s (6 city
  // hours; fever clinics are sparse) must not hold every timer back.
  cfg.engine.watermark.idle_timeout = 2 * kSecondMs;
  MetricsRegistry metrics;
  st = metrics.Serve(cfg.engine.metrics.bind, cfg.engine.metrics.port);
  if (!st.ok()) {
    spdlog::warn("metrics endpoint not served: {}", st.ToString());
  }
  std::printf(
      "bootstrap.servers=%s\n"
      "metrics: http://127.0.0.1:%d/metrics\n"
      "watch the alerts:  kcat -b %s -C -t %s -o beginning -u\n"
      "one simulated day every %.0f s\n\n",
      brokers.c_str(), opts.metrics_port, brokers.c_str(), t.alerts_person.c_str(),
      24.0 * 3600.0 / kSimMsPerWallMs);
  std::fflush(stdout);

  std::map<std::string, uint64_t> by_rule;
  std::deque<std::string> latest;
  KafkaEngineHooks hooks;
  hooks.on_alert = [&](std::string_view json) {
    ++by_rule[std::string(FieldOf(json, "rule"))];
    std::string line = std::string(FieldOf(json, "rule")) + ": " + std::string(FieldOf(json, "explanation"));
    latest.push_back(std::move(line));
    if (latest.size() > 5) latest.pop_front();
  };
  std::atomic<uint64_t> produced{0};
  int seconds = 0;
  hooks.on_second = [&](const EngineSnapshot& s) {
    ++seconds;
    if (opts.duration_s > 0 && seconds >= opts.duration_s) {
      stop.store(true);
      if (KafkaEngine* e = engine_ptr.load()) e->RequestStop();
    }
    if (seconds % 3 != 0) return;
    std::printf("[%3ds] produced %llu  processed %llu (%.0f/s)  lag %lld  watermark %s  alerts %llu  dead letters %llu\n",
                seconds, static_cast<unsigned long long>(produced.load()),
                static_cast<unsigned long long>(s.records), s.records_per_s,
                static_cast<long long>(s.lag),
                s.watermark == kMinTimestamp ? "-" : FormatRfc3339(s.watermark, 480).substr(0, 16).c_str(),
                static_cast<unsigned long long>(s.alerts),
                static_cast<unsigned long long>(s.deadletters));
    if (!by_rule.empty()) {
      std::printf("       by rule:");
      for (const auto& [rule, n] : by_rule) std::printf(" %s=%llu", rule.c_str(), static_cast<unsigned long long>(n));
      std::printf("\n");
    }
    for (const std::string& a : latest) std::printf("       > %s\n", a.c_str());
    std::fflush(stdout);
  };

  KafkaEngine engine(cfg, &metrics, hooks);
  engine_ptr.store(&engine);
  std::thread producer(ProduceCity, (dir / "city.jsonl").string(), brokers, std::cref(cfg),
                       std::cref(stop), &produced);
  st = engine.Start();
  if (st.ok()) st = engine.Run();
  stop.store(true);
  producer.join();
  engine_ptr.store(nullptr);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!st.ok()) {
    std::fprintf(stderr, "epistream demo: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("epistream demo: done\n");
  return 0;
}

}  // namespace epistream
