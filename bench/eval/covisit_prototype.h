// A sketch of a point-source detector, run offline on a CityCensus to see
// whether it would beat the contract's fever_cluster test before anyone
// builds it into the cluster stage. It is NOT an engine option.
//
// The contract's test pools a venue's cases over 7 days against its 14-day
// visitors N, with a Bonferroni bound over V venues: at r ~ 3e-3 and V ~ 400
// to 2000, 3 cases are significant only where N <= ~30-50, so a restaurant
// outbreak (N ~ 100-300) waits for its 4th-6th case. Infection at one venue
// happens on one day, so this sketch tests venue-days instead:
//   at each fever visit at a (person p), for each cluster-kind venue v and
//   local day D in [day(a) - 7, day(a)] on which p visited v:
//     k = distinct persons with a fever visit in [D, a] who visited v on D
//     N = distinct visitors of v on D
//     r = fever persons / active persons over the 7 days to day(a)
//   fires when k >= 3 and P(X >= k; N r) < alpha / (7 V): a Bonferroni bound
//   over the 7 V venue-days that could be tested.
// One alert per venue-day, at the fever visit that makes it significant.
// In the engine, N per venue-day could come from the kVenueScan records the
// cluster stage already receives (scans per venue and day), and D from the
// fever link's aux_ts; this sketch uses exact distinct visitors and every
// visit day (a small look-ahead: r and V of day(a) use that whole day).
// Header-only (see cluster_eval.h). Threading: single-threaded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/eval/city_census.h"
#include "operators/cluster/poisson.h"

namespace epistream::eval {

struct CoVisitAlert {
  std::string venue;
  int64_t day = 0;  // local day of the shared visit
  TimestampMs ts = 0;
  uint32_t k = 0, n = 0;
  double r = 0, p = 0, threshold = 0;
  std::vector<std::string> members;
};

inline std::vector<CoVisitAlert> RunCoVisitPrototype(const CityCensus& census,
                                                     double alpha = 0.2,
                                                     uint32_t min_cases = 3) {
  const int days = std::min(census.days(), CityCensus::kMaxDays);
  const int64_t d0 = census.first_day();
  // Visitors per venue-day, and each person's venues with their day masks.
  std::vector<std::vector<uint32_t>> visitors(days);
  for (auto& v : visitors) v.assign(census.venue_names().size(), 0);
  std::vector<std::vector<std::pair<uint32_t, uint64_t>>> trail(
      census.person_names().size());
  for (const auto& [key, mask] : census.visits()) {
    const auto venue = static_cast<uint32_t>(key >> 32);
    const auto person = static_cast<uint32_t>(key & 0xffffffffu);
    trail[person].emplace_back(venue, mask);
    for (int d = 0; d < days; ++d) {
      if (mask & (uint64_t{1} << d)) ++visitors[d][venue];
    }
  }
  std::vector<double> rate(days);
  std::vector<uint64_t> active(days);
  for (int d = 0; d < days; ++d) {
    rate[d] = census.FeverRate(d0 + d);
    active[d] = census.ActiveVenues(d0 + d);
  }
  std::vector<std::pair<TimestampMs, uint32_t>> fevers = census.fevers();
  std::stable_sort(
      fevers.begin(), fevers.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  std::unordered_map<uint64_t, std::vector<uint32_t>>
      cases;  // venue << 8 | day
  std::unordered_map<uint64_t, bool> alerted;
  std::vector<CoVisitAlert> out;
  for (const auto& [ts, person] : fevers) {
    const int64_t da = LocalDay(ts, census.tz()) - d0;
    if (da < 0 || da >= days) continue;
    for (const auto& [venue, mask] : trail[person]) {
      for (int64_t d = std::max<int64_t>(0, da - 7); d <= da; ++d) {
        if (!(mask & (uint64_t{1} << d))) continue;
        const uint64_t key = (uint64_t{venue} << 8) | static_cast<uint64_t>(d);
        std::vector<uint32_t>& c = cases[key];
        if (std::find(c.begin(), c.end(), person) == c.end())
          c.push_back(person);
        if (c.size() < min_cases || alerted[key]) continue;
        const double n = visitors[d][venue];
        const double p = PoissonUpperTail(c.size(), n * rate[da]);
        const double threshold =
            alpha /
            (7.0 * static_cast<double>(std::max<uint64_t>(active[da], 1)));
        if (p >= threshold) continue;
        alerted[key] = true;
        CoVisitAlert a;
        a.venue = census.venue_names()[venue];
        a.day = d0 + d;
        a.ts = ts;
        a.k = static_cast<uint32_t>(c.size());
        a.n = visitors[d][venue];
        a.r = rate[da];
        a.p = p;
        a.threshold = threshold;
        for (uint32_t m : c) a.members.push_back(census.person_names()[m]);
        out.push_back(std::move(a));
      }
    }
  }
  return out;
}

}  // namespace epistream::eval
