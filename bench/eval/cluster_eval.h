// Detection quality of fever_cluster on synthetic cities (`epistream gen`):
// runs the engine in file mode (RunFileMode, the code path of `epistream run
// --input`) on a generated city and scores its cluster alerts against the
// ground truth, then does the same on a null city (the same events with the
// identities of each day's fever visits permuted among that day's active
// persons: counts per day and clinic kept, spatial clustering destroyed).
//
//   sensitivity    detected / detectable injected outbreaks (>= 3 febrile
//   cases) delay          first related alert ts - fever visit of the 3rd case
//   (hours) false alerts   distinct cluster_ids related to no injected
//   outbreak, per
//                  million person-weeks (persons x days / 7)
// An alert is related to an outbreak when it names the outbreak's venue or
// community (while its cases are within a case window), or when at least 2
// of its members are the outbreak's cases (the same people found at another
// place they share, e.g. a compound's gate).
//
// Header-only: bench/ builds only bench/city/ and bench/micro/*_bench.cc, so
// the driver is bench/micro/cluster_eval_bench.cc and the small-city check
// tests/eval/cluster_eval_test.cc.
// Threading: single-threaded.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/city/city_config.h"
#include "bench/city/city_generator.h"
#include "engine/event_time.h"
#include "engine/json_writer.h"
#include "engine/status.h"
#include "topologies/file_runner.h"

namespace epistream::eval {

// An injected outbreak with its febrile cases.
struct Outbreak {
  std::string kind;  // "venue" | "community"
  std::string id;
  std::vector<std::pair<TimestampMs, std::string>>
      cases;  // (fever ts, person), sorted
};

// A cluster alert of the engine.
struct ClusterAlertRow {
  std::string rule;
  std::string kind;  // "venue" | "community" | "clinic"
  std::string id;
  std::string cluster_id;
  int64_t version = 0;
  TimestampMs ts = 0;
  std::vector<std::string> members;
};

struct Score {
  int outbreaks = 0;
  int detectable = 0;  // >= 3 febrile cases
  int detected = 0;
  std::vector<double> delays_h;  // per detected outbreak
  int clusters = 0;              // distinct fever_cluster cluster_ids
  int false_clusters = 0;
  int clinic_surges = 0;
  double person_weeks = 0;

  double sensitivity() const {
    return detectable > 0 ? double(detected) / detectable : 0;
  }
  double false_per_million_pw() const {
    return person_weeks > 0 ? false_clusters / person_weeks * 1e6 : 0;
  }
  double median_delay_h() const {
    if (delays_h.empty()) return 0;
    std::vector<double> d = delays_h;
    std::sort(d.begin(), d.end());
    return d.size() % 2 ? d[d.size() / 2]
                        : (d[d.size() / 2 - 1] + d[d.size() / 2]) / 2;
  }
  double max_delay_h() const {
    return delays_h.empty()
               ? 0
               : *std::max_element(delays_h.begin(), delays_h.end());
  }
};

inline bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

inline bool JsonTs(simdjson::dom::element e, TimestampMs* out) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    auto t = ParseRfc3339(s);
    if (!t) return false;
    *out = *t;
    return true;
  }
  int64_t v = 0;
  if (e.get_int64().get(v) != simdjson::SUCCESS) return false;
  *out = v;
  return true;
}

inline std::string JsonStr(simdjson::dom::element e, std::string_view key) {
  std::string_view s;
  return e[key].get_string().get(s) == simdjson::SUCCESS ? std::string(s)
                                                         : std::string();
}

// The venue and community outbreaks of a ground-truth document.
inline Status LoadOutbreaks(const std::string& truth_json,
                            std::vector<Outbreak>* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(truth_json).get(doc) != simdjson::SUCCESS) {
    return Status::InvalidArgument("truth: not JSON");
  }
  out->clear();
  auto add_case = [](simdjson::dom::element c, Outbreak* o) {
    simdjson::dom::element ts;
    TimestampMs t = 0;
    if (c["fever_ts"].get(ts) == simdjson::SUCCESS && !ts.is_null() &&
        JsonTs(ts, &t)) {
      o->cases.emplace_back(t, JsonStr(c, "person_id"));
    }
  };
  simdjson::dom::array venues, communities;
  if (doc["venue_outbreaks"].get_array().get(venues) == simdjson::SUCCESS) {
    for (simdjson::dom::element v : venues) {
      Outbreak o{"venue", JsonStr(v, "venue_id"), {}};
      add_case(v["index"].value_unsafe(), &o);
      simdjson::dom::array sec;
      if (v["secondary"].get_array().get(sec) == simdjson::SUCCESS) {
        for (simdjson::dom::element c : sec) add_case(c, &o);
      }
      std::sort(o.cases.begin(), o.cases.end());
      out->push_back(std::move(o));
    }
  }
  if (doc["community_outbreaks"].get_array().get(communities) ==
      simdjson::SUCCESS) {
    for (simdjson::dom::element v : communities) {
      Outbreak o{"community", JsonStr(v, "community_id"), {}};
      simdjson::dom::array cases;
      if (v["cases"].get_array().get(cases) == simdjson::SUCCESS) {
        for (simdjson::dom::element c : cases) add_case(c, &o);
      }
      std::sort(o.cases.begin(), o.cases.end());
      out->push_back(std::move(o));
    }
  }
  return Status::Ok();
}

