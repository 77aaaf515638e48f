#include "bench/e2e/e2e_phases.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/e2e/kafka_loader.h"
#include "engine/embedded_broker.h"
#include "engine/file_sink.h"
#include "engine/file_source.h"
#include "engine/kafka_consumer.h"
#include "engine/metrics_registry.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "operators/event_parser.h"
#include "topologies/app_config.h"
#include "topologies/city_pipeline.h"
#include "topologies/file_runner.h"
#include "topologies/kafka_engine.h"

namespace epistream::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

void ResetDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

uint64_t CountLines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

// Lines of the input, routed to topics: table records (persons, risk areas)
// that come before the first event, then everything else in file order.
Status LoadRouted(const BenchFlags& f, KafkaLoader* loader,
                  std::vector<RoutedLine>* tables,
                  std::vector<RoutedLine>* events, size_t max_events) {
  auto source = FileLineSource::Open(f.input());
  if (!source.ok()) return source.status();
  std::string_view line;
  int64_t offset = 0;
  Status st;
  bool in_tables = true;
  while ((*source)->Next(&line, &offset, &st) && events->size() < max_events) {
    RoutedLine r;
    if (!loader->Route(line, &r)) continue;
    if (in_tables && r.topic < 3) in_tables = false;
    (in_tables ? tables : events)->push_back(std::move(r));
  }
  return st;
}

// p-quantile of sorted values.
double Quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  const size_t i =
      std::min(sorted.size() - 1,
               static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

// Upper bucket bound holding the p-quantile of a Prometheus histogram in
// `text` (cumulative `name_bucket{le="x"} n` lines).
double HistogramQuantile(const std::string& text, const std::string& name,
                         double p) {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  std::istringstream in(text);
  std::string line;
  const std::string prefix = name + "_bucket{";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t le = line.find("le=\"");
    const size_t close = line.find("\"}", le);
    if (le == std::string::npos || close == std::string::npos) continue;
    const std::string bound = line.substr(le + 4, close - le - 4);
    const double b =
        bound == "+Inf" ? INFINITY : std::strtod(bound.c_str(), nullptr);
    buckets.emplace_back(b, std::strtod(line.c_str() + close + 2, nullptr));
  }
  if (buckets.empty() || buckets.back().second <= 0) return NAN;
  const double target = p * buckets.back().second;
  for (const auto& [b, n] : buckets) {
    if (n >= target) return b;
  }
  return INFINITY;
}

// The "rule" of an alert's JSON; empty if absent.
std::string_view RuleOf(std::string_view json) {
  const size_t at = json.find("\"rule\":\"");
  if (at == std::string_view::npos) return {};
  const size_t end = json.find('"', at + 8);
  return end == std::string_view::npos ? std::string_view()
                                       : json.substr(at + 8, end - at - 8);
}

}  // namespace

std::string BenchFlags::input() const {
  return workdir + "/city-" + std::to_string(persons) + "-" +
         std::to_string(days) + "-" + std::to_string(seed) + ".jsonl";
}

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

Status RunFloorA(const BenchFlags& f, PhaseResult* r) {
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  auto source = FileLineSource::Open(f.input());
  if (!source.ok()) return source.status();
  EventParser parser;
  Event event;
  std::string reason;
  std::string_view line;
  int64_t offset = 0;
  Status st;
  uint64_t ok = 0;
  while ((*source)->Next(&line, &offset, &st)) {
    ++r->records;
    if (parser.Parse(line, std::nullopt, &event, &reason)) ++ok;
  }
  EPI_RETURN_IF_ERROR(st);
  r->seconds = Since(t0);
  r->cpu_seconds = ProcessCpuSeconds() - cpu0;
  r->extra = "parsed=" + std::to_string(ok);
  return Status::Ok();
}

Status RunFileEngine(const BenchFlags& f, PhaseResult* r) {
  FileRunOptions o;
  o.input = f.input();
  o.alerts = f.workdir + "/alerts-file.jsonl";
  o.deadletter = f.workdir + "/deadletters-file.jsonl";
  o.state_dir = f.workdir + "/state-file";
  o.quiet = true;
  f.ApplyState(&o.engine.state);
  ResetDir(o.state_dir);
  std::error_code ec;
  std::filesystem::remove(o.alerts, ec);
  std::filesystem::remove(o.deadletter, ec);
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  if (RunFileMode(o) != 0) return Status::Internal("file mode run failed");
  r->seconds = Since(t0);
  r->cpu_seconds = ProcessCpuSeconds() - cpu0;
  r->records = CountLines(o.input);
  r->extra = "alerts=" + std::to_string(CountLines(o.alerts)) +
             " db_bytes=" + std::to_string(DirBytes(o.state_dir));
  return Status::Ok();
}

