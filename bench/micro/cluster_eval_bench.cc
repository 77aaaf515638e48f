// fever_cluster detection quality on generated cities
// (bench/eval/cluster_eval.h): sensitivity to the injected venue and community
// outbreaks, detection delay after the third case, and false clusters per
// million person-weeks on the city and on its null version (fever identities
// permuted per day).
//
//   ./build/bench/cluster_eval_bench                  # default sizes below
//   ./build/bench/cluster_eval_bench --benchmark_filter='/20000/'
// Prints the table on stdout and writes the JSON to $EPISTREAM_EVAL_JSON
// (default cluster_eval.json); the benchmark counters repeat the totals.
// Arguments: persons, days, number of seeds (1..n);
// EPISTREAM_EVAL_CITY=persons,days,seeds[,first seed] overrides them;
// EPISTREAM_EVAL_KEEP=DIR keeps each city's truth and alert files;
// EPISTREAM_EVAL_VENUE_DAY=0 skips the second engine run per city with
// rules.cluster_method = venue_day (default: run and score it beside);
// EPISTREAM_EVAL_WEEKLY=1 adds a run with venue_day and
// rules.community_method = weekly (default: off).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/eval/cluster_eval.h"

namespace epistream {
namespace {

void BM_ClusterEval(benchmark::State& state) {
  CityConfig config;
  config.persons = static_cast<uint64_t>(state.range(0));
  config.days = static_cast<int>(state.range(1));
  int seeds = static_cast<int>(state.range(2));
  int first_seed = 1;
  // EPISTREAM_EVAL_CITY=persons,days,seeds[,first seed] overrides the
  // arguments.
  if (const char* city = std::getenv("EPISTREAM_EVAL_CITY")) {
    unsigned long long p = 0;
    int d = 0, n = 0, f = 1;
    if (std::sscanf(city, "%llu,%d,%d,%d", &p, &d, &n, &f) >= 3) {
      config.persons = p;
      config.days = d;
      seeds = n;
      first_seed = f;
    }
  }
  std::string dir =
      (std::filesystem::temp_directory_path() / "epistream-eval-XXXXXX")
          .string();
  if (::mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("no temporary directory");
    return;
  }
  // EPISTREAM_EVAL_KEEP=DIR keeps each city's truth and alerts there.
  const char* keep = std::getenv("EPISTREAM_EVAL_KEEP");
  std::vector<eval::CityEval> cities;
  eval::EvalOptions options;
  const char* vd = std::getenv("EPISTREAM_EVAL_VENUE_DAY");
  options.venue_day = vd == nullptr || std::string(vd) != "0";
  const char* wk = std::getenv("EPISTREAM_EVAL_WEEKLY");
  options.weekly = wk != nullptr && std::string(wk) == "1";
  for (auto _ : state) {
    for (int s = first_seed; s < first_seed + seeds; ++s) {
      config.seed = static_cast<uint64_t>(s);
      eval::CityEval c;
      Status st = eval::EvaluateCity(config, dir + "/seed" + std::to_string(s),
                                     &c, options);
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        break;
      }
      const std::string seed_dir = dir + "/seed" + std::to_string(s);
      if (keep != nullptr && *keep != '\0') {
        // Keep truth and alerts (not the large event files) for a look.
        const std::string to = std::string(keep) + "/" +
                               std::to_string(config.persons) + "_s" +
                               std::to_string(s);
        std::filesystem::create_directories(to);
        for (const char* f : {"truth.json", "alerts.jsonl", "null_alerts.jsonl",
                              "vd_alerts.jsonl", "vd_null_alerts.jsonl",
                              "wk_alerts.jsonl", "wk_null_alerts.jsonl"}) {
          std::error_code ec;
          std::filesystem::copy_file(
              seed_dir + "/" + f, to + "/" + f,
              std::filesystem::copy_options::overwrite_existing, ec);
        }
      }
      std::filesystem::remove_all(seed_dir);
      std::fprintf(stderr,
                   "seed %d: %llu events, generate %.0f s, engine %.0f s, "
                   "null engine %.0f s, venue_day %.0f s + %.0f s, "
                   "weekly %.0f s + %.0f s\n",
                   s, static_cast<unsigned long long>(c.events),
                   c.generate_seconds, c.engine_seconds, c.null_engine_seconds,
                   c.vd_engine_seconds, c.vd_null_engine_seconds,
                   c.wk_engine_seconds, c.wk_null_engine_seconds);
      cities.push_back(c);
    }
  }
  std::filesystem::remove_all(dir);
  if (cities.empty()) return;
  const eval::Score observed = eval::Total(cities, false);
  const eval::Score null_city = eval::Total(cities, true);
  state.counters["sensitivity"] = observed.sensitivity();
  state.counters["detected"] = observed.detected;
  state.counters["detectable"] = observed.detectable;
  state.counters["median_delay_h"] = observed.median_delay_h();
  state.counters["false_per_Mpw"] = observed.false_per_million_pw();
  state.counters["null_false_per_Mpw"] = null_city.false_per_million_pw();
  if (options.venue_day) {
    const eval::Score vd = eval::Total(cities, false, false, true);
    state.counters["vd_sensitivity"] = vd.sensitivity();
    state.counters["vd_null_false_per_Mpw"] =
        eval::Total(cities, true, false, true).false_per_million_pw();
  }
  if (options.weekly) {
    state.counters["wk_sensitivity"] =
        eval::Total(cities, false, false, false, true).sensitivity();
    state.counters["wk_null_false_per_Mpw"] =
        eval::Total(cities, true, false, false, true).false_per_million_pw();
  }
  std::fputs(eval::FormatTable(cities).c_str(), stdout);
  const char* path = std::getenv("EPISTREAM_EVAL_JSON");
  const std::string out =
      path != nullptr && *path != '\0' ? path : "cluster_eval.json";
  if (FILE* f = std::fopen(out.c_str(), "w")) {
    const std::string json = eval::ToJson(cities);
    std::fwrite(json.data(), 1, json.size(), f);
    std::fputc('\n', f);
    std::fclose(f);
  }
}

BENCHMARK(BM_ClusterEval)
    ->Args({20000, 14, 5})
    ->Args({100000, 14, 5})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace epistream