// The cluster alerts (lines with a "cluster" object) of an alerts file.
inline Status LoadClusterAlerts(const std::string& path,
                                std::vector<ClusterAlertRow>* out) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read " + path);
  out->clear();
  simdjson::dom::parser parser;
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element e, c;
    if (parser.parse(line).get(e) != simdjson::SUCCESS)
      return Status::Corruption("alert: " + line);
    if (e["cluster"].get(c) != simdjson::SUCCESS) continue;
    ClusterAlertRow r;
    r.rule = JsonStr(e, "rule");
    r.cluster_id = JsonStr(c, "cluster_id");
    for (const char* kind : {"venue", "community", "clinic"}) {
      std::string id = JsonStr(c, std::string(kind) + "_id");
      if (!id.empty()) {
        r.kind = kind;
        r.id = id;
      }
    }
    if (e["version"].get_int64().get(r.version) != simdjson::SUCCESS)
      r.version = 0;
    simdjson::dom::element ts;
    if (e["ts"].get(ts) != simdjson::SUCCESS || !JsonTs(ts, &r.ts)) {
      return Status::Corruption("alert without ts: " + line);
    }
    simdjson::dom::array members;
    if (c["members"].get_array().get(members) == simdjson::SUCCESS) {
      for (simdjson::dom::element m : members) {
        std::string_view s;
        if (m.get_string().get(s) == simdjson::SUCCESS)
          r.members.emplace_back(s);
      }
    }
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

// Whether `a` is about outbreak `o` (see the file comment).
inline bool Related(const ClusterAlertRow& a, const Outbreak& o,
                    DurationMs window) {
  if (o.cases.empty()) return false;
  if (a.kind == o.kind && a.id == o.id && a.ts >= o.cases.front().first &&
      a.ts <= o.cases.back().first + window) {
    return true;
  }
  int overlap = 0;
  for (const auto& [ts, person] : o.cases) {
    if (std::find(a.members.begin(), a.members.end(), person) !=
        a.members.end())
      ++overlap;
  }
  return overlap >= 2;
}

// Scores a run; `null_city` counts every fever_cluster as false (the
// outbreaks were scrambled away).
inline Score ScoreRun(const std::vector<Outbreak>& outbreaks,
                      const std::vector<ClusterAlertRow>& alerts,
                      uint64_t persons, int days, bool null_city,
                      DurationMs window = 7 * kDayMs) {
  Score s;
  s.person_weeks = static_cast<double>(persons) * days / 7.0;
  std::map<std::string, bool>
      cluster_related;  // cluster_id -> related to an outbreak
  for (const ClusterAlertRow& a : alerts) {
    if (a.rule == "clinic_surge") {
      ++s.clinic_surges;
      continue;
    }
    if (a.rule != "fever_cluster") continue;
    bool related = false;
    if (!null_city) {
      for (const Outbreak& o : outbreaks)
        related = related || Related(a, o, window);
    }
    cluster_related[a.cluster_id] = cluster_related[a.cluster_id] || related;
  }
  s.clusters = static_cast<int>(cluster_related.size());
  for (const auto& [id, related] : cluster_related)
    s.false_clusters += related ? 0 : 1;
  if (null_city) return s;
  for (const Outbreak& o : outbreaks) {
    ++s.outbreaks;
    if (o.cases.size() < 3) continue;
    ++s.detectable;
    TimestampMs first = INT64_MAX;
    for (const ClusterAlertRow& a : alerts) {
      if (a.rule == "fever_cluster" && Related(a, o, window))
        first = std::min(first, a.ts);
    }
    if (first == INT64_MAX) continue;
    ++s.detected;
    s.delays_h.push_back(static_cast<double>(first - o.cases[2].first) /
                         kHourMs);
  }
  return s;
}