Status RunFloorB(const BenchFlags& f, PhaseResult* r) {
  const TopicsConfig topics;
  KafkaConsumerOptions copts;
  copts.brokers = f.brokers;
  copts.group = "e2e-floor-b";
  copts.properties = {{"session.timeout.ms", "10000"},
                      {"heartbeat.interval.ms", "1000"}};
  for (const auto& [k, v] : f.kafka_properties) copts.properties[k] = v;
  copts.topics = {topics.scans, topics.transport, topics.fever,
                  topics.risk_areas, topics.persons};
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  auto consumer = KafkaConsumer::Create(
      copts,
      [](const std::string&, int32_t) { return std::optional<int64_t>(); },
      [](const std::vector<TopicPartition>&, bool) {});
  if (!consumer.ok()) return consumer.status();
  std::vector<KafkaMessage> batch;
  uint64_t bytes = 0;
  uint64_t checksum = 0;
  // Steady state: from the assignment (the group join is before it), not
  // from the first batch, which comes either ~0.02 s or ~0.5 s after it:
  // KafkaConsumer resumes the partitions right after assigning them, which
  // bumps their op version, so librdkafka may drop the answers to its first
  // ListOffsets (logical BEGINNING) as outdated and retry 500 ms later.
  Clock::time_point assigned_t{};
  double assigned_cpu = 0;
  bool assigned = false;
  while (r->records < f.expected_records) {
    if (Since(t0) > 3600) return Status::Unavailable("floor B: timed out");
    EPI_RETURN_IF_ERROR((*consumer)->PollBatch(100, &batch, 20000));
    const std::vector<PartitionEvent> events = (*consumer)->TakeEvents();
    if (!assigned &&
        std::any_of(events.begin(), events.end(), [](const PartitionEvent& e) {
          return e.kind == PartitionEvent::Kind::kAssigned;
        })) {
      // Assigned inside this poll, before any of its messages.
      assigned = true;
      assigned_t = Clock::now();
      assigned_cpu = ProcessCpuSeconds();
    }
    for (const KafkaMessage& m : batch) {
      bytes += m.value.size();
      checksum += m.value.empty()
                      ? 0
                      : static_cast<uint8_t>(m.value[m.value.size() / 2]);
    }
    r->records += batch.size();
    batch.clear();
  }
  r->seconds = Since(t0);
  r->cpu_seconds = ProcessCpuSeconds() - cpu0;
  r->extra = "bytes=" + std::to_string(bytes) +
             " checksum=" + std::to_string(checksum % 1000);
  if (assigned) {
    const double assigned_s =
        std::chrono::duration<double>(assigned_t - t0).count();
    const double steady_s = r->seconds - assigned_s;
    const double n = static_cast<double>(r->records);
    r->extra += " assigned_s=" + Fmt("%.2f", assigned_s) +
                " steady_s=" + Fmt("%.2f", steady_s) +
                " steady_eps=" + Fmt("%.0f", n / steady_s) +
                " steady_cpu_ns_per_event=" +
                Fmt("%.0f", 1e9 * (cpu0 + r->cpu_seconds - assigned_cpu) / n);
  }
  return (*consumer)->Close();
}

