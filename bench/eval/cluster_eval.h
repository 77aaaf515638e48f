// Detection quality on synthetic cities (`epistream gen`): runs the engine in
// file mode (RunFileMode, the code path of `epistream run --input`) on a
// generated city and scores its alerts against the ground truth, then does
// the same on a null city (the same events with the identities of each
// day's fever visits permuted among that day's active persons: counts per
// day and clinic kept, spatial clustering destroyed).
//
// Outbreaks (injected, from the truth) fall in one category each:
//   point      a venue outbreak with >= 3 febrile cases infected there on
//              one day, at a venue with <= busy_visitors_week (200) distinct
//              visitors over the 7 days ending that day: the target
//   busy       the same at a busier venue (reported, not a target)
//   community  a community outbreak with >= 3 febrile cases
//   few        fewer than 3 febrile cases: nothing to detect
//   sensitivity    detected / outbreaks of a category
//   delay          first related alert ts - fever visit of the 3rd case
//                  (event time, hours); median and p90 (nearest rank)
//   false alerts   distinct cluster_ids related to no injected outbreak, per
//                  million person-weeks (persons x days / 7); on a null city
//                  every fever_cluster is false
//   alerts per day fever_cluster messages (every version) and clinic_surge
//                  alerts per simulated day
// An alert is related to an outbreak when it names the outbreak's venue or
// community (while its cases are within a case window), or when at least 2
// of its members are the outbreak's cases (the same people found at another
// place they share, e.g. a compound's gate).
// Also scored per city: the person rules' precision and recall
// (person_rule_score.h), the busy venues where a 3-case cluster cannot be
// significant, and EARS C2 vs C3 clinic surges (city_census.h).
//
// Header-only: bench/ builds only bench/city/ and bench/micro/*_bench.cc, so
// the driver is bench/micro/cluster_eval_bench.cc and the small-city check
// tests/eval/cluster_eval_test.cc.
// Threading: single-threaded.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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
#include "bench/eval/city_census.h"
#include "bench/eval/covisit_prototype.h"
#include "bench/eval/person_rule_score.h"
#include "engine/event_time.h"
#include "engine/json_writer.h"
#include "engine/status.h"
#include "operators/rules_config.h"
#include "topologies/file_runner.h"

namespace epistream::eval {

// An injected outbreak with its febrile cases.
struct Outbreak {
  std::string kind;  // "venue" | "community"
  std::string id;
  std::vector<std::pair<TimestampMs, std::string>>
      cases;                   // (fever ts, person), sorted
  int64_t day = 0;             // venue: local day of the infecting visit
  uint32_t visitors_week = 0;  // venue: distinct visitors, 7 days to `day`
  std::string category;        // point | busy | community | few (Classify)
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

// Nearest-rank percentile (q in (0, 1]) of `v`; 0 when empty.
inline double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank =
      static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}
inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2]
                      : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Detections of one outbreak category.
struct Detection {
  int outbreaks = 0;
  int detected = 0;
  std::vector<double> delays_h;  // per detected outbreak
  double sensitivity() const {
    return outbreaks > 0 ? double(detected) / outbreaks : 0;
  }
  double median_delay_h() const { return Median(delays_h); }
  double p90_delay_h() const { return Percentile(delays_h, 0.9); }
  void Add(const Detection& o) {
    outbreaks += o.outbreaks;
    detected += o.detected;
    delays_h.insert(delays_h.end(), o.delays_h.begin(), o.delays_h.end());
  }
};

// One outbreak's outcome (observed city).
struct OutbreakResult {
  std::string kind, id, category;
  uint32_t visitors_week = 0;
  int febrile = 0;
  bool detected = false;
  double delay_h = 0;
};

struct Score {
  // Over every outbreak with >= 3 febrile cases (point + busy + community).
  int outbreaks = 0;
  int detectable = 0;
  int detected = 0;
  std::vector<double> delays_h;
  Detection point, busy, community;
  int few = 0;  // outbreaks with < 3 febrile cases
  std::vector<OutbreakResult> results;
  int clusters = 0;  // distinct fever_cluster cluster_ids
  int false_clusters = 0;
  int cluster_alerts = 0;  // fever_cluster messages, every version
  int clinic_surges = 0;
  int max_alerts_day = 0;  // most cluster + surge alerts on one local day
  double person_weeks = 0;
  double days = 0;