// SplitMix64: a small deterministic generator for the permutation.
struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// The null city: every fever visit of local day d gets a person drawn
// without replacement from the persons with a scan that day (and that
// person's registered community); everything else is copied.
inline Status PermuteFeverIdentities(const std::string& in_path,
                                     const std::string& out_path, uint64_t seed,
                                     int tz_offset_minutes = 8 * 60) {
  simdjson::dom::parser parser;
  std::map<int64_t, std::vector<std::string>>
      active;  // day -> persons, sorted unique
  std::unordered_map<std::string, std::string> community;
  {
    std::ifstream in(in_path);
    if (!in) return Status::IoError("cannot read " + in_path);
    std::string line;
    while (std::getline(in, line)) {
      const bool scan = line.find("\"type\":\"scan\"") != std::string::npos;
      const bool person = line.find("\"type\":\"person\"") != std::string::npos;
      if (!scan && !person) continue;
      simdjson::dom::element e;
      if (parser.parse(line).get(e) != simdjson::SUCCESS) continue;
      if (person) {
        community[JsonStr(e, "person_id")] = JsonStr(e, "community_id");
        continue;
      }
      simdjson::dom::element ts;
      TimestampMs t = 0;
      if (e["ts"].get(ts) != simdjson::SUCCESS || !JsonTs(ts, &t)) continue;
      active[LocalDay(t, tz_offset_minutes)].push_back(JsonStr(e, "person_id"));
    }
  }
  for (auto& [day, persons] : active) {
    std::sort(persons.begin(), persons.end());
    persons.erase(std::unique(persons.begin(), persons.end()), persons.end());
  }
  std::map<int64_t, size_t>
      drawn;  // day -> persons already drawn (front of the vector)
  SplitMix64 rng{seed};
  std::ifstream in(in_path);
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!in || !out)
    return Status::IoError("cannot open " + in_path + " / " + out_path);
  std::string line, rewritten;
  while (std::getline(in, line)) {
    if (line.find("\"type\":\"fever\"") == std::string::npos) {
      out << line << '\n';
      continue;
    }
    simdjson::dom::element e, ts;
    TimestampMs t = 0;
    if (parser.parse(line).get(e) != simdjson::SUCCESS ||
        e["ts"].get(ts) != simdjson::SUCCESS || !JsonTs(ts, &t)) {
      out << line << '\n';
      continue;
    }
    const int64_t day = LocalDay(t, tz_offset_minutes);
    std::vector<std::string>& pool = active[day];
    size_t& used = drawn[day];
    std::string person = JsonStr(e, "person_id");
    if (used < pool.size()) {
      const size_t pick = used + rng.Next() % (pool.size() - used);
      std::swap(pool[used], pool[pick]);
      person = pool[used++];
    }
    rewritten.clear();
    JsonWriter w(&rewritten);
    w.BeginObject();
    w.Field("type", "fever");
    w.Field("event_id", JsonStr(e, "event_id"));
    w.Key("ts");
    w.Raw(simdjson::minify(ts));
    w.Field("person_id", person);
    w.Field("clinic_id", JsonStr(e, "clinic_id"));
    double temp = 38.0;
    if (e["temp_c"].get_double().get(temp) != simdjson::SUCCESS) temp = 38.0;
    w.Field("temp_c", temp);
    auto c = community.find(person);
    if (c != community.end() && !c->second.empty())
      w.Field("community_id", c->second);
    w.EndObject();
    out << rewritten << '\n';
  }
  return out ? Status::Ok() : Status::IoError("write " + out_path);
}

// One city: generated, run, scored; then its null version.
struct CityEval {
  uint64_t persons = 0;
  int days = 0;
  uint64_t seed = 0;
  uint64_t events = 0;
  double engine_seconds = 0;  // observed run, wall clock
  Score observed;
  Score null_city;
};

inline Status RunEngineOn(const std::string& input, const std::string& alerts) {
  FileRunOptions o;
  o.input = input;
  o.alerts = alerts;
  o.deadletter = alerts + ".dead";
  o.quiet = true;
  o.engine.metrics.port = 0;
  return RunFileMode(o) == 0
             ? Status::Ok()
             : Status::Internal("engine run failed on " + input);
}