Status RunKafkaEngine(const BenchFlags& f, PhaseResult* r) {
  AppConfig cfg;
  cfg.engine.kafka.brokers = f.brokers;
  cfg.engine.kafka.group = "e2e-engine";
  cfg.engine.kafka.properties = f.kafka_properties;
  if (f.checkpoint_interval_ms > 0) cfg.engine.checkpoint.interval = f.checkpoint_interval_ms;
  cfg.engine.state.dir = f.workdir + "/state-kafka";
  f.ApplyState(&cfg.engine.state);
  cfg.engine.metrics.port = 0;
  cfg.engine.log_level = "warn";
  ResetDir(cfg.engine.state.dir);
  MetricsRegistry metrics;
  KafkaEngine* engine_ptr = nullptr;
  // Progress samples (time, records) from the once-a-second hook: the time
  // the last record was applied is interpolated within its second.
  Clock::time_point prev_t{};
  uint64_t prev_records = 0;
  Clock::time_point done_t{};
  // Steady state: from the first event applied (after the table load, the
  // group join, the first fetch and the table barrier) to the end. Observed
  // on the engine thread: applied events are counted by the on_applied
  // hook, and the process CPU is read at the first one and when the run is
  // found done.
  Clock::time_point first_applied_t{};
  double first_applied_cpu = 0;
  uint64_t applied_events = 0;
  uint64_t steady_events = 0;
  Clock::time_point stop_t{};
  double stop_cpu = 0;
  KafkaEngineHooks hooks;
  hooks.on_applied = [&](const KafkaMessage&) {
    if (applied_events++ == 0) {
      first_applied_t = Clock::now();
      first_applied_cpu = ProcessCpuSeconds();
    }
  };
  hooks.on_second = [&](const EngineSnapshot& s) {
    const auto now = Clock::now();
    if (done_t == Clock::time_point{} && s.records >= f.expected_records) {
      stop_t = now;
      stop_cpu = ProcessCpuSeconds();
      steady_events = applied_events;
      const double dt = std::chrono::duration<double>(now - prev_t).count();
      const double need =
          static_cast<double>(f.expected_records - prev_records);
      const double got = static_cast<double>(s.records - prev_records);
      done_t =
          prev_t +
          std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(got > 0 ? dt * need / got : dt));
      engine_ptr->RequestStop();
    }
    prev_t = now;
    prev_records = s.records;
  };
  KafkaEngine engine(cfg, &metrics, hooks);
  engine_ptr = &engine;
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  prev_t = t0;
  EPI_RETURN_IF_ERROR(engine.Start());
  const double start_secs = Since(t0);
  EPI_RETURN_IF_ERROR(engine.Run());
  const double cpu1 = ProcessCpuSeconds();
  if (done_t == Clock::time_point{})
    return Status::Internal("kafka engine stopped early");
  r->records = f.expected_records;
  r->seconds = std::chrono::duration<double>(done_t - t0).count();
  // CPU over the whole run, scaled to the measured part (the graceful stop
  // after it is short).
  r->cpu_seconds = (cpu1 - cpu0) * r->seconds / Since(t0);
  r->extra = "tables_s=" + Fmt("%.2f", start_secs) +
             " db_bytes=" + std::to_string(DirBytes(cfg.engine.state.dir));
  if (steady_events > 0 && done_t > first_applied_t) {
    // Events (person-topic records; the tables were loaded before) over the
    // wall time from the first applied event to the interpolated end; CPU
    // up to the sample taken when the end was seen, scaled to that end.
    const double first_s =
        std::chrono::duration<double>(first_applied_t - t0).count();
    const double steady_s =
        std::chrono::duration<double>(done_t - first_applied_t).count();
    const double sampled_s =
        std::chrono::duration<double>(stop_t - first_applied_t).count();
    const double steady_cpu = (stop_cpu - first_applied_cpu) * steady_s /
                              std::max(sampled_s, steady_s);
    const double n = static_cast<double>(steady_events);
    r->extra += " join_s=" + Fmt("%.2f", first_s - start_secs) +
                " first_event_s=" + Fmt("%.2f", first_s) +
                " steady_events=" + std::to_string(steady_events) +
                " steady_s=" + Fmt("%.2f", steady_s) +
                " steady_eps=" + Fmt("%.0f", n / steady_s) +
                " steady_cpu_ns_per_event=" + Fmt("%.0f", 1e9 * steady_cpu / n);
  }
  return Status::Ok();
}

// The latency phases' own broker with the tables loaded and the events to
// produce at the steady rate.
Status LatencySetup(const BenchFlags& f,
                    std::unique_ptr<EmbeddedBroker>* broker,
                    std::vector<RoutedLine>* events) {
  auto started = EmbeddedBroker::Start();
  if (!started.ok()) return started.status();
  *broker = std::move(started).value();
  const TopicsConfig topics;
  for (const std::string& t : {topics.scans, topics.transport, topics.fever,
                               topics.risk_areas, topics.persons}) {
    EPI_RETURN_IF_ERROR((*broker)->CreateTopic(t, f.partitions));
  }
  for (const std::string& t : {topics.alerts_person, topics.deadletter}) {
    EPI_RETURN_IF_ERROR((*broker)->CreateTopic(t, 4));
  }
  KafkaLoader table_loader((*broker)->bootstrap_servers(), topics);
  std::vector<RoutedLine> tables;
  const auto n = static_cast<size_t>(f.latency_rate * f.latency_seconds);
  EPI_RETURN_IF_ERROR(LoadRouted(f, &table_loader, &tables, events, n));
  return table_loader.ProduceAll(tables);
}