  double sensitivity() const {
    return detectable > 0 ? double(detected) / detectable : 0;
  }
  double false_per_million_pw() const {
    return person_weeks > 0 ? false_clusters / person_weeks * 1e6 : 0;
  }
  double median_delay_h() const { return Median(delays_h); }
  double p90_delay_h() const { return Percentile(delays_h, 0.9); }
  double max_delay_h() const {
    return delays_h.empty()
               ? 0
               : *std::max_element(delays_h.begin(), delays_h.end());
  }
  double cluster_alerts_per_day() const {
    return days > 0 ? cluster_alerts / days : 0;
  }
  double new_clusters_per_day() const { return days > 0 ? clusters / days : 0; }
  double surges_per_day() const { return days > 0 ? clinic_surges / days : 0; }
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
                            std::vector<Outbreak>* out,
                            int tz_offset_minutes = 480) {
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
      Outbreak o;
      o.kind = "venue";
      o.id = JsonStr(v, "venue_id");
      simdjson::dom::element scan_ts;
      TimestampMs t = 0;
      if (v["index"]["scan_ts"].get(scan_ts) == simdjson::SUCCESS &&
          JsonTs(scan_ts, &t)) {
        o.day = LocalDay(t, tz_offset_minutes);
      }
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
      Outbreak o;
      o.kind = "community";
      o.id = JsonStr(v, "community_id");
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

// Sets visitors_week and category of each outbreak (see the file comment).
inline void Classify(const CityCensus& census, uint32_t busy_visitors_week,
                     std::vector<Outbreak>* outbreaks) {
  for (Outbreak& o : *outbreaks) {
    if (o.kind == "venue") o.visitors_week = census.Visitors(o.id, o.day, 7);
    if (o.cases.size() < 3) {
      o.category = "few";
    } else if (o.kind == "community") {
      o.category = "community";
    } else {
      o.category = o.visitors_week <= busy_visitors_week ? "point" : "busy";
    }
  }
}

// Scores a run; `null_city` counts every fever_cluster as false (the
// outbreaks were scrambled away). Outbreaks without a category count as
// point (venue) or community outbreaks when they have >= 3 cases.
inline Score ScoreRun(const std::vector<Outbreak>& outbreaks,
                      const std::vector<ClusterAlertRow>& alerts,
                      uint64_t persons, int days, bool null_city,
                      DurationMs window = 7 * kDayMs, int tz = 480) {
  Score s;
  s.person_weeks = static_cast<double>(persons) * days / 7.0;
  s.days = days;
  std::map<std::string, bool> cluster_related;  // cluster_id -> related
  std::map<int64_t, int> per_day;
  for (const ClusterAlertRow& a : alerts) {
    if (a.rule != "clinic_surge" && a.rule != "fever_cluster") continue;
    ++per_day[LocalDay(a.ts, tz)];
    if (a.rule == "clinic_surge") {
      ++s.clinic_surges;
      continue;
    }
    ++s.cluster_alerts;
    bool related = false;
    if (!null_city) {
      for (const Outbreak& o : outbreaks)
        related = related || Related(a, o, window);
    }
    cluster_related[a.cluster_id] = cluster_related[a.cluster_id] || related;
  }
  for (const auto& [day, n] : per_day)
    s.max_alerts_day = std::max(s.max_alerts_day, n);
  s.clusters = static_cast<int>(cluster_related.size());
  for (const auto& [id, related] : cluster_related)
    s.false_clusters += related ? 0 : 1;
  if (null_city) return s;
  for (const Outbreak& o : outbreaks) {
    ++s.outbreaks;
    std::string category = o.category;
    if (category.empty()) {
      category = o.cases.size() < 3  ? "few"
                 : o.kind == "venue" ? "point"
                                     : "community";
    }
    OutbreakResult res{o.kind,
                       o.id,
                       category,
                       o.visitors_week,
                       static_cast<int>(o.cases.size()),
                       false,
                       0};
    if (category == "few") {
      ++s.few;
      s.results.push_back(res);
      continue;
    }
    Detection& det = category == "point"  ? s.point
                     : category == "busy" ? s.busy
                                          : s.community;
    ++s.detectable;
    ++det.outbreaks;
    TimestampMs first = INT64_MAX;
    for (const ClusterAlertRow& a : alerts) {
      if (a.rule == "fever_cluster" && Related(a, o, window))
        first = std::min(first, a.ts);
    }
    if (first != INT64_MAX) {
      res.detected = true;
      res.delay_h = static_cast<double>(first - o.cases[2].first) / kHourMs;
      ++s.detected;
      ++det.detected;
      s.delays_h.push_back(res.delay_h);
      det.delays_h.push_back(res.delay_h);
    }
    s.results.push_back(res);
  }
  return s;
}

// The busy venues of a city: where a 3-case point-source cluster cannot be
// significant under the contract's test.
struct BusyVenues {
  int64_t at_day = 0;     // local day the figures are taken at (last full day)
  double fever_rate = 0;  // r over the 7 days to it
  uint64_t active_venues = 0;  // V
  uint64_t venues = 0;  // venues of cluster kinds with a visitor in 14 days
  uint64_t busy = 0;    // with > busy_visitors_week visitors in the 7 days
  double busy_scan_share =
      0;  // share of cluster-kind scans (whole city) at them
  // A 3-case cluster is significant only with N (visitors over 14 days) <=
  // this: P(X >= 3; N r) < alpha / V.
  uint32_t max_n_for_3 = 0;
  uint64_t venues_above_n3 = 0;  // venues with more visitors than that
  double scan_share_above_n3 = 0;
  uint32_t largest_n = 0;  // the busiest venue's N
  uint64_t largest_k = 0;  // and the cases it needs
  uint64_t k_at_1000 = 0;  // cases needed at N = 1000
};

inline BusyVenues MeasureBusyVenues(const CityCensus& census,
                                    uint32_t busy_visitors_week,
                                    const RulesConfig& rules) {
  BusyVenues b;
  b.at_day = census.last_day() - 1;
  b.fever_rate = census.FeverRate(b.at_day);
  b.active_venues = census.ActiveVenues(b.at_day);
  const std::vector<uint32_t> week = census.AllVisitors(b.at_day, 7);
  const std::vector<uint32_t> n14 = census.AllVisitors(b.at_day, 14);
  const std::vector<uint64_t>& scans = census.scans_per_venue();
  const double bound =
      rules.cluster_alpha /
      static_cast<double>(std::max<uint64_t>(b.active_venues, 1));
  // Largest N with P(X >= min_cases; N r) < bound (the tail grows with N).
  uint32_t lo = 0, hi = 1u << 24;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo + 1) / 2;
    if (PoissonUpperTail(rules.cluster_min_cases, mid * b.fever_rate) < bound)
      lo = mid;
    else
      hi = mid - 1;
  }
  b.max_n_for_3 = lo;
  uint64_t all_scans = 0, busy_scans = 0, above_scans = 0;
  for (size_t v = 0; v < n14.size(); ++v) {
    const uint64_t sc = v < scans.size() ? scans[v] : 0;
    all_scans += sc;
    if (n14[v] == 0) continue;
    ++b.venues;
    if (week[v] > busy_visitors_week) {
      ++b.busy;
      busy_scans += sc;
    }
    if (n14[v] > b.max_n_for_3) {
      ++b.venues_above_n3;
      above_scans += sc;
    }
    b.largest_n = std::max(b.largest_n, n14[v]);
  }
  if (all_scans > 0) {
    b.busy_scan_share = double(busy_scans) / all_scans;
    b.scan_share_above_n3 = double(above_scans) / all_scans;
  }
  b.largest_k = CityCensus::MinDetectableCases(
      b.largest_n, b.fever_rate, b.active_venues, rules.cluster_alpha,
      rules.cluster_min_cases);
  b.k_at_1000 = CityCensus::MinDetectableCases(
      1000, b.fever_rate, b.active_venues, rules.cluster_alpha,
      rules.cluster_min_cases);
  return b;
}

