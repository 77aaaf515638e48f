// e2e_bench: epistream's end-to-end throughput beside its floors, on one
// generated input, in one run (see bench/README.md for the commands).
//
// The parent generates the city (cached in --workdir), runs each phase in a
// child process (itself, with --phase; so each phase's peak RSS is its own,
// VmHWM read by the child), hosts the embedded broker for the Kafka phases,
// loads the input into it once and checks that the mock broker dropped nothing.
// It prints one line per phase and, last,
//   e2e_kafka_eps=N file_eps=N ratio_vs_floor=R
// where ratio_vs_floor is Kafka engine eps / Kafka consume floor eps, each
// over its whole phase. The floor_b and kafka lines also carry steady_eps and
// steady_cpu_ns_per_event: from the first record consumed (floor_b) or the
// first event applied (kafka) to the end, i.e. without the table load and
// the consumer-group join.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/city/city_generator.h"
#include "bench/e2e/e2e_phases.h"
#include "bench/e2e/kafka_loader.h"
#include "engine/embedded_broker.h"
#include "engine/logging.h"

extern char** environ;

namespace epistream::bench {
namespace {

struct ChildResult {
  PhaseResult phase;
  uint64_t max_rss_kb = 0;
  bool ok = false;
  std::string error;
};

std::vector<std::string> ChildArgs(const BenchFlags& f,
                                   const std::string& phase) {
  std::vector<std::string> out = {"/proc/self/exe",
                                  "--phase",
                                  phase,
                                  "--persons",
                                  std::to_string(f.persons),
                                  "--days",
                                  std::to_string(f.days),
                                  "--seed",
                                  std::to_string(f.seed),
                                  "--partitions",
                                  std::to_string(f.partitions),
                                  "--workdir",
                                  f.workdir,
                                  "--brokers",
                                  f.brokers.empty() ? "-" : f.brokers,
                                  "--expected-records",
                                  std::to_string(f.expected_records),
                                  "--latency-rate",
                                  std::to_string(f.latency_rate),
                                  "--latency-seconds",
                                  std::to_string(f.latency_seconds),
                                  "--memory-persons",
                                  std::to_string(f.memory_persons),
                                  "--memory-days",
                                  std::to_string(f.memory_days),
                                  "--memory-scans-per-day",
                                  std::to_string(f.memory_scans_per_day)};
  out.push_back("--checkpoint-interval-ms");
  out.push_back(std::to_string(f.checkpoint_interval_ms));
  out.push_back("--encoded-cache-bytes");
  out.push_back(std::to_string(f.encoded_cache_bytes));
  if (!f.latency_trace.empty()) {
    out.push_back("--latency-trace");
    out.push_back(f.latency_trace);
  }
  for (const auto& [k, v] : f.kafka_properties) {
    out.push_back("--kafka-property");
    out.push_back(k + "=" + v);
  }
  return out;
}

// Runs `phase` in a child; its stdout's RESULT line is the PhaseResult.
ChildResult RunChild(const BenchFlags& f, const std::string& phase) {
  ChildResult out;
  int fds[2];
  if (::pipe(fds) != 0) {
    out.error = "pipe";
    return out;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> args = ChildArgs(f, phase);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr,
                             argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    out.error = "spawn failed";
    return out;
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RESULT ", 0) == 0) {
      std::istringstream fields(line.substr(7));
      std::string kv;
      std::string extra;
      while (fields >> kv) {
        const size_t eq = kv.find('=');
        const std::string k = kv.substr(0, eq);
        const std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
        if (k == "records")
          out.phase.records = std::stoull(v);
        else if (k == "seconds")
          out.phase.seconds = std::stod(v);
        else if (k == "cpu")
          out.phase.cpu_seconds = std::stod(v);
        else if (k == "hwm_kb")
          out.max_rss_kb = std::stoull(v);
        else
          extra += (extra.empty() ? "" : " ") + kv;
      }
      out.phase.extra = extra;
      out.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    } else if (line.rfind("ERROR ", 0) == 0) {
      out.error = line.substr(6);
    }
  }
  if (!out.ok && out.error.empty())
    out.error = "child exited with status " + std::to_string(status);
  return out;
}

double Eps(const ChildResult& r) {
  return r.phase.seconds > 0
             ? static_cast<double>(r.phase.records) / r.phase.seconds
             : 0;
}

void Print(const std::string& name, const ChildResult& r) {
  if (!r.ok) {
    std::printf("%-9s FAILED: %s\n", name.c_str(), r.error.c_str());
    std::fflush(stdout);
    return;
  }
  const double eps = Eps(r);
  std::printf(
      "%-9s records=%llu seconds=%.2f eps=%.0f ns_per_event=%.0f cpu_s=%.2f "
      "cpu_ns_per_event=%.0f peak_rss_mib=%.0f %s\n",
      name.c_str(), static_cast<unsigned long long>(r.phase.records),
      r.phase.seconds, eps, eps > 0 ? 1e9 / eps : 0, r.phase.cpu_seconds,
      r.phase.records
          ? 1e9 * r.phase.cpu_seconds / static_cast<double>(r.phase.records)
          : 0,
      static_cast<double>(r.max_rss_kb) / 1024.0, r.phase.extra.c_str());
  std::fflush(stdout);
}

// Peak RSS of this process image (VmHWM). Not getrusage/wait4's maxrss: a
// child started by posix_spawn (vfork) inherits the parent's high-water
// mark through exec.
uint64_t PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

int RunPhaseInChild(const BenchFlags& f, const std::string& phase) {
  InitLogging("warn");
  PhaseResult r;
  Status st;
  if (phase == "floor_a")
    st = RunFloorA(f, &r);
  else if (phase == "floor_b")
    st = RunFloorB(f, &r);
  else if (phase == "file")
    st = RunFileEngine(f, &r);
  else if (phase == "kafka")
    st = RunKafkaEngine(f, &r);
  else if (phase == "latency_floor")
    st = RunLatencyFloor(f, &r);
  else if (phase == "latency")
    st = RunLatency(f, &r);
  else if (phase == "memory")
    st = RunMemory(f, &r);
  else
    st = Status::InvalidArgument("unknown phase " + phase);
  if (!st.ok()) {
    std::printf("ERROR %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("RESULT records=%llu seconds=%.6f cpu=%.6f hwm_kb=%llu %s\n",
              static_cast<unsigned long long>(r.records), r.seconds,
              r.cpu_seconds, static_cast<unsigned long long>(PeakRssKb()),
              r.extra.c_str());
  return 0;
}

uint64_t CountFileLines(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return 0;
  uint64_t n = 0;
  char buf[1 << 16];
  for (size_t got; (got = std::fread(buf, 1, sizeof buf, f)) > 0;) {
    for (size_t i = 0; i < got; ++i) n += buf[i] == '\n';
  }
  std::fclose(f);
  return n;
}

std::string Field(const std::string& extra, const std::string& key) {
  const size_t at = extra.find(key + "=");
  if (at == std::string::npos) return "";
  const size_t end = extra.find(' ', at);
  return extra.substr(at + key.size() + 1, end == std::string::npos
                                               ? std::string::npos
                                               : end - at - key.size() - 1);
}

int Main(int argc, char** argv) {
  BenchFlags f;
  std::string phase;
  std::string phases = "floor_a,file,floor_b,kafka";
  CLI::App app{
      "epistream end-to-end bench: floors, file mode, Kafka mode, latency, "
      "memory"};
  app.add_option("--persons", f.persons, "persons in the generated city");
  app.add_option("--days", f.days, "days of events");
  app.add_option("--seed", f.seed, "generator seed");
  app.add_option("--partitions", f.partitions, "partitions per input topic");
  app.add_option("--workdir", f.workdir, "input cache, state and outputs");
  app.add_option(
      "--phases", phases,
      "comma list of floor_a,file,floor_b,kafka,latency_floor,latency,memory");
  app.add_option("--latency-rate", f.latency_rate,
                 "latency phase: events/s produced");
  app.add_option("--latency-seconds", f.latency_seconds,
                 "latency phase: seconds of input");
  app.add_option("--memory-persons", f.memory_persons, "memory phase: persons");
  app.add_option("--memory-days", f.memory_days, "memory phase: days");
  app.add_option("--memory-scans-per-day", f.memory_scans_per_day,
                 "memory phase: scans per person and day");
  app.add_option("--checkpoint-interval-ms", f.checkpoint_interval_ms,
                 "kafka and latency phases: the engine's checkpoint interval (0: default)");
  app.add_option("--encoded-cache-bytes", f.encoded_cache_bytes,
                 "engine phases: state.encoded_cache_bytes (-1: the default)");
  app.add_option("--latency-trace", f.latency_trace,
                 "latency phase: write each loop turn and every event applied over 40 ms after "
                 "its consume to this file");
  std::vector<std::string> kafka_props;
  app.add_option(
      "--kafka-property", kafka_props,
      "librdkafka property k=v for the consumers and the engine (repeatable)");
  app.add_option("--phase", phase)
      ->group("");  // internal: run one phase (child)
  app.add_option("--brokers", f.brokers)->group("");
  app.add_option("--expected-records", f.expected_records)->group("");
  CLI11_PARSE(app, argc, argv);
  if (f.brokers == "-") f.brokers.clear();
  for (const std::string& kv : kafka_props) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "e2e_bench: --kafka-property wants k=v, got %s\n",
                   kv.c_str());
      return 2;
    }
    f.kafka_properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!phase.empty()) return RunPhaseInChild(f, phase);

  std::filesystem::create_directories(f.workdir);
  const std::string input = f.input();
  auto want = [&](const std::string& p) {
    return ("," + phases + ",").find("," + p + ",") != std::string::npos;
  };
  const bool needs_input = want("floor_a") || want("file") || want("floor_b") ||
                           want("kafka") || want("latency") ||
                           want("latency_floor");
  if (needs_input && !std::filesystem::exists(input)) {
    CityConfig cc;
    cc.persons = f.persons;
    cc.days = f.days;
    cc.seed = f.seed;
    const auto t0 = std::chrono::steady_clock::now();
    Status st = GenerateCityToFiles(cc, input + ".tmp", input + ".truth.json");
    if (!st.ok()) {
      std::fprintf(stderr, "e2e_bench: generate: %s\n", st.ToString().c_str());
      return 1;
    }
    std::filesystem::rename(input + ".tmp", input);
    std::printf(
        "generated %s in %.1f s\n", input.c_str(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  if (needs_input && f.partitions <= 0) {
    const uint64_t want_parts =
        std::filesystem::file_size(input) / (12ull << 20) + 1;
    f.partitions = 8;
    while (static_cast<uint64_t>(f.partitions) < want_parts) f.partitions *= 2;
  }
  if (f.partitions <= 0) f.partitions = 8;
  if (needs_input) {
    f.expected_records = CountFileLines(input);
    std::printf(
        "input %s: %llu records, %.0f MiB\n", input.c_str(),
        static_cast<unsigned long long>(f.expected_records),
        static_cast<double>(std::filesystem::file_size(input)) / (1 << 20));
  }
  std::map<std::string, ChildResult> results;
  for (const char* p : {"floor_a", "file"}) {
    if (!want(p)) continue;
    results[p] = RunChild(f, p);
    Print(p, results[p]);
  }
  std::unique_ptr<EmbeddedBroker> broker;
  if (want("floor_b") || want("kafka")) {
    InitLogging("warn");
    auto started = EmbeddedBroker::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "e2e_bench: broker: %s\n",
                   started.status().ToString().c_str());
      return 1;
    }
    broker = std::move(started).value();
    f.brokers = broker->bootstrap_servers();
    const TopicsConfig topics;
    for (const std::string& t : {topics.scans, topics.transport, topics.fever,
                                 topics.risk_areas, topics.persons}) {
      if (!broker->CreateTopic(t, f.partitions).ok()) return 1;
    }
    for (const std::string& t :
         {topics.alerts_person, topics.alerts_cluster, topics.deadletter}) {
      if (!broker->CreateTopic(t, 4).ok()) return 1;
    }
    KafkaLoader loader(f.brokers, topics);
    std::vector<RoutedLine> lines;
    lines.reserve(f.expected_records);
    {
      FILE* in = std::fopen(input.c_str(), "rb");
      char* buf = nullptr;
      size_t cap = 0;
      for (ssize_t n; in != nullptr && (n = ::getline(&buf, &cap, in)) > 0;) {
        RoutedLine r;
        if (loader.Route(std::string_view(buf, static_cast<size_t>(n))
                             .substr(0, static_cast<size_t>(n) - 1),
                         &r)) {
          lines.push_back(std::move(r));
        }
      }
      std::free(buf);
      if (in != nullptr) std::fclose(in);
    }
    const auto t0 = std::chrono::steady_clock::now();
    Status st = loader.ProduceAll(lines);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    uint64_t held = 0;
    if (st.ok()) st = loader.Verify(lines.size(), &held);
    std::printf(
        "produce   records=%zu seconds=%.2f eps=%.0f partitions_per_topic=%d "
        "broker_holds=%llu %s\n",
        lines.size(), secs, static_cast<double>(lines.size()) / secs,
        f.partitions, static_cast<unsigned long long>(held),
        st.ok() ? "verified" : st.ToString().c_str());
    std::fflush(stdout);
    if (!st.ok()) return 1;
    f.expected_records = lines.size();
    for (const char* p : {"floor_b", "kafka"}) {
      if (!want(p)) continue;
      results[p] = RunChild(f, p);
      Print(p, results[p]);
    }
    if (results.count("kafka") != 0 && results["kafka"].ok) {
      auto alerts = loader.TopicEnd(topics.alerts_person);
      std::printf("kafka     alerts_in_topic=%llu (file mode: %s)\n",
                  static_cast<unsigned long long>(alerts.ok() ? *alerts : 0),
                  results.count("file")
                      ? Field(results["file"].phase.extra, "alerts").c_str()
                      : "not run");
    }
  }
  for (const char* p : {"latency_floor", "latency", "memory"}) {
    if (!want(p)) continue;
    results[p] = RunChild(f, p);
    Print(p, results[p]);
  }
  auto eps = [&](const char* p) {
    return results.count(p) && results[p].ok ? Eps(results[p]) : 0.0;
  };
  if (eps("floor_a") > 0 && eps("file") > 0)
    std::printf("ratio file/floor_a=%.3f\n", eps("file") / eps("floor_a"));
  if (eps("floor_b") > 0 && eps("kafka") > 0)
    std::printf("ratio kafka/floor_b=%.3f\n", eps("kafka") / eps("floor_b"));
  if (eps("floor_a") > 0 && eps("kafka") > 0)
    std::printf("ratio kafka/floor_a=%.3f\n", eps("kafka") / eps("floor_a"));
  // Without start-up (tables, group join): the phases' steady_eps fields.
  auto steady = [&](const char* p) {
    const std::string v =
        results.count(p) && results[p].ok
            ? Field(results[p].phase.extra, "steady_eps")
            : "";
    return v.empty() ? 0.0 : std::stod(v);
  };
  if (steady("floor_b") > 0 && steady("kafka") > 0)
    std::printf("ratio kafka/floor_b steady=%.3f\n",
                steady("kafka") / steady("floor_b"));
  const double ratio = eps("floor_b") > 0 ? eps("kafka") / eps("floor_b") : 0;
  std::printf("e2e_kafka_eps=%.0f file_eps=%.0f ratio_vs_floor=%.3f\n",
              eps("kafka"), eps("file"), ratio);
  bool all_ok = true;
  for (const auto& [name, r] : results) all_ok = all_ok && r.ok;
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace epistream::bench

int main(int argc, char** argv) { return epistream::bench::Main(argc, argv); }