std::string Percentiles(std::vector<double>* seconds) {
  std::sort(seconds->begin(), seconds->end());
  return "p50_ms=" + Fmt("%.2f", 1e3 * Quantile(*seconds, 0.5)) +
         " p99_ms=" + Fmt("%.2f", 1e3 * Quantile(*seconds, 0.99)) +
         " p999_ms=" + Fmt("%.2f", 1e3 * Quantile(*seconds, 0.999)) +
         " max_ms=" +
         Fmt("%.2f", seconds->empty() ? NAN : 1e3 * seconds->back());
}

Status RunLatencyFloor(const BenchFlags& f, PhaseResult* r) {
  std::unique_ptr<EmbeddedBroker> broker;
  std::vector<RoutedLine> events;
  EPI_RETURN_IF_ERROR(LatencySetup(f, &broker, &events));
  const TopicsConfig topics;
  KafkaConsumerOptions copts;
  copts.brokers = broker->bootstrap_servers();
  copts.group = "e2e-latency-floor";
  copts.properties = {{"session.timeout.ms", "10000"},
                      {"heartbeat.interval.ms", "1000"}};
  for (const auto& [k, v] : f.kafka_properties) copts.properties[k] = v;
  copts.topics = {topics.scans, topics.transport, topics.fever};
  auto consumer = KafkaConsumer::Create(
      copts,
      [](const std::string&, int32_t) { return std::optional<int64_t>(); },
      [](const std::vector<TopicPartition>&, bool) {});
  if (!consumer.ok()) return consumer.status();
  // Join the group before producing, as the engine has by then.
  std::vector<KafkaMessage> batch;
  for (int i = 0; i < 30; ++i)
    EPI_RETURN_IF_ERROR((*consumer)->PollBatch(100, &batch, 20000));
  std::vector<std::atomic<int64_t>> sent(events.size());
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < events.size(); ++i)
    index.emplace(events[i].event_id, i);
  std::atomic<bool> produced{false};
  Status produce_status;
  KafkaLoader loader(broker->bootstrap_servers(), topics);
  const auto t0 = Clock::now();
  std::thread producer([&] {
    produce_status =
        loader.ProduceAtRate(events, f.latency_rate, &sent, nullptr);
    produced.store(true);
  });
  std::vector<double> lat;
  EventParser parser;
  Event event;
  std::string reason;
  // Only the person topics are consumed here (listings in the stream go to
  // the risk-area table topic).
  const auto expected = static_cast<uint64_t>(
      std::count_if(events.begin(), events.end(),
                    [](const RoutedLine& l) { return l.topic < 3; }));
  uint64_t n = 0;
  while (n < expected && Since(t0) < f.latency_seconds * 3 + 30) {
    batch.clear();
    EPI_RETURN_IF_ERROR((*consumer)->PollBatch(100, &batch, 20000));
    (*consumer)->TakeEvents();
    const int64_t now = Clock::now().time_since_epoch().count();
    for (const KafkaMessage& m : batch) {
      ++n;
      // Sampled: one message in 16 (the lookup costs more than the consume).
      if ((n & 15) != 0 ||
          !parser.Parse(m.value, std::nullopt, &event, &reason))
        continue;
      auto it = index.find(event.event_id);
      if (it != index.end() && sent[it->second].load() != 0) {
        lat.push_back(static_cast<double>(now - sent[it->second].load()) / 1e9);
      }
    }
  }
  producer.join();
  EPI_RETURN_IF_ERROR(produce_status);
  r->records = n;
  r->seconds = Since(t0);
  r->extra = "sampled=" + std::to_string(lat.size()) + " " + Percentiles(&lat);
  return (*consumer)->Close();
}