// clinic_surge with EARS C2 (the engine's default) and C3, computed from
// the census for every closed clinic-day with a visit (the last day of the
// input is never closed by the watermark).
struct SurgeCompare {
  int clinic_days = 0;
  int c2 = 0, c3 = 0, both = 0;
  int c2_outbreak = 0,
      c3_outbreak = 0;  // flagged days with >= 2 outbreak cases
};

inline SurgeCompare CompareSurges(const CityCensus& census,
                                  const std::vector<Outbreak>& outbreaks,
                                  RulesConfig rules) {
  std::set<std::string> cases;
  for (const Outbreak& o : outbreaks)
    for (const auto& c : o.cases) cases.insert(c.second);
  SurgeCompare s;
  RulesConfig c3 = rules;
  rules.surge_method = SurgeMethod::kEarsC2;
  c3.surge_method = SurgeMethod::kEarsC3;
  for (const auto& [clinic, state] : census.clinics()) {
    for (const ClinicDay& d : state.days) {
      if (d.day >= census.last_day()) continue;
      ++s.clinic_days;
      const bool f2 = EvaluateClinicSurge(state, d.day, rules).fires;
      const bool f3 = EvaluateClinicSurge(state, d.day, c3).fires;
      int n = 0;
      for (const ClinicVisit& v : d.first_visits)
        n += cases.count(v.person_id) ? 1 : 0;
      s.c2 += f2;
      s.c3 += f3;
      s.both += f2 && f3;
      s.c2_outbreak += f2 && n >= 2;
      s.c3_outbreak += f3 && n >= 2;
    }
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

// How a city is evaluated.
struct EvalOptions {
  RulesConfig rules;  // the engine's rules (and the census' tests)
  uint32_t busy_visitors_week = 200;  // point-source outbreaks: at most this
  bool null_city = true;              // also run the null version
  bool prototype = true;              // also score the offline co-visit sketch
  // Also run the engine with rules.cluster_method = venue_day (city and null
  // city), scored beside the rules' own method.
  bool venue_day = false;
  // Also run the engine with rules.cluster_method = venue_day and
  // rules.community_method = weekly (city and null city).
  bool weekly = false;
};

// The co-visit sketch's alerts as cluster alert rows (one cluster per
// venue-day).
inline std::vector<ClusterAlertRow> CoVisitRows(const CityCensus& census) {
  std::vector<ClusterAlertRow> rows;
  for (CoVisitAlert& a : RunCoVisitPrototype(census)) {
    ClusterAlertRow r;
    r.rule = "fever_cluster";
    r.kind = "venue";
    r.id = a.venue;
    r.cluster_id = a.venue + "|" + std::to_string(a.day);
    r.version = 1;
    r.ts = a.ts;
    r.members = std::move(a.members);
    rows.push_back(std::move(r));
  }
  return rows;
}

// One city: generated, run, scored; then its null version.
struct CityEval {
  uint64_t persons = 0;
  int days = 0;
  uint64_t seed = 0;
  uint64_t events = 0;
  double generate_seconds = 0;
  double engine_seconds = 0;       // observed run, wall clock
  double null_engine_seconds = 0;  // null run, wall clock
  Score observed;
  Score null_city;
  std::vector<RuleScore> person_rules;
  BusyVenues busy;
  SurgeCompare surges;
  bool has_prototype = false;
  Score proto_observed;  // the co-visit sketch (covisit_prototype.h)
  Score proto_null;
  bool has_venue_day = false;  // the engine with cluster_method = venue_day
  Score vd_observed;
  Score vd_null;
  double vd_engine_seconds = 0;
  double vd_null_engine_seconds = 0;
  bool has_weekly = false;  // venue_day + community_method = weekly
  Score wk_observed;
  Score wk_null;
  double wk_engine_seconds = 0;
  double wk_null_engine_seconds = 0;
};

inline Status RunEngineOn(const std::string& input, const std::string& alerts,
                          const RulesConfig& rules = RulesConfig()) {
  FileRunOptions o;
  o.input = input;
  o.alerts = alerts;
  o.deadletter = alerts + ".dead";
  o.quiet = true;
  o.engine.metrics.port = 0;
  o.rules = rules;
  return RunFileMode(o) == 0
             ? Status::Ok()
             : Status::Internal("engine run failed on " + input);
}

inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

inline Status EvaluateCity(const CityConfig& config, const std::string& dir,
                           CityEval* out,
                           const EvalOptions& opts = EvalOptions()) {
  std::filesystem::create_directories(dir);
  const std::string events = dir + "/city.jsonl", truth = dir + "/truth.json";
  CityStats stats;
  auto t0 = std::chrono::steady_clock::now();
  EPI_RETURN_IF_ERROR(GenerateCityToFiles(config, events, truth, &stats));
  out->generate_seconds = SecondsSince(t0);
  std::string truth_json;
  if (!ReadWholeFile(truth, &truth_json))
    return Status::IoError("read " + truth);
  std::vector<Outbreak> outbreaks;
  EPI_RETURN_IF_ERROR(
      LoadOutbreaks(truth_json, &outbreaks, config.tz_offset_minutes));
  CityCensus census;
  EPI_RETURN_IF_ERROR(census.Read(events, config.tz_offset_minutes));
  Classify(census, opts.busy_visitors_week, &outbreaks);
  out->persons = config.persons;
  out->days = config.days;
  out->seed = config.seed;
  out->events = stats.events();
  std::vector<ClusterAlertRow> alerts;
  t0 = std::chrono::steady_clock::now();
  EPI_RETURN_IF_ERROR(RunEngineOn(events, dir + "/alerts.jsonl", opts.rules));
  out->engine_seconds = SecondsSince(t0);
  EPI_RETURN_IF_ERROR(LoadClusterAlerts(dir + "/alerts.jsonl", &alerts));
  out->observed =
      ScoreRun(outbreaks, alerts, config.persons, config.days, false,
               opts.rules.cluster_case_window, config.tz_offset_minutes);
  EPI_RETURN_IF_ERROR(ScorePersonRules(truth_json, dir + "/alerts.jsonl",
                                       census, &out->person_rules));
  out->busy = MeasureBusyVenues(census, opts.busy_visitors_week, opts.rules);
  out->surges = CompareSurges(census, outbreaks, opts.rules);
  RulesConfig vd_rules = opts.rules;
  vd_rules.cluster_method = ClusterMethod::kVenueDay;
  if (opts.venue_day) {
    out->has_venue_day = true;
    t0 = std::chrono::steady_clock::now();
    EPI_RETURN_IF_ERROR(
        RunEngineOn(events, dir + "/vd_alerts.jsonl", vd_rules));
    out->vd_engine_seconds = SecondsSince(t0);
    EPI_RETURN_IF_ERROR(LoadClusterAlerts(dir + "/vd_alerts.jsonl", &alerts));
    out->vd_observed =
        ScoreRun(outbreaks, alerts, config.persons, config.days, false,
                 opts.rules.cluster_case_window, config.tz_offset_minutes);
  }
  RulesConfig wk_rules = vd_rules;
  wk_rules.community_method = CommunityMethod::kWeekly;
  if (opts.weekly) {
    out->has_weekly = true;
    t0 = std::chrono::steady_clock::now();
    EPI_RETURN_IF_ERROR(
        RunEngineOn(events, dir + "/wk_alerts.jsonl", wk_rules));
    out->wk_engine_seconds = SecondsSince(t0);
    EPI_RETURN_IF_ERROR(LoadClusterAlerts(dir + "/wk_alerts.jsonl", &alerts));
    out->wk_observed =
        ScoreRun(outbreaks, alerts, config.persons, config.days, false,
                 opts.rules.cluster_case_window, config.tz_offset_minutes);
  }
  if (opts.prototype) {
    out->has_prototype = true;
    out->proto_observed = ScoreRun(
        outbreaks, CoVisitRows(census), config.persons, config.days, false,
        opts.rules.cluster_case_window, config.tz_offset_minutes);
  }
  if (!opts.null_city) return Status::Ok();
  EPI_RETURN_IF_ERROR(PermuteFeverIdentities(events, dir + "/null.jsonl",
                                             config.seed * 7919 + 1,
                                             config.tz_offset_minutes));
  t0 = std::chrono::steady_clock::now();
  EPI_RETURN_IF_ERROR(
      RunEngineOn(dir + "/null.jsonl", dir + "/null_alerts.jsonl", opts.rules));
  out->null_engine_seconds = SecondsSince(t0);
  EPI_RETURN_IF_ERROR(LoadClusterAlerts(dir + "/null_alerts.jsonl", &alerts));
  out->null_city =
      ScoreRun(outbreaks, alerts, config.persons, config.days, true,
               opts.rules.cluster_case_window, config.tz_offset_minutes);
  if (opts.venue_day) {
    t0 = std::chrono::steady_clock::now();
    EPI_RETURN_IF_ERROR(RunEngineOn(dir + "/null.jsonl",
                                    dir + "/vd_null_alerts.jsonl", vd_rules));
    out->vd_null_engine_seconds = SecondsSince(t0);
    EPI_RETURN_IF_ERROR(
        LoadClusterAlerts(dir + "/vd_null_alerts.jsonl", &alerts));
    out->vd_null =
        ScoreRun(outbreaks, alerts, config.persons, config.days, true,
                 opts.rules.cluster_case_window, config.tz_offset_minutes);
  }
  if (opts.weekly) {
    t0 = std::chrono::steady_clock::now();
    EPI_RETURN_IF_ERROR(RunEngineOn(dir + "/null.jsonl",
                                    dir + "/wk_null_alerts.jsonl", wk_rules));
    out->wk_null_engine_seconds = SecondsSince(t0);
    EPI_RETURN_IF_ERROR(
        LoadClusterAlerts(dir + "/wk_null_alerts.jsonl", &alerts));
    out->wk_null =
        ScoreRun(outbreaks, alerts, config.persons, config.days, true,
                 opts.rules.cluster_case_window, config.tz_offset_minutes);
  }
  if (opts.prototype) {
    CityCensus null_census;
    EPI_RETURN_IF_ERROR(
        null_census.Read(dir + "/null.jsonl", config.tz_offset_minutes));
    out->proto_null = ScoreRun(
        outbreaks, CoVisitRows(null_census), config.persons, config.days, true,
        opts.rules.cluster_case_window, config.tz_offset_minutes);
  }
  return Status::Ok();
}

// Totals over cities (prototype: the co-visit sketch's scores; venue_day:
// the engine's with cluster_method = venue_day; weekly: venue_day with
// community_method = weekly).
inline Score Total(const std::vector<CityEval>& cities, bool null_city,
                   bool prototype = false, bool venue_day = false,
                   bool weekly = false) {
  Score t;
  for (const CityEval& c : cities) {
    if (prototype && !c.has_prototype) continue;
    if (venue_day && !c.has_venue_day) continue;
    if (weekly && !c.has_weekly) continue;
    const Score& s = prototype   ? (null_city ? c.proto_null : c.proto_observed)
                     : weekly    ? (null_city ? c.wk_null : c.wk_observed)
                     : venue_day ? (null_city ? c.vd_null : c.vd_observed)
                                 : (null_city ? c.null_city : c.observed);
    t.outbreaks += s.outbreaks;
    t.detectable += s.detectable;
    t.detected += s.detected;
    t.delays_h.insert(t.delays_h.end(), s.delays_h.begin(), s.delays_h.end());
    t.point.Add(s.point);
    t.busy.Add(s.busy);
    t.community.Add(s.community);
    t.few += s.few;
    t.results.insert(t.results.end(), s.results.begin(), s.results.end());
    t.clusters += s.clusters;
    t.false_clusters += s.false_clusters;
    t.cluster_alerts += s.cluster_alerts;
    t.clinic_surges += s.clinic_surges;
    t.max_alerts_day = std::max(t.max_alerts_day, s.max_alerts_day);
    t.person_weeks += s.person_weeks;
    t.days += s.days;
  }
  return t;
}

inline std::vector<RuleScore> TotalPersonRules(
    const std::vector<CityEval>& cities) {
  std::vector<RuleScore> t;
  for (const std::string& rule : PersonRules()) t.push_back(RuleScore{rule});
  for (const CityEval& c : cities) {
    for (size_t i = 0; i < c.person_rules.size() && i < t.size(); ++i) {
      t[i].truth += c.person_rules[i].truth;
      t[i].alerts += c.person_rules[i].alerts;
      t[i].matched += c.person_rules[i].matched;
      t[i].messages += c.person_rules[i].messages;
    }
  }
  return t;
}

inline SurgeCompare TotalSurges(const std::vector<CityEval>& cities) {
  SurgeCompare t;
  for (const CityEval& c : cities) {
    t.clinic_days += c.surges.clinic_days;
    t.c2 += c.surges.c2;
    t.c3 += c.surges.c3;
    t.both += c.surges.both;
    t.c2_outbreak += c.surges.c2_outbreak;
    t.c3_outbreak += c.surges.c3_outbreak;
  }
  return t;
}

inline std::string FormatTable(const std::vector<CityEval>& cities) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%-18s %9s %6s %7s %7s %7s %8s %8s %8s %6s %8s %7s %7s %6s\n",
                "city", "events", "eng_s", "point", "busy", "comm", "med_h",
                "p90_h", "clusters", "false", "FA/Mpw", "al/day", "maxday",
                "surge");
  out += buf;
  auto row = [&](const std::string& name, uint64_t events, double secs,
                 const Score& s, bool null_city) {
    auto det = [](const Detection& d) {
      return std::to_string(d.detected) + "/" + std::to_string(d.outbreaks);
    };
    std::snprintf(
        buf, sizeof buf,
        "%-18s %9llu %6.0f %7s %7s %7s %8.1f %8.1f %8d %6d %8.1f %7.2f %7d "
        "%6d\n",
        name.c_str(), static_cast<unsigned long long>(events), secs,
        null_city ? "-" : det(s.point).c_str(),
        null_city ? "-" : det(s.busy).c_str(),
        null_city ? "-" : det(s.community).c_str(), s.median_delay_h(),
        s.p90_delay_h(), s.clusters, s.false_clusters, s.false_per_million_pw(),
        s.cluster_alerts_per_day(), s.max_alerts_day, s.clinic_surges);
    out += buf;
  };
  uint64_t events = 0;
  double secs = 0, null_secs = 0;
  for (const CityEval& c : cities) {
    const std::string name = std::to_string(c.persons / 1000) + "k x" +
                             std::to_string(c.days) + "d s" +
                             std::to_string(c.seed);
    row(name, c.events, c.engine_seconds, c.observed, false);
    row(name + " null", c.events, c.null_engine_seconds, c.null_city, true);
    events += c.events;
    secs += c.engine_seconds;
    null_secs += c.null_engine_seconds;
  }
  const Score t = Total(cities, false), n = Total(cities, true);
  row("total", events, secs, t, false);
  row("total null", events, null_secs, n, true);

  auto line = [&](const char* name, const Detection& d) {
    std::snprintf(buf, sizeof buf,
                  "%-44s %3d/%-3d = %.2f   delay median %.1f h, p90 %.1f h\n",
                  name, d.detected, d.outbreaks, d.sensitivity(),
                  d.median_delay_h(), d.p90_delay_h());
    out += buf;
  };
  out += "\n";
  line("point-source venue outbreaks (<=200/week):", t.point);
  line("busy venue outbreaks (>200 visitors/week):", t.busy);
  line("community outbreaks:", t.community);
  std::snprintf(buf, sizeof buf, "%-44s %d\n",
                "outbreaks with < 3 febrile cases:", t.few);
  out += buf;
  std::snprintf(buf, sizeof buf,
                "false clusters per M person-weeks: observed %.1f (%d), null "
                "%.1f (%d), over %.0f person-weeks\n",
                t.false_per_million_pw(), t.false_clusters,
                n.false_per_million_pw(), n.false_clusters, t.person_weeks);
  out += buf;
  std::snprintf(buf, sizeof buf,
                "alerts per day: fever_cluster %.2f (new clusters %.2f), "
                "clinic_surge %.2f, "
                "most on one day %d; null: %.2f / %.2f / %.2f / %d\n",
                t.cluster_alerts_per_day(), t.new_clusters_per_day(),
                t.surges_per_day(), t.max_alerts_day,
                n.cluster_alerts_per_day(), n.new_clusters_per_day(),
                n.surges_per_day(), n.max_alerts_day);
  out += buf;
  for (const CityEval& c : cities) {
    const BusyVenues& b = c.busy;
    std::snprintf(
        buf, sizeof buf,
        "busy venues s%llu: %llu of %llu venues >200 visitors/week (%.0f%% of "
        "scans); "
        "r %.2e, V %llu: 3 cases alert only at N14 <= %u; %llu venues (%.0f%% "
        "of scans) "
        "above; N14 1000 needs k >= %llu, the busiest (N14 %u) k >= %llu\n",
        static_cast<unsigned long long>(c.seed),
        static_cast<unsigned long long>(b.busy),
        static_cast<unsigned long long>(b.venues), 100 * b.busy_scan_share,
        b.fever_rate, static_cast<unsigned long long>(b.active_venues),
        b.max_n_for_3, static_cast<unsigned long long>(b.venues_above_n3),
        100 * b.scan_share_above_n3,
        static_cast<unsigned long long>(b.k_at_1000), b.largest_n,
        static_cast<unsigned long long>(b.largest_k));
    out += buf;
  }
  const bool proto =
      std::any_of(cities.begin(), cities.end(),
                  [](const CityEval& c) { return c.has_prototype; });
  if (proto) {
    const Score pt = Total(cities, false, true), pn = Total(cities, true, true);
    out +=
        "co-visit sketch (offline, not in the engine; covisit_prototype.h):\n";
    line("  point-source venue outbreaks (<=200/week):", pt.point);
    line("  busy venue outbreaks:", pt.busy);
    line("  community outbreaks (found at a shared venue):", pt.community);
    std::snprintf(buf, sizeof buf,
                  "  false clusters per M person-weeks: observed %.1f (%d), "
                  "null %.1f (%d); "
                  "alerts per day %.2f, null %.2f\n",
                  pt.false_per_million_pw(), pt.false_clusters,
                  pn.false_per_million_pw(), pn.false_clusters,
                  pt.cluster_alerts_per_day(), pn.cluster_alerts_per_day());
    out += buf;
  }
  if (std::any_of(cities.begin(), cities.end(),
                  [](const CityEval& c) { return c.has_venue_day; })) {
    out += "engine with rules.cluster_method = venue_day:\n";
    double vd_secs = 0, vd_null_secs = 0;
    for (const CityEval& c : cities) {
      const std::string name = std::to_string(c.persons / 1000) + "k x" +
                               std::to_string(c.days) + "d s" +
                               std::to_string(c.seed) + " vd";
      row(name, c.events, c.vd_engine_seconds, c.vd_observed, false);
      row(name + " null", c.events, c.vd_null_engine_seconds, c.vd_null, true);
      vd_secs += c.vd_engine_seconds;
      vd_null_secs += c.vd_null_engine_seconds;
    }
    const Score vt = Total(cities, false, false, true),
                vn = Total(cities, true, false, true);
    row("total vd", events, vd_secs, vt, false);
    row("total vd null", events, vd_null_secs, vn, true);
    line("  point-source venue outbreaks (<=200/week):", vt.point);
    line("  busy venue outbreaks (>200 visitors/week):", vt.busy);
    line("  community outbreaks:", vt.community);
    std::snprintf(buf, sizeof buf,
                  "  false clusters per M person-weeks: observed %.1f (%d), "
                  "null %.1f (%d); alerts per day %.2f (new %.2f), null %.2f; "
                  "most on one day %d\n",
                  vt.false_per_million_pw(), vt.false_clusters,
                  vn.false_per_million_pw(), vn.false_clusters,
                  vt.cluster_alerts_per_day(), vt.new_clusters_per_day(),
                  vn.cluster_alerts_per_day(), vt.max_alerts_day);
    out += buf;
  }
  if (std::any_of(cities.begin(), cities.end(),
                  [](const CityEval& c) { return c.has_weekly; })) {
    out += "engine with rules.cluster_method = venue_day, community_method = weekly:\n";
    double vd_secs = 0, vd_null_secs = 0;
    for (const CityEval& c : cities) {
      const std::string name = std::to_string(c.persons / 1000) + "k x" +
                               std::to_string(c.days) + "d s" +
                               std::to_string(c.seed) + " wk";
      row(name, c.events, c.wk_engine_seconds, c.wk_observed, false);
      row(name + " null", c.events, c.wk_null_engine_seconds, c.wk_null, true);
      vd_secs += c.wk_engine_seconds;
      vd_null_secs += c.wk_null_engine_seconds;
    }
    const Score vt = Total(cities, false, false, false, true),
                vn = Total(cities, true, false, false, true);
    row("total wk", events, vd_secs, vt, false);
    row("total wk null", events, vd_null_secs, vn, true);
    line("  point-source venue outbreaks (<=200/week):", vt.point);
    line("  busy venue outbreaks (>200 visitors/week):", vt.busy);
    line("  community outbreaks:", vt.community);
    std::snprintf(buf, sizeof buf,
                  "  false clusters per M person-weeks: observed %.1f (%d), "
                  "null %.1f (%d); alerts per day %.2f (new %.2f), null %.2f; "
                  "most on one day %d\n",
                  vt.false_per_million_pw(), vt.false_clusters,
                  vn.false_per_million_pw(), vn.false_clusters,
                  vt.cluster_alerts_per_day(), vt.new_clusters_per_day(),
                  vn.cluster_alerts_per_day(), vt.max_alerts_day);
    out += buf;
  }
  const SurgeCompare sc = TotalSurges(cities);
  std::snprintf(buf, sizeof buf,
                "clinic_surge over %d clinic-days: engine (C2) %d; recomputed "
                "C2 %d, C3 %d, both %d; "
                "with >= 2 outbreak cases C2 %d, C3 %d\n",
                sc.clinic_days, t.clinic_surges, sc.c2, sc.c3, sc.both,
                sc.c2_outbreak, sc.c3_outbreak);
  out += buf;
  out +=
      "person rule               truth  alerts matched precision recall (alert "
      "lines)\n";
  for (const RuleScore& r : TotalPersonRules(cities)) {
    std::snprintf(
        buf, sizeof buf, "%-24s %6lld %7lld %7lld %9.4f %6.4f (%lld)\n",
        r.rule.c_str(), static_cast<long long>(r.truth),
        static_cast<long long>(r.alerts), static_cast<long long>(r.matched),
        r.precision(), r.recall(), static_cast<long long>(r.messages));
    out += buf;
  }
  return out;
}

