#include "operators/cluster/clinic_surge.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "engine/byte_codec.h"

namespace epistream {
namespace {

constexpr uint8_t kVersion = 1;

}  // namespace

ClinicDay& ClinicState::AddVisit(int64_t day, const ClinicVisit& v) {
  first_day = std::min(first_day, day);
  auto it =
      std::lower_bound(days.begin(), days.end(), day,
                       [](const ClinicDay& d, int64_t x) { return d.day < x; });
  if (it == days.end() || it->day != day) {
    ClinicDay d;
    d.day = day;
    it = days.insert(it, std::move(d));
  }
  ++it->visits;
  auto& kept = it->first_visits;
  auto less = [](const ClinicVisit& a, const ClinicVisit& b) {
    return std::tie(a.ts, a.event_id) < std::tie(b.ts, b.event_id);
  };
  auto pos = std::upper_bound(kept.begin(), kept.end(), v, less);
  if (kept.size() < kMaxKeptVisits || pos != kept.end()) {
    kept.insert(pos, v);
    if (kept.size() > kMaxKeptVisits) kept.pop_back();
  }
  return *it;
}

const ClinicDay* ClinicState::Day(int64_t day) const {
  auto it =
      std::lower_bound(days.begin(), days.end(), day,
                       [](const ClinicDay& d, int64_t x) { return d.day < x; });
  return it != days.end() && it->day == day ? &*it : nullptr;
}

ClinicDay* ClinicState::Day(int64_t day) {
  return const_cast<ClinicDay*>(
      static_cast<const ClinicState*>(this)->Day(day));
}

uint32_t ClinicState::VisitsOn(int64_t day) const {
  const ClinicDay* d = Day(day);
  return d == nullptr ? 0 : d->visits;
}

void ClinicState::Prune(int64_t keep_from, int64_t details_from) {
  days.erase(days.begin(), std::lower_bound(days.begin(), days.end(), keep_from,
                                            [](const ClinicDay& d, int64_t x) {
                                              return d.day < x;
                                            }));
  for (ClinicDay& d : days) {
    if (d.day < details_from) {
      d.first_visits.clear();
      d.first_visits.shrink_to_fit();
    }
  }
}

void ClinicState::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kVersion);
  w.U8(first_day == kNoDay ? 0 : 1);
  if (first_day != kNoDay) w.SignedVarint(first_day);
  w.Varint(days.size());
  for (const ClinicDay& d : days) {
    w.SignedVarint(d.day);
    w.Varint(d.visits);
    w.U8(d.alerted ? 1 : 0);
    w.Varint(d.first_visits.size());
    for (const ClinicVisit& v : d.first_visits) {
      w.Str(v.person_id);
      w.Str(v.event_id);
      w.SignedVarint(v.ts);
    }
  }
}

Status ClinicState::Decode(std::string_view bytes) {
  *this = ClinicState();
  ByteReader r(bytes);
  if (r.U8() != kVersion)
    return Status::Corruption("clinic state: unknown version");
  if (r.U8() != 0) first_day = r.SignedVarint();
  auto count = [&]() -> size_t {
    const uint64_t n = r.Varint();
    return n > bytes.size() ? 0 : static_cast<size_t>(n);
  };
  days.resize(count());
  for (ClinicDay& d : days) {
    d.day = r.SignedVarint();
    d.visits = static_cast<uint32_t>(r.Varint());
    d.alerted = r.U8() != 0;
    d.first_visits.resize(count());
    for (ClinicVisit& v : d.first_visits) {
      v.person_id = std::string(r.Str());
      v.event_id = std::string(r.Str());
      v.ts = r.SignedVarint();
    }
  }
  if (!r.ok() || !r.done()) {
    *this = ClinicState();
    return Status::Corruption("clinic state: truncated or trailing bytes");
  }
  return Status::Ok();
}

namespace {

// Day `day`'s C2 baseline (mean, sample sd) and statistic.
EarsC2Result C2Of(const ClinicState& clinic, int64_t day,
                  const RulesConfig& rules) {
  EarsC2Result res;
  res.visits = clinic.VisitsOn(day);
  res.history_days =
      clinic.first_day == ClinicState::kNoDay ? 0 : day - clinic.first_day;
  const int64_t n = rules.surge_baseline_days;
  const int64_t last = day - static_cast<int64_t>(rules.surge_guard_days) - 1;
  double sum = 0;
  for (int64_t d = last - n + 1; d <= last; ++d) sum += clinic.VisitsOn(d);
  res.mean = sum / static_cast<double>(n);
  double sq = 0;
  for (int64_t d = last - n + 1; d <= last; ++d) {
    const double x = clinic.VisitsOn(d) - res.mean;
    sq += x * x;
  }
  res.sd = n > 1 ? std::sqrt(sq / static_cast<double>(n - 1)) : 0.0;
  const double scale = std::max(res.sd, rules.surge_min_sd);
  const double excess = static_cast<double>(res.visits) - res.mean;
  if (scale > 0) {
    res.statistic = excess / scale;
  } else {  // sd 0 and no floor: any rise is infinitely unusual
    res.statistic = excess > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  }
  return res;
}

}  // namespace

EarsC2Result EvaluateEarsC2(const ClinicState& clinic, int64_t day,
                            const RulesConfig& rules) {
  EarsC2Result res = C2Of(clinic, day, rules);
  res.threshold = res.mean + rules.surge_sd_multiplier *
                                 std::max(res.sd, rules.surge_min_sd);
  res.fires =
      static_cast<double>(res.visits) > res.threshold &&
      res.visits >= rules.surge_min_visits &&
      res.history_days >= static_cast<int64_t>(rules.surge_min_history_days);
  return res;
}

EarsC2Result EvaluateEarsC3(const ClinicState& clinic, int64_t day,
                            const RulesConfig& rules) {
  EarsC2Result res = C2Of(clinic, day, rules);
  res.method = SurgeMethod::kEarsC3;
  const double offset = rules.surge_c3_day_offset;
  double before = 0;  // the terms of d-2 and d-1
  for (int64_t d = day - 2; d < day; ++d) {
    before += std::max(0.0, C2Of(clinic, d, rules).statistic - offset);
  }
  res.statistic = before + std::max(0.0, res.statistic - offset);
  const double room = rules.surge_c3_threshold - before;
  res.threshold =
      room >= 0
          ? res.mean + (offset + room) * std::max(res.sd, rules.surge_min_sd)
          : 0.0;
  res.fires = res.statistic > rules.surge_c3_threshold &&
              res.visits >= rules.surge_min_visits &&
              res.history_days >=
                  static_cast<int64_t>(rules.surge_min_history_days) + 2;
  return res;
}

EarsC2Result EvaluateClinicSurge(const ClinicState& clinic, int64_t day,
                                 const RulesConfig& rules) {
  return rules.surge_method == SurgeMethod::kEarsC3
             ? EvaluateEarsC3(clinic, day, rules)
             : EvaluateEarsC2(clinic, day, rules);
}

const char* SurgeMethodName(SurgeMethod method) {
  return method == SurgeMethod::kEarsC3 ? "EARS C3" : "EARS C2";
}

}  // namespace epistream