Status RunLatency(const BenchFlags& f, PhaseResult* r) {
  std::unique_ptr<EmbeddedBroker> broker;
  std::vector<RoutedLine> events;
  EPI_RETURN_IF_ERROR(LatencySetup(f, &broker, &events));
  const TopicsConfig topics;
  const std::string brokers = broker->bootstrap_servers();
  std::unordered_map<std::string, uint32_t> index;  // event_id -> line
  index.reserve(events.size());
  for (uint32_t i = 0; i < events.size(); ++i)
    index.emplace(events[i].event_id, i);
  std::vector<std::atomic<int64_t>> sent(events.size());
  for (auto& s : sent) s.store(0);

  AppConfig cfg;
  cfg.engine.kafka.brokers = brokers;
  cfg.engine.kafka.group = "e2e-latency";
  cfg.engine.kafka.properties = f.kafka_properties;
  if (f.checkpoint_interval_ms > 0) cfg.engine.checkpoint.interval = f.checkpoint_interval_ms;
  cfg.engine.state.dir = f.workdir + "/state-latency";
  f.ApplyState(&cfg.engine.state);
  cfg.engine.metrics.port = 0;
  ResetDir(cfg.engine.state.dir);
  MetricsRegistry metrics;
  std::vector<double> latencies;  // seconds, produce -> alert emitted
  // The measure, consumed -> alert emitted: each alert's event and
  // emission time (KafkaConsumer::NowMs), resolved after the run against
  // the time the engine consumed that event (on_applied runs after the
  // apply that emits the alert, so it is not known yet at on_alert).
  std::vector<std::pair<uint32_t, int64_t>> alert_events;
  // Every applied event's (id hash, consume time), resolved after the run:
  // a hash and an append on the stage thread. (A lookup of each id in
  // `index` here took 23% of the stage thread's CPU at 100k events/s, a
  // cache miss or three per event, and delayed the events it measured.)
  std::vector<std::pair<uint64_t, int64_t>> consumed_log;
  consumed_log.reserve(events.size() + events.size() / 4);
  // --latency-trace: one line per loop turn and per event that waited over
  // 40 ms for its apply, on the KafkaConsumer::NowMs() clock.
  std::unique_ptr<FILE, int (*)(FILE*)> trace(nullptr, &std::fclose);
  if (!f.latency_trace.empty()) {
    trace.reset(std::fopen(f.latency_trace.c_str(), "w"));
    if (trace == nullptr) return Status::IoError("cannot write " + f.latency_trace);
  }
  std::map<std::string, std::vector<double>> by_rule;  // the same, per rule
  std::atomic<bool> produced{false};
  std::atomic<bool> stop_producer{false};
  std::atomic<bool> assigned{false};
  std::atomic<bool> producing{false};
  Clock::time_point produced_at{};
  KafkaEngine* engine_ptr = nullptr;
  KafkaEngineHooks hooks;
  hooks.on_alert = [&](std::string_view json) {
    const int64_t now = Clock::now().time_since_epoch().count();
    // The triggering event is the evidence whose ts is the alert's ts
    // (timer alerts, e.g. returnee_untested, have none and are skipped).
    const size_t ts_at = json.find("\"ts\":\"");
    if (ts_at == std::string_view::npos) return;
    const std::string_view ts =
        json.substr(ts_at + 6, json.find('"', ts_at + 6) - ts_at - 6);
    for (size_t at = json.find("\"event_id\":\""); at != std::string_view::npos;
         at = json.find("\"event_id\":\"", at + 1)) {
      const size_t id_end = json.find('"', at + 12);
      const std::string id(json.substr(at + 12, id_end - at - 12));
      const size_t ets = json.find("\"ts\":\"", id_end);
      if (ets == std::string_view::npos ||
          json.substr(ets + 6, ts.size()) != ts)
        continue;
      auto it = index.find(id);
      if (it == index.end()) continue;
      const int64_t s = sent[it->second].load(std::memory_order_relaxed);
      if (s != 0) {
        const double l = static_cast<double>(now - s) / 1e9;
        latencies.push_back(l);
        by_rule[std::string(RuleOf(json))].push_back(l);
        alert_events.emplace_back(it->second, KafkaConsumer::NowMs());
      }
      return;
    }
  };
  // Where the time goes inside the engine (KafkaEngineHooks): merger wait
  // per released event, and each loop turn's split.
  std::vector<double> merge_waits;  // seconds, consumed -> applied
  std::vector<double> applied;      // seconds, produced -> applied
  uint64_t applied_n = 0;
  std::vector<double> checkpoints;  // seconds, one per checkpoint
  LoopTurnTiming turns_total;
  uint64_t turns = 0;
  double max_turn = 0;
  LoopTurnTiming turns_max;  // the longest of each step
  hooks.on_applied = [&](const KafkaMessage& msg) {
    if (!producing.load(std::memory_order_relaxed)) return;
    const size_t at = msg.value.find("\"event_id\":\"");
    if (at == std::string_view::npos) return;
    const size_t end = msg.value.find('"', at + 12);
    if (end == std::string_view::npos) return;
    const std::string_view id = msg.value.substr(at + 12, end - at - 12);
    consumed_log.emplace_back(std::hash<std::string_view>()(id), msg.received_ms);
    if (trace != nullptr) {
      const int64_t now_ms = KafkaConsumer::NowMs();
      if (now_ms - msg.received_ms > 40) {
        std::fprintf(trace.get(), "slow applied_ms=%lld consumed_ms=%lld partition=%d topic=%s\n",
                     static_cast<long long>(now_ms), static_cast<long long>(msg.received_ms),
                     static_cast<int>(msg.partition), msg.topic->c_str());
      }
    }
    // The rest sampled: one event in 16.
    if ((++applied_n & 15) != 0) return;
    auto it = index.find(std::string(id));
    if (it == index.end()) return;
    const int64_t now = Clock::now().time_since_epoch().count();
    merge_waits.push_back(static_cast<double>(KafkaConsumer::NowMs() - msg.received_ms) / 1e3);
    const int64_t s = sent[it->second].load(std::memory_order_relaxed);
    if (s != 0) applied.push_back(static_cast<double>(now - s) / 1e9);
  };
  hooks.on_turn = [&](const LoopTurnTiming& t) {
    if (!producing.load(std::memory_order_relaxed)) return;
    if (trace != nullptr) {
      std::fprintf(trace.get(),
                   "turn end_ms=%lld poll_ms=%.1f tables_ms=%.1f apply_ms=%.1f checkpoint_ms=%.1f "
                   "released=%zu\n",
                   static_cast<long long>(KafkaConsumer::NowMs()), t.poll_s * 1e3, t.tables_s * 1e3,
                   t.apply_s * 1e3, t.checkpoint_s * 1e3, t.released);
    }
    ++turns;
    turns_total.poll_s += t.poll_s;
    turns_total.tables_s += t.tables_s;
    turns_total.apply_s += t.apply_s;
    turns_total.checkpoint_s += t.checkpoint_s;
    turns_total.released += t.released;
    if (t.checkpoint_s > 0) checkpoints.push_back(t.checkpoint_s);
    turns_max.poll_s = std::max(turns_max.poll_s, t.poll_s);
    turns_max.tables_s = std::max(turns_max.tables_s, t.tables_s);
    turns_max.apply_s = std::max(turns_max.apply_s, t.apply_s);
    max_turn = std::max(max_turn, t.poll_s + t.tables_s + t.apply_s + t.checkpoint_s);
  };
  hooks.on_second = [&](const EngineSnapshot& s) {
    // Production starts once the engine holds its partitions (the floor's
    // consumer joins its group before producing too): the group join is
    // not part of the steady-state latency.
    if (s.partitions > 0) assigned.store(true);
    if (produced.load() && Since(produced_at) > 5) engine_ptr->RequestStop();
  };
  KafkaEngine engine(cfg, &metrics, hooks);
  engine_ptr = &engine;
  EPI_RETURN_IF_ERROR(engine.Start());
  Status produce_status;
  KafkaLoader loader(brokers, topics);
  Clock::time_point t0{};
  double cpu0 = 0;
  std::thread producer([&] {
    const auto wait_from = Clock::now();
    while (!assigned.load() && !stop_producer.load() && Since(wait_from) < 60) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    t0 = Clock::now();
    cpu0 = ProcessCpuSeconds();
    producing.store(true);
    produce_status =
        loader.ProduceAtRate(events, f.latency_rate, &sent, &stop_producer);
    produced_at = Clock::now();
    produced.store(true);
  });
  Status st = engine.Run();
  stop_producer.store(true);
  producer.join();
  EPI_RETURN_IF_ERROR(st);
  EPI_RETURN_IF_ERROR(produce_status);
  r->records = events.size();
  r->seconds = std::chrono::duration<double>(produced_at - t0).count();
  r->cpu_seconds = ProcessCpuSeconds() - cpu0;
  const std::string text = metrics.ScrapeText();
  const std::string h = "epistream_event_to_alert_seconds";
  std::vector<double> consumed_to_alert;  // seconds
  {
    // Ids are distinct; a 64-bit hash collision among ~1M would only drop
    // or mistime one event.
    std::unordered_map<uint64_t, int64_t> consumed_ms;
    consumed_ms.reserve(consumed_log.size());
    for (const auto& [hash, ms] : consumed_log) consumed_ms.emplace(hash, ms);
    for (const auto& [event, emitted_ms] : alert_events) {
      auto it = consumed_ms.find(std::hash<std::string_view>()(events[event].event_id));
      if (it != consumed_ms.end()) {
        consumed_to_alert.push_back(static_cast<double>(emitted_ms - it->second) / 1e3);
      }
    }
  }
  const size_t alerts_consumed_timed = consumed_to_alert.size();
  r->extra = "alerts_timed=" + std::to_string(latencies.size()) + " " +
             Percentiles(&latencies) + " consumed_to_alert_n=" +
             std::to_string(alerts_consumed_timed) + " consumed_to_alert_" +
             Percentiles(&consumed_to_alert) + " engine_hist_p50_le_ms=" +
             Fmt("%.1f", 1e3 * HistogramQuantile(text, h, 0.5)) +
             " engine_hist_p99_le_ms=" +
             Fmt("%.1f", 1e3 * HistogramQuantile(text, h, 0.99)) +
             " engine_hist_p999_le_ms=" +
             Fmt("%.1f", 1e3 * HistogramQuantile(text, h, 0.999));
  // The engine's split: consumed -> released by the merger, and the share
  // of the loop's wall time per step (a checkpoint holds every event that
  // arrives meanwhile).
  const double wall = turns_total.poll_s + turns_total.tables_s + turns_total.apply_s +
                      turns_total.checkpoint_s;
  auto share = [&](double s) { return Fmt("%.2f", wall > 0 ? s / wall : 0); };
  const double ckpt_total = turns_total.checkpoint_s;
  const size_t ckpts = checkpoints.size();
  std::sort(checkpoints.begin(), checkpoints.end());
  r->extra += " events_sampled=" + std::to_string(applied.size()) + " applied_" +
              Percentiles(&applied) + " consumed_to_applied_" + Percentiles(&merge_waits) +
              " turns=" + std::to_string(turns) +
              " max_turn_ms=" + Fmt("%.1f", 1e3 * max_turn) +
              " max_poll_ms=" + Fmt("%.1f", 1e3 * turns_max.poll_s) +
              " max_tables_ms=" + Fmt("%.1f", 1e3 * turns_max.tables_s) +
              " max_apply_ms=" + Fmt("%.1f", 1e3 * turns_max.apply_s) +
              " share_poll=" + share(turns_total.poll_s) +
              " share_tables=" + share(turns_total.tables_s) +
              " share_apply=" + share(turns_total.apply_s) +
              " share_checkpoint=" + share(ckpt_total) + " checkpoints=" + std::to_string(ckpts) +
              " checkpoint_p50_ms=" + Fmt("%.1f", 1e3 * Quantile(checkpoints, 0.5)) +
              " checkpoint_max_ms=" +
              Fmt("%.1f", ckpts > 0 ? 1e3 * checkpoints.back() : NAN) +
              " tables_ms_per_turn=" + Fmt("%.2f", turns > 0 ? 1e3 * turns_total.tables_s / static_cast<double>(turns) : 0);
  // Per rule: immediate rules fire while the event is applied; fever_cluster
  // waits for the watermark (out-of-orderness) by definition.
  for (auto& [rule, l] : by_rule) {
    std::sort(l.begin(), l.end());
    r->extra += " " + rule + "=" + std::to_string(l.size()) + "/" +
                Fmt("%.1f", 1e3 * Quantile(l, 0.5)) + "/" +
                Fmt("%.1f", 1e3 * Quantile(l, 0.99)) + "ms";
  }
  return Status::Ok();
}