inline Status EvaluateCity(const CityConfig& config, const std::string& dir,
                           CityEval* out) {
  std::filesystem::create_directories(dir);
  const std::string events = dir + "/city.jsonl", truth = dir + "/truth.json";
  CityStats stats;
  EPI_RETURN_IF_ERROR(GenerateCityToFiles(config, events, truth, &stats));
  std::string truth_json;
  if (!ReadWholeFile(truth, &truth_json))
    return Status::IoError("read " + truth);
  std::vector<Outbreak> outbreaks;
  EPI_RETURN_IF_ERROR(LoadOutbreaks(truth_json, &outbreaks));
  out->persons = config.persons;
  out->days = config.days;
  out->seed = config.seed;
  out->events = stats.events();
  std::vector<ClusterAlertRow> alerts;
  const auto t0 = std::chrono::steady_clock::now();
  EPI_RETURN_IF_ERROR(RunEngineOn(events, dir + "/alerts.jsonl"));
  out->engine_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  EPI_RETURN_IF_ERROR(LoadClusterAlerts(dir + "/alerts.jsonl", &alerts));
  out->observed =
      ScoreRun(outbreaks, alerts, config.persons, config.days, false);
  EPI_RETURN_IF_ERROR(PermuteFeverIdentities(events, dir + "/null.jsonl",
                                             config.seed * 7919 + 1));
  EPI_RETURN_IF_ERROR(
      RunEngineOn(dir + "/null.jsonl", dir + "/null_alerts.jsonl"));
  EPI_RETURN_IF_ERROR(LoadClusterAlerts(dir + "/null_alerts.jsonl", &alerts));
  out->null_city =
      ScoreRun(outbreaks, alerts, config.persons, config.days, true);
  return Status::Ok();
}

// Totals over cities, as a table (stdout) and a JSON document.
inline Score Total(const std::vector<CityEval>& cities, bool null_city) {
  Score t;
  for (const CityEval& c : cities) {
    const Score& s = null_city ? c.null_city : c.observed;
    t.outbreaks += s.outbreaks;
    t.detectable += s.detectable;
    t.detected += s.detected;
    t.delays_h.insert(t.delays_h.end(), s.delays_h.begin(), s.delays_h.end());
    t.clusters += s.clusters;
    t.false_clusters += s.false_clusters;
    t.clinic_surges += s.clinic_surges;
    t.person_weeks += s.person_weeks;
  }
  return t;
}

inline std::string FormatTable(const std::vector<CityEval>& cities) {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-22s %9s %8s %8s %7s %9s %9s %8s %9s %8s\n",
                "city", "events", "outbrk", "detect", "sens", "delay_h",
                "clusters", "false", "FA/Mpw", "surges");
  out += buf;
  auto row = [&](const std::string& name, uint64_t events, const Score& s) {
    std::snprintf(buf, sizeof buf,
                  "%-22s %9llu %8d %4d/%-3d %7.2f %9.1f %9d %8d %9.1f %8d\n",
                  name.c_str(), static_cast<unsigned long long>(events),
                  s.outbreaks, s.detected, s.detectable, s.sensitivity(),
                  s.median_delay_h(), s.clusters, s.false_clusters,
                  s.false_per_million_pw(), s.clinic_surges);
    out += buf;
  };
  uint64_t events = 0;
  for (const CityEval& c : cities) {
    const std::string name = std::to_string(c.persons / 1000) + "k x" +
                             std::to_string(c.days) + "d s" +
                             std::to_string(c.seed);
    row(name, c.events, c.observed);
    row(name + " null", c.events, c.null_city);
    events += c.events;
  }
  row("total", events, Total(cities, false));
  row("total null", events, Total(cities, true));
  return out;
}

inline std::string ToJson(const std::vector<CityEval>& cities) {
  std::string out;
  JsonWriter w(&out);
  auto score = [&](const Score& s) {
    w.BeginObject();
    w.Field("outbreaks", s.outbreaks);
    w.Field("detectable", s.detectable);
    w.Field("detected", s.detected);
    w.Field("sensitivity", s.sensitivity());
    w.Field("median_delay_hours", s.median_delay_h());
    w.Field("max_delay_hours", s.max_delay_h());
    w.Key("delays_hours");
    w.BeginArray();
    for (double d : s.delays_h) w.Double(d);
    w.EndArray();
    w.Field("clusters", s.clusters);
    w.Field("false_clusters", s.false_clusters);
    w.Field("person_weeks", s.person_weeks);
    w.Field("false_per_million_person_weeks", s.false_per_million_pw());
    w.Field("clinic_surges", s.clinic_surges);
    w.EndObject();
  };
  w.BeginObject();
  w.Key("cities");
  w.BeginArray();
  for (const CityEval& c : cities) {
    w.BeginObject();
    w.Field("persons", static_cast<int64_t>(c.persons));
    w.Field("days", c.days);
    w.Field("seed", static_cast<int64_t>(c.seed));
    w.Field("events", static_cast<int64_t>(c.events));
    w.Field("engine_seconds", c.engine_seconds);
    w.Key("observed");
    score(c.observed);
    w.Key("null");
    score(c.null_city);
    w.EndObject();
  }
  w.EndArray();
  w.Key("total");
  score(Total(cities, false));
  w.Key("total_null");
  score(Total(cities, true));
  w.EndObject();
  return out;
}

}  // namespace epistream::eval
