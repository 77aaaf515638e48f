// Precision and recall of the six person rules against the generator's
// ground truth (bench/city/ground_truth.h). Each finding is a key:
//   returnee_risk_area, returnee_untested   person | entry event id
//       (untested: only the returnees whose 24 h deadline falls before the
//       last event, `due_before_end`; later deadlines never fire in a file)
//   quarantine_breach        person | local day of the breach scan
//   abnormal_code_at_venue   person | local day | yellow or red (from the
//       CityCensus; the truth only counts them)
//   fever_returnee, fever_key_worker        person | fever event id
// An alert's key comes from its person_id, its first evidence item's
// event_id (the entry or fever event) and its ts.
// Header-only (see cluster_eval.h). Threading: single-threaded.
#pragma once

#include <simdjson.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bench/eval/city_census.h"
#include "engine/event_time.h"
#include "engine/status.h"

namespace epistream::eval {

struct RuleScore {
  std::string rule;
  int64_t truth = 0;     // findings in the ground truth
  int64_t alerts = 0;    // distinct findings the engine alerted
  int64_t matched = 0;   // in both
  int64_t messages = 0;  // alert lines (> alerts: a finding alerted twice)
  double precision() const {
    return alerts > 0 ? double(matched) / alerts : 1.0;
  }
  double recall() const { return truth > 0 ? double(matched) / truth : 1.0; }
};

inline const std::vector<std::string>& PersonRules() {
  static const std::vector<std::string> rules = {
      "returnee_risk_area",     "returnee_untested", "quarantine_breach",
      "abnormal_code_at_venue", "fever_returnee",    "fever_key_worker"};
  return rules;
}

namespace detail {

inline std::string Str(simdjson::dom::element e, std::string_view key) {
  std::string_view s;
  return e[key].get_string().get(s) == simdjson::SUCCESS ? std::string(s)
                                                         : std::string();
}

inline int64_t DayOf(std::string_view rfc3339, int tz) {
  auto t = ParseRfc3339(rfc3339);
  return t ? LocalDay(*t, tz) : INT64_MIN;
}

}  // namespace detail

// Scores the person alerts in `alerts_path` against `truth_json`.
inline Status ScorePersonRules(const std::string& truth_json,
                               const std::string& alerts_path,
                               const CityCensus& census,
                               std::vector<RuleScore>* out) {
  using detail::DayOf;
  using detail::Str;
  const int tz = census.tz();
  std::map<std::string, std::set<std::string>> truth, got;
  std::map<std::string, int64_t> messages;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(truth_json).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("truth: not JSON");
  auto each = [&](const char* list, auto fn) {
    simdjson::dom::array a;
    if (doc[list].get_array().get(a) == simdjson::SUCCESS) {
      for (simdjson::dom::element e : a) fn(e);
    }
  };
  each("returnees", [&](simdjson::dom::element e) {
    truth["returnee_risk_area"].insert(Str(e, "person_id") + "|" +
                                       Str(e, "entry_event_id"));
  });
  each("untested_returnees", [&](simdjson::dom::element e) {
    bool due = false;
    if (e["due_before_end"].get_bool().get(due) == simdjson::SUCCESS && due) {
      truth["returnee_untested"].insert(Str(e, "person_id") + "|" +
                                        Str(e, "entry_event_id"));
    }
  });
  each("quarantine_breakers", [&](simdjson::dom::element e) {
    const std::string person = Str(e, "person_id");
    simdjson::dom::array scans;
    if (e["breach_scans"].get_array().get(scans) != simdjson::SUCCESS) return;
    for (simdjson::dom::element s : scans) {
      truth["quarantine_breach"].insert(
          person + "|" + std::to_string(DayOf(Str(s, "ts"), tz)));
    }
  });
  each("fever_returnees", [&](simdjson::dom::element e) {
    truth["fever_returnee"].insert(Str(e, "person_id") + "|" +
                                   Str(e, "fever_event_id"));
  });
  each("key_worker_fevers", [&](simdjson::dom::element e) {
    truth["fever_key_worker"].insert(Str(e, "person_id") + "|" +
                                     Str(e, "fever_event_id"));
  });
  truth["abnormal_code_at_venue"] = census.abnormal_codes();

  std::ifstream in(alerts_path);
  if (!in) return Status::IoError("cannot read " + alerts_path);
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element e;
    if (parser.parse(line).get(e) != simdjson::SUCCESS)
      return Status::Corruption("alert: " + line);
    const std::string rule = Str(e, "rule"), person = Str(e, "person_id");
    if (person.empty()) continue;  // a cluster alert
    std::string first_event;
    simdjson::dom::array ev;
    if (e["evidence"].get_array().get(ev) == simdjson::SUCCESS &&
        ev.size() > 0) {
      first_event = Str(ev.at(0).value_unsafe(), "event_id");
    }
    ++messages[rule];
    const std::string day = std::to_string(DayOf(Str(e, "ts"), tz));
    if (rule == "quarantine_breach") {
      got[rule].insert(person + "|" + day);
    } else if (rule == "abnormal_code_at_venue") {
      got[rule].insert(person + "|" + day + "|" +
                       (Str(e, "severity") == "critical" ? "red" : "yellow"));
    } else {
      got[rule].insert(person + "|" + first_event);
    }
  }
  out->clear();
  for (const std::string& rule : PersonRules()) {
    RuleScore s;
    s.rule = rule;
    const std::set<std::string>& t = truth[rule];
    const std::set<std::string>& g = got[rule];
    s.truth = static_cast<int64_t>(t.size());
    s.alerts = static_cast<int64_t>(g.size());
    s.messages = messages[rule];
    for (const std::string& k : g) s.matched += t.count(k) ? 1 : 0;
    out->push_back(s);
  }
  return Status::Ok();
}

}  // namespace epistream::eval
