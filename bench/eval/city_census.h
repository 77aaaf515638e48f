// CityCensus: what the evaluation needs to know about a generated city that
// the ground truth does not say, read in one pass over its events file:
//   - distinct visitors of each venue per local day (as a day bitmask per
//     (venue, person)), for "venues with at most 200 visitors a week" and for
//     the busy venues where no 3-case cluster can be significant;
//   - the city fever rate r and the active venues V over the last 7 days
//     (the contract's definitions), for the smallest detectable k;
//   - fever visits per clinic and day, to run EARS C2 and C3 side by side;
//   - the abnormal_code_at_venue findings (person, local day, colour), which
//     the truth only counts.
// Header-only (see cluster_eval.h). Threading: single-threaded.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/cluster/clinic_surge.h"
#include "operators/cluster/poisson.h"

namespace epistream::eval {

class CityCensus {
 public:
  static constexpr int kMaxDays = 64;  // day bitmasks are 64 bits

  // Reads `events_path` (JSON Lines with `type`, as `epistream gen` writes).
  Status Read(const std::string& events_path, int tz_offset_minutes = 480) {
    tz_ = tz_offset_minutes;
    std::ifstream in(events_path);
    if (!in) return Status::IoError("cannot read " + events_path);
    simdjson::dom::parser parser;
    std::string line;
    while (std::getline(in, line)) {
      const bool scan = line.find("\"type\":\"scan\"") != std::string::npos;
      const bool fever =
          !scan && line.find("\"type\":\"fever\"") != std::string::npos;
      const bool transport =
          !scan && !fever &&
          line.find("\"type\":\"transport\"") != std::string::npos;
      if (!scan && !fever && !transport) continue;
      simdjson::dom::element e;
      if (parser.parse(line).get(e) != simdjson::SUCCESS) continue;
      std::string_view ts_text, person;
      int64_t ts_num = 0;
      TimestampMs ts = 0;
      if (e["ts"].get_string().get(ts_text) == simdjson::SUCCESS) {
        auto t = ParseRfc3339(ts_text);
        if (!t) continue;
        ts = *t;
      } else if (e["ts"].get_int64().get(ts_num) == simdjson::SUCCESS) {
        ts = ts_num;
      } else {
        continue;
      }
      if (e["person_id"].get_string().get(person) != simdjson::SUCCESS)
        continue;
      const int64_t day = LocalDay(ts, tz_);
      // Days count from the first event's (the file is in time order; an
      // earlier stray event is ignored).
      if (first_day_ == INT64_MAX) first_day_ = day;
      const int64_t bit = day - first_day_;
      if (bit < 0 || bit >= kMaxDays) continue;
      last_day_ = std::max(last_day_, day);
      const uint32_t p = Intern(persons_, person);
      if (active_.size() <= p) {
        active_.resize(p + 1, 0);
        febrile_.resize(p + 1, 0);
      }
      active_[p] |= uint64_t{1} << bit;
      if (fever) {
        febrile_[p] |= uint64_t{1} << bit;
        fevers_.emplace_back(ts, p);
        std::string_view clinic, event_id;
        if (e["clinic_id"].get_string().get(clinic) != simdjson::SUCCESS)
          continue;
        if (e["event_id"].get_string().get(event_id) != simdjson::SUCCESS)
          event_id = "";
        clinics_[std::string(clinic)].AddVisit(
            day, ClinicVisit{std::string(person), std::string(event_id), ts});
        continue;
      }
      if (!scan) continue;
      std::string_view venue, kind, color;
      if (e["venue_id"].get_string().get(venue) != simdjson::SUCCESS) continue;
      if (e["venue_kind"].get_string().get(kind) != simdjson::SUCCESS)
        kind = "";
      if (e["code_color"].get_string().get(color) == simdjson::SUCCESS &&
          (color == "yellow" || color == "red") && kind != "test_site" &&
          kind != "hospital") {
        abnormal_.insert(std::string(person) + "|" + std::to_string(day) + "|" +
                         std::string(color));
      }
      if (kind == "test_site" || kind == "hospital" ||
          kind == "transport_station")
        continue;  // not in any fever_cluster trail
      const uint32_t v = Intern(venues_, venue);
      visits_[(uint64_t{v} << 32) | p] |= uint64_t{1} << bit;
      if (scans_.size() <= v) scans_.resize(v + 1, 0);
      ++scans_[v];
    }
    if (first_day_ == INT64_MAX)
      return Status::InvalidArgument("no events in " + events_path);
    return Status::Ok();
  }

  int64_t first_day() const { return first_day_; }
  int64_t last_day() const { return last_day_; }
  int days() const { return static_cast<int>(last_day_ - first_day_ + 1); }