inline std::string ToJson(const std::vector<CityEval>& cities) {
  std::string out;
  JsonWriter w(&out);
  auto detection = [&](const Detection& d) {
    w.BeginObject();
    w.Field("outbreaks", d.outbreaks);
    w.Field("detected", d.detected);
    w.Field("sensitivity", d.sensitivity());
    w.Field("median_delay_hours", d.median_delay_h());
    w.Field("p90_delay_hours", d.p90_delay_h());
    w.EndObject();
  };
  auto score = [&](const Score& s, bool null_city) {
    w.BeginObject();
    if (!null_city) {
      w.Field("outbreaks", s.outbreaks);
      w.Field("detectable", s.detectable);
      w.Field("detected", s.detected);
      w.Field("sensitivity", s.sensitivity());
      w.Field("median_delay_hours", s.median_delay_h());
      w.Field("p90_delay_hours", s.p90_delay_h());
      w.Field("max_delay_hours", s.max_delay_h());
      w.Key("delays_hours");
      w.BeginArray();
      for (double d : s.delays_h) w.Double(d);
      w.EndArray();
      w.Key("point_source");
      detection(s.point);
      w.Key("busy_venue");
      detection(s.busy);
      w.Key("community");
      detection(s.community);
      w.Field("fewer_than_3_febrile", s.few);
      w.Key("outbreak_results");
      w.BeginArray();
      for (const OutbreakResult& r : s.results) {
        w.BeginObject();
        w.Field("kind", r.kind);
        w.Field("id", r.id);
        w.Field("category", r.category);
        w.Field("visitors_week", static_cast<int64_t>(r.visitors_week));
        w.Field("febrile", r.febrile);
        w.Key("detected");
        w.Bool(r.detected);
        w.Key("delay_hours");
        if (r.detected)
          w.Double(r.delay_h);
        else
          w.Null();
        w.EndObject();
      }
      w.EndArray();
    }
    w.Field("clusters", s.clusters);
    w.Field("false_clusters", s.false_clusters);
    w.Field("person_weeks", s.person_weeks);
    w.Field("false_per_million_person_weeks", s.false_per_million_pw());
    w.Field("cluster_alerts", s.cluster_alerts);
    w.Field("cluster_alerts_per_day", s.cluster_alerts_per_day());
    w.Field("new_clusters_per_day", s.new_clusters_per_day());
    w.Field("clinic_surges", s.clinic_surges);
    w.Field("clinic_surges_per_day", s.surges_per_day());
    w.Field("max_alerts_one_day", s.max_alerts_day);
    w.EndObject();
  };
  auto rules = [&](const std::vector<RuleScore>& rs) {
    w.BeginArray();
    for (const RuleScore& r : rs) {
      w.BeginObject();
      w.Field("rule", r.rule);
      w.Field("truth", r.truth);
      w.Field("alerts", r.alerts);
      w.Field("matched", r.matched);
      w.Field("alert_lines", r.messages);
      w.Field("precision", r.precision());
      w.Field("recall", r.recall());
      w.EndObject();
    }
    w.EndArray();
  };
  auto surges = [&](const SurgeCompare& s) {
    w.BeginObject();
    w.Field("clinic_days", s.clinic_days);
    w.Field("ears_c2", s.c2);
    w.Field("ears_c3", s.c3);
    w.Field("both", s.both);
    w.Field("ears_c2_with_outbreak_cases", s.c2_outbreak);
    w.Field("ears_c3_with_outbreak_cases", s.c3_outbreak);
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
    w.Field("generate_seconds", c.generate_seconds);
    w.Field("engine_seconds", c.engine_seconds);
    w.Field("null_engine_seconds", c.null_engine_seconds);
    w.Key("observed");
    score(c.observed, false);
    w.Key("null");
    score(c.null_city, true);
    w.Key("person_rules");
    rules(c.person_rules);
    w.Key("clinic_surge");
    surges(c.surges);
    const BusyVenues& b = c.busy;
    w.Key("busy_venues");
    w.BeginObject();
    w.Field("fever_rate", b.fever_rate);
    w.Field("active_venues", static_cast<int64_t>(b.active_venues));
    w.Field("venues", static_cast<int64_t>(b.venues));
    w.Field("busy_over_200_per_week", static_cast<int64_t>(b.busy));
    w.Field("busy_scan_share", b.busy_scan_share);
    w.Field("max_visitors_14d_for_3_cases",
            static_cast<int64_t>(b.max_n_for_3));
    w.Field("venues_above", static_cast<int64_t>(b.venues_above_n3));
    w.Field("scan_share_above", b.scan_share_above_n3);
    w.Field("cases_needed_at_1000", static_cast<int64_t>(b.k_at_1000));
    w.Field("busiest_visitors_14d", static_cast<int64_t>(b.largest_n));
    w.Field("cases_needed_busiest", static_cast<int64_t>(b.largest_k));
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("total");
  score(Total(cities, false), false);
  w.Key("total_null");
  score(Total(cities, true), true);
  w.Key("person_rules");
  rules(TotalPersonRules(cities));
  w.Key("clinic_surge");
  surges(TotalSurges(cities));
  if (std::any_of(cities.begin(), cities.end(),
                  [](const CityEval& c) { return c.has_prototype; })) {
    w.Key("covisit_sketch_total");
    score(Total(cities, false, true), false);
    w.Key("covisit_sketch_total_null");
    score(Total(cities, true, true), true);
  }
  if (std::any_of(cities.begin(), cities.end(),
                  [](const CityEval& c) { return c.has_venue_day; })) {
    w.Key("venue_day_total");
    score(Total(cities, false, false, true), false);
    w.Key("venue_day_total_null");
    score(Total(cities, true, false, true), true);
  }
  if (std::any_of(cities.begin(), cities.end(),
                  [](const CityEval& c) { return c.has_weekly; })) {
    w.Key("weekly_total");
    score(Total(cities, false, false, false, true), false);
    w.Key("weekly_total_null");
    score(Total(cities, true, false, false, true), true);
  }
  w.EndObject();
  return out;
}

}  // namespace epistream::eval