Status RunMemory(const BenchFlags& f, PhaseResult* r) {
  EngineConfig engine;
  f.ApplyState(&engine.state);
  RulesConfig rules;
  const std::string dir = f.workdir + "/state-memory";
  ResetDir(dir);
  auto store = RocksKvStore::Open(dir, engine.state);
  if (!store.ok()) return store.status();
  auto alerts = FileLineSink::Open(f.workdir + "/alerts-memory.jsonl", "");
  if (!alerts.ok()) return alerts.status();
  auto dead = FileLineSink::Open(f.workdir + "/deadletters-memory.jsonl", "");
  if (!dead.ok()) return dead.status();
  CityPipeline pipeline(engine, rules, store->get(), alerts->get(), alerts->get(), dead->get(),
                        nullptr);
  EPI_RETURN_IF_ERROR(pipeline.Open());
  EPI_RETURN_IF_ERROR(pipeline.AddPartition(0, std::nullopt, 0));
  const uint64_t n = f.memory_persons;
  const int per_day = f.memory_scans_per_day;
  constexpr TimestampMs kStart = 1663603200000;  // 2022-09-20T00:00+08:00
  const double step =
      static_cast<double>(kDayMs) / static_cast<double>(n * per_day);
  constexpr uint64_t kVenues = 50000;
  static const char* const kKinds[] = {"restaurant", "supermarket", "office",
                                       "market", "mall"};
  std::string json;
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  uint64_t since_checkpoint = 0;
  SourcePosition pos{"memory", 0, 0};
  for (int day = 0; day < f.memory_days; ++day) {
    for (int k = 0; k < per_day; ++k) {
      for (uint64_t i = 0; i < n; ++i) {
        // Persons in a scattered order; venues skewed (few very popular).
        const uint64_t person =
            (i * 2654435761ull + static_cast<uint64_t>(k) * 97) % n;
        const double u =
            static_cast<double>((i * 40503ull + person) % 1000003) / 1000003.0;
        const uint64_t venue =
            static_cast<uint64_t>(static_cast<double>(kVenues) * u * u * u);
        const TimestampMs ts =
            kStart + day * kDayMs +
            static_cast<TimestampMs>(step * static_cast<double>(k * n + i));
        json.clear();
        json += "{\"type\":\"scan\",\"event_id\":\"s";
        json += std::to_string(day) + "-" + std::to_string(person) + "-" +
                std::to_string(k);
        json += "\",\"ts\":" + std::to_string(ts) + ",\"person_id\":\"P" +
                std::to_string(person);
        json += "\",\"code_color\":\"green\",\"venue_id\":\"v-" +
                std::to_string(venue);
        json += "\",\"venue_kind\":\"";
        json += kKinds[venue % 5];
        json += "\"}";
        EPI_RETURN_IF_ERROR(pipeline.OnMessage(json, std::nullopt, pos, 0));
        ++pos.offset;
        if (++since_checkpoint >= engine.checkpoint.max_events) {
          EPI_RETURN_IF_ERROR(pipeline.Checkpoint());
          since_checkpoint = 0;
        }
      }
    }
  }
  EPI_RETURN_IF_ERROR(pipeline.Checkpoint());
  r->records = static_cast<uint64_t>(pos.offset);
  r->seconds = Since(t0);
  r->cpu_seconds = ProcessCpuSeconds() - cpu0;
  // A sample of stored states: their encoded and decoded (in-memory) sizes.
  uint64_t sampled = 0;
  uint64_t encoded = 0;
  uint64_t decoded = 0;
  const std::string prefix = state_keys::PartitionPrefix(0, 'S');
  EPI_RETURN_IF_ERROR((*store)->Scan(prefix, PrefixEnd(prefix),
                                     [&](std::string_view, std::string_view v) {
                                       PersonState s;
                                       if (s.Decode(v).ok()) {
                                         encoded += v.size();
                                         decoded += s.MemoryBytes();
                                       }
                                       return ++sampled < 10000;
                                     }));
  const double avg_decoded =
      sampled > 0 ? static_cast<double>(decoded) / static_cast<double>(sampled)
                  : 0;
  const double budget =
      static_cast<double>(engine.state.block_cache_bytes +
                          engine.state.write_buffer_bytes) +
      static_cast<double>(engine.state.cache_entries) * avg_decoded +
      static_cast<double>(engine.state.encoded_cache_bytes);
  const uint64_t approx = (*store)->ApproximateSizeBytes();
  r->extra =
      "persons=" + std::to_string(n) +
      " cached=" + std::to_string(pipeline.cached_persons()) +
      " encoded=" + std::to_string(pipeline.encoded_persons()) +
      " encoded_bytes=" + std::to_string(pipeline.encoded_bytes()) +
      " db_bytes=" + std::to_string(DirBytes(dir)) +
      " db_approx_bytes=" + std::to_string(approx) + " avg_state_encoded=" +
      Fmt("%.0f",
          sampled ? static_cast<double>(encoded) / static_cast<double>(sampled)
                  : 0) +
      " avg_state_decoded=" + Fmt("%.0f", avg_decoded) +
      " budget_bytes=" + Fmt("%.0f", budget);
  return Status::Ok();
}

}  // namespace epistream::bench