  // Distinct visitors of `venue` over the local days [to - len + 1, to].
  uint32_t Visitors(std::string_view venue, int64_t to, int len) const {
    auto it = venues_.find(std::string(venue));
    if (it == venues_.end()) return 0;
    const uint64_t mask = Window(to, len);
    uint32_t n = 0;
    const uint64_t lo = uint64_t{it->second} << 32;
    // Persons are dense: walk them (only used for a few venues).
    for (uint32_t p = 0; p < active_.size(); ++p) {
      auto v = visits_.find(lo | p);
      if (v != visits_.end() && (v->second & mask) != 0) ++n;
    }
    return n;
  }

  // Distinct visitors of every venue over [to - len + 1, to].
  std::vector<uint32_t> AllVisitors(int64_t to, int len) const {
    std::vector<uint32_t> n(venues_.size(), 0);
    const uint64_t mask = Window(to, len);
    for (const auto& [key, days] : visits_) {
      if ((days & mask) != 0) ++n[key >> 32];
    }
    return n;
  }
  const std::vector<uint64_t>& scans_per_venue() const { return scans_; }

  // The contract's r and V at the end of local day `to`: fever persons /
  // active persons over the 7 days to it; venues with a scan in them.
  double FeverRate(int64_t to) const {
    const uint64_t mask = Window(to, 7);
    uint64_t act = 0, feb = 0;
    for (size_t p = 0; p < active_.size(); ++p) {
      act += (active_[p] & mask) != 0;
      feb += (febrile_[p] & mask) != 0;
    }
    return act > 0 ? static_cast<double>(feb) / static_cast<double>(act) : 0;
  }
  uint64_t ActiveVenues(int64_t to) const {
    const std::vector<uint32_t> n = AllVisitors(to, 7);
    return static_cast<uint64_t>(
        std::count_if(n.begin(), n.end(), [](uint32_t x) { return x > 0; }));
  }

  // The smallest k >= min_cases with P(X >= k; n r) < alpha / v.
  static uint64_t MinDetectableCases(double n, double r, uint64_t v,
                                     double alpha = 0.2,
                                     uint64_t min_cases = 3) {
    const double bound = alpha / static_cast<double>(std::max<uint64_t>(v, 1));
    uint64_t k = min_cases;
    while (k < 1000000 && PoissonUpperTail(k, n * r) >= bound) ++k;
    return k;
  }

  // Raw access for detectors sketched in the evaluation (covisit_prototype.h).
  const std::vector<std::string>& person_names() const { return person_names_; }
  const std::vector<std::string>& venue_names() const { return venue_names_; }
  const std::vector<std::pair<TimestampMs, uint32_t>>& fevers() const {
    return fevers_;
  }
  // (venue << 32 | person) -> bitmask of the local days (from first_day) of
  // visits.
  const std::unordered_map<uint64_t, uint64_t>& visits() const {
    return visits_;
  }

  const std::map<std::string, ClinicState>& clinics() const { return clinics_; }
  // "person|local day|yellow or red" of every abnormal code scan at a venue
  // other than test_site and hospital: abnormal_code_at_venue's findings.
  const std::set<std::string>& abnormal_codes() const { return abnormal_; }
  int tz() const { return tz_; }

 private:
  uint32_t Intern(std::unordered_map<std::string, uint32_t>& ids,
                  std::string_view s) {
    auto [it, added] =
        ids.try_emplace(std::string(s), static_cast<uint32_t>(ids.size()));
    if (added)
      (&ids == &persons_ ? person_names_ : venue_names_).emplace_back(s);
    return it->second;
  }
  uint64_t Window(int64_t to, int len) const {
    uint64_t mask = 0;
    for (int64_t d = to - len + 1; d <= to; ++d) {
      const int64_t bit = d - first_day_;
      if (bit >= 0 && bit < kMaxDays) mask |= uint64_t{1} << bit;
    }
    return mask;
  }

  std::vector<std::string> person_names_, venue_names_;  // by index
  std::vector<std::pair<TimestampMs, uint32_t>>
      fevers_;  // (ts, person), file order
  int tz_ = 480;
  int64_t first_day_ = INT64_MAX;
  int64_t last_day_ = INT64_MIN;
  std::unordered_map<std::string, uint32_t> persons_, venues_;
  std::vector<uint64_t> active_, febrile_;  // per person: day bitmasks
  std::unordered_map<uint64_t, uint64_t>
      visits_;                   // venue << 32 | person -> days
  std::vector<uint64_t> scans_;  // per venue
  std::map<std::string, ClinicState> clinics_;
  std::set<std::string> abnormal_;
};

}  // namespace epistream::eval
