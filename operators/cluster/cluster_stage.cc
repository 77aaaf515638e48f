#include "operators/cluster/cluster_stage.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "engine/byte_codec.h"
#include "engine/state_keys.h"
#include "operators/cluster/poisson.h"

namespace epistream {
namespace {

// Timer kinds; at one time, activity closes fire before the evaluations that
// read the count of active venues.
enum ClusterTimerKind : uint8_t {
  kTimerActivity = 1,   // key venue: close its activity spans
  kTimerVenue = 2,      // key venue: evaluate fever_cluster at `when`
  kTimerCommunity = 3,  // key community: evaluate fever_cluster at `when`
  kTimerClinicDay = 4,  // key clinic: EARS C2 of the local day ending at `when`
  kTimerVenueDay = 5,   // key venue: evaluate its venue-days at `when`
};

std::string Sub(const std::string& prefix, char sub) {
  return prefix + sub;
}

}  // namespace

double CommunityWeeklyScanP(uint64_t k, double mu, DurationMs window) {
  if (k == 0) return 1.0;
  const double tail = PoissonUpperTail(k, mu);
  if (!(mu > 0) || window <= 0) return tail;
  // P(X = k - 1; mu) in log space (k up to thousands in large compounds).
  const double km1 = static_cast<double>(k - 1);
  const double pmf = std::exp(km1 * std::log(mu) - mu - std::lgamma(km1 + 1));
  const double windows_per_week =
      static_cast<double>(7 * kDayMs) / static_cast<double>(window);
  return std::min(1.0, tail + windows_per_week * mu * pmf);
}

std::string ClusterPartitionKeyPrefix(uint16_t q) {
  std::string k(1, 'Q');
  ByteWriter(&k).BigEndian16(q);
  return k;
}

std::string ClusterStageKeyPrefix(const ClusterStageOptions& opts) {
  return opts.key_prefix.empty() ? state_keys::Global('C', "")
                                 : opts.key_prefix;
}

// Sub-keys under the prefix: V venues, K communities, D venue-days
// (venue_day), L clinics, A venue
// activity, N<counter> city counters, X timers, W the stage's own watermark
// (so a restarted stage knows which records are late before its input
// advances it again).
ClusterStage::ClusterStage(const ClusterStageOptions& opts, KvStore* store)
    : opts_(opts),
      store_(store),
      prefix_(ClusterStageKeyPrefix(opts)),
      watermark_key_(Sub(prefix_, 'W')),
      venues_(store, Sub(prefix_, 'V')),
      communities_(store, Sub(prefix_, 'K')),
      venue_days_(store, Sub(prefix_, 'D')),
      clinics_(store, Sub(prefix_, 'L')),
      activity_(store, Sub(prefix_, 'A')),
      aggregate_(store, prefix_),
      timers_(store, Sub(prefix_, 'X')) {
  if (opts.detached) timers_.DeferWrites();
}

Status ClusterStage::Open() {
  EPI_RETURN_IF_ERROR(venues_.Load());
  EPI_RETURN_IF_ERROR(communities_.Load());
  EPI_RETURN_IF_ERROR(venue_days_.Load());
  EPI_RETURN_IF_ERROR(clinics_.Load());
  EPI_RETURN_IF_ERROR(activity_.Load());
  EPI_RETURN_IF_ERROR(aggregate_.Load());
  std::string wm;
  bool found = false;
  EPI_RETURN_IF_ERROR(store_->Get(watermark_key_, &wm, &found));
  if (found) {
    ByteReader r(wm);
    watermark_ = r.OrderedI64();
    if (!r.ok() || !r.done())
      return Status::Corruption("cluster stage: watermark");
    // The stored watermark's bucket was swept (or was the first one): a
    // first watermark after a restart that is already in a later bucket
    // sweeps, as it would have without the restart (issue #7).
    if (opts_.sweep_interval > 0)
      last_sweep_bucket_ = watermark_ / opts_.sweep_interval;
  }
  return timers_.Load();
}

void ClusterStage::ScheduleActivityTimer(const std::string& venue,
                                         VenueActivity& act, TimestampMs end) {
  if (end >= act.timer) return;
  if (act.timer != kNoPresenceTimer)
    timers_.Cancel(act.timer, kTimerActivity, venue);
  timers_.Schedule(end, kTimerActivity, venue);
  act.timer = end;
}

void ClusterStage::PrefetchRecord(const ClusterRecord& r, uint32_t key_hash,
                                  bool slot) const {
  auto hint = [&](const auto& table) {
    if (slot) {
      table.PrefetchSlot(key_hash);
    } else {
      table.Prefetch(key_hash);
    }
  };
  switch (r.kind) {
    case ClusterRecordKind::kVenueScan:
      return hint(activity_);
    case ClusterRecordKind::kVenueVisitors:
    case ClusterRecordKind::kFeverLink:
      return hint(venues_);
    case ClusterRecordKind::kVenueDayVisitor:
    case ClusterRecordKind::kVenueDayLink:
      return hint(venue_days_);
    case ClusterRecordKind::kCommunityFever:
    case ClusterRecordKind::kCommunitySeen:
    case ClusterRecordKind::kCommunityRegistered:
      return hint(communities_);
    case ClusterRecordKind::kClinicVisit:
      return hint(clinics_);
    case ClusterRecordKind::kCityCount:
      return;  // GlobalAggregate: a few counters, always cached
  }
}

Status ClusterStage::OnRecord(const ClusterRecord& r, uint32_t key_hash) {
  switch (r.kind) {
    case ClusterRecordKind::kVenueScan: {
      VenueActivity& act = activity_.Get(r.key, key_hash);
      deltas_.clear();
      const TimestampMs end = AddOccurrence(
          &act.spans, 0, {}, r.ts, opts_.rules.cluster_case_window, &deltas_);
      for (const StampedDelta& d : deltas_)
        aggregate_.Add(CityCounter::kActiveVenues, d.ts, d.delta);
      ScheduleActivityTimer(r.key, act, end);
      return Status::Ok();
    }
    case ClusterRecordKind::kVenueVisitors:
      venues_.Get(r.key, key_hash).population.Add(r.ts, r.delta);
      return Status::Ok();
    case ClusterRecordKind::kFeverLink:
    case ClusterRecordKind::kCommunityFever: {
      const bool venue = r.kind == ClusterRecordKind::kFeverLink;
      CaseWindow& w = venue ? venues_.Get(r.key, key_hash) : communities_.Get(r.key, key_hash);
      CaseLink link{r.person_id, r.event_id, r.clinic_id, r.ts,
                    venue ? r.aux_ts : r.ts};
      w.AddLink(link);
      const uint8_t kind = venue ? kTimerVenue : kTimerCommunity;
      timers_.Schedule(r.ts, kind, r.key);
      const TimestampMs evaluated = EvalWatermark();
      if (r.ts < evaluated) {
        // Late: evaluations already made at later fever visits of this key
        // whose window holds r.ts counted one case too few; run them again.
        const DurationMs window = venue ? opts_.rules.cluster_case_window
                                        : opts_.rules.community_case_window;
        for (const CaseLink& l : w.links) {
          if (l.fever_ts > r.ts && l.fever_ts <= r.ts + window &&
              l.fever_ts <= evaluated) {
            timers_.Schedule(l.fever_ts, kind, r.key);
          }
        }
      }
      return Status::Ok();
    }
    case ClusterRecordKind::kVenueDayVisitor:
      venue_days_.Get(r.key, key_hash)
          .Day(LocalDay(r.ts, opts_.tz_offset_minutes))
          .visitors.Add(r.ts, r.delta);
      return Status::Ok();
    case ClusterRecordKind::kVenueDayLink: {
      VenueDay& d = venue_days_.Get(r.key, key_hash).Day(
          LocalDay(r.aux_ts, opts_.tz_offset_minutes));
      d.AddLink(CaseLink{r.person_id, r.event_id, r.clinic_id, r.ts, r.aux_ts});
      timers_.Schedule(r.ts, kTimerVenueDay, r.key);
      const TimestampMs evaluated = EvalWatermark();
      if (r.ts < evaluated) {
        // Late: evaluations already made at later fever visits linked to the
        // same venue-day counted one case too few; run them again.
        for (const CaseLink& l : d.links) {
          if (l.fever_ts > r.ts && l.fever_ts <= evaluated) {
            timers_.Schedule(l.fever_ts, kTimerVenueDay, r.key);
          }
        }
      }
      return Status::Ok();
    }
    case ClusterRecordKind::kCommunitySeen:
      communities_.Get(r.key, key_hash).population.Add(r.ts, r.delta);
      return Status::Ok();
    case ClusterRecordKind::kCommunityRegistered:
      communities_.Get(r.key, key_hash).registered += r.delta;
      return Status::Ok();
    case ClusterRecordKind::kClinicVisit: {
      ClinicState& c = clinics_.Get(r.key, key_hash);
      const int64_t day = LocalDay(r.ts, opts_.tz_offset_minutes);
      // A clinic silent for the retention starts its history again (the
      // sweep may or may not have deleted it yet: same result either way).
      const int64_t retention_days = opts_.retention / kDayMs;
      if (c.LastDay() != ClinicState::kNoDay &&
          day - c.LastDay() > retention_days) {
        c = ClinicState();
      }
      c.AddVisit(day, ClinicVisit{r.person_id, r.event_id, r.ts});
      timers_.Schedule(LocalDayStart(day + 1, opts_.tz_offset_minutes) - 1,
                       kTimerClinicDay, r.key);
      return Status::Ok();
    }
    case ClusterRecordKind::kCityCount: {
      CityCounter c;
      if (!ParseCityCounter(r.key, &c))
        return Status::InvalidArgument("cluster record: unknown counter");
      aggregate_.Add(c, r.ts, r.delta);
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("cluster record: unknown kind");
}

Status ClusterStage::OnRegistration(std::string_view before,
                                    std::string_view after) {
  if (before == after) return Status::Ok();
  ClusterRecord r;
  r.kind = ClusterRecordKind::kCommunityRegistered;
  if (!before.empty()) {
    r.key = std::string(before);
    r.delta = -1;
    EPI_RETURN_IF_ERROR(OnRecord(r));
  }
  if (!after.empty()) {
    r.key = std::string(after);
    r.delta = 1;
    EPI_RETURN_IF_ERROR(OnRecord(r));
  }
  return Status::Ok();
}

void ClusterStage::SetRegisteredCounts(
    const std::map<std::string, int64_t>& counts) {
  communities_.Update([&](const std::string& key, CaseWindow& w) {
    auto it = counts.find(key);
    w.registered = it == counts.end() ? 0 : it->second;
  });
  for (const auto& [community, n] : counts) {
    if (n != 0) communities_.Get(community).registered = n;
  }
}

void ClusterStage::FireActivity(const std::string& venue) {
  VenueActivity* act = activity_.Find(venue);
  if (act == nullptr) return;
  act->timer = kNoPresenceTimer;
  const DurationMs window = opts_.rules.cluster_case_window;
  const TimestampMs next = CloseDueSpans(
      &act->spans, watermark_, [window](uint8_t) { return window; },
      [this](const PresenceSpan&, TimestampMs end) {
        aggregate_.Add(CityCounter::kActiveVenues, end, -1);
      });
  if (next != kNoPresenceTimer) ScheduleActivityTimer(venue, *act, next);
  PruneClosedSpans(&act->spans, Horizon(),
                   [window](uint8_t) { return window; });
}

void ClusterStage::EvaluateVenue(const std::string& venue, TimestampMs a,
                                 std::vector<Alert>* alerts) {
  CaseWindow* w = venues_.Find(venue);
  if (w == nullptr) return;
  const DurationMs window = opts_.rules.cluster_case_window;
  TimestampMs latest = kMinTimestamp;
  const std::vector<const CaseLink*> cases = w->CasesIn(a - window, a, &latest);
  if (cases.size() < opts_.rules.cluster_min_cases) return;
  const int64_t active = aggregate_.ValueAt(CityCounter::kActiveCase, a);
  if (active <= 0) return;
  ClusterTest t;
  t.cases = cases.size();
  t.population =
      static_cast<double>(std::max<int64_t>(w->population.ValueAt(a), 0));
  t.fever_rate =
      static_cast<double>(aggregate_.ValueAt(CityCounter::kFeverCase, a)) /
      static_cast<double>(active);
  t.expected = t.population * t.fever_rate;
  t.p_value = PoissonUpperTail(t.cases, t.expected);
  t.tests =
      std::max<int64_t>(aggregate_.ValueAt(CityCounter::kActiveVenues, a), 1);
  t.threshold = opts_.rules.cluster_alpha / static_cast<double>(t.tests);
  if (!(t.p_value < t.threshold)) return;
  Grow(ClusterSubject::kVenue, venue, w->has_episode, w->episode, a, window,
       cases, latest, t, alerts);
}

void ClusterStage::EvaluateVenueDays(const std::string& venue, TimestampMs a,
                                     std::vector<Alert>* alerts) {
  VenueDayWindow* w = venue_days_.Find(venue);
  if (w == nullptr) return;
  const int64_t active = aggregate_.ValueAt(CityCounter::kActiveCase, a);
  if (active <= 0) return;
  const DurationMs window = opts_.rules.cluster_case_window;
  const double fever_rate =
      static_cast<double>(aggregate_.ValueAt(CityCounter::kFeverCase, a)) /
      static_cast<double>(active);
  // Bonferroni over every venue-day that could be tested: V venues x the
  // days of the case window.
  const int64_t window_days = std::max<int64_t>(window / kDayMs, 1);
  const int64_t tests =
      std::max<int64_t>(aggregate_.ValueAt(CityCounter::kActiveVenues, a), 1) *
      window_days;
  // Each day of the venue visited by a person with a fever visit at a; the
  // cases of every significant day join, reported with the test of the most
  // significant one (one version per evaluation).
  std::vector<const CaseLink*> members;
  TimestampMs latest = kMinTimestamp;
  ClusterTest best;
  bool fires = false;
  for (const VenueDay& d : w->days) {
    if (!d.HasFeverAt(a)) continue;
    TimestampMs day_latest = kMinTimestamp;
    const std::vector<const CaseLink*> cases = d.CasesUpTo(a, &day_latest);
    if (cases.size() < opts_.rules.cluster_min_cases) continue;
    ClusterTest t;
    t.cases = cases.size();
    t.population =
        static_cast<double>(std::max<int64_t>(d.visitors.ValueAt(a), 0));
    t.fever_rate = fever_rate;
    t.expected = t.population * t.fever_rate;
    t.p_value = PoissonUpperTail(t.cases, t.expected);
    t.tests = tests;
    t.threshold = opts_.rules.cluster_alpha / static_cast<double>(t.tests);
    if (!(t.p_value < t.threshold)) continue;
    if (!fires || t.p_value < best.p_value) best = t;
    fires = true;
    latest = std::max(latest, day_latest);
    for (const CaseLink* c : cases) {
      auto same = [c](const CaseLink* m) {
        return m->person_id == c->person_id;
      };
      auto it = std::find_if(members.begin(), members.end(), same);
      if (it == members.end()) {
        members.push_back(c);
      } else if (c->fever_ts < (*it)->fever_ts) {
        *it = c;
      }
    }
  }
  if (!fires) return;
  std::sort(members.begin(), members.end(),
            [](const CaseLink* x, const CaseLink* y) {
              return std::tie(x->fever_ts, x->person_id) <
                     std::tie(y->fever_ts, y->person_id);
            });
  Grow(ClusterSubject::kVenue, venue, w->has_episode, w->episode, a, window,
       members, latest, best, alerts);
}

int64_t ClusterStage::CommunitiesWithPopulationAt(TimestampMs a) const {
  int64_t n = 0;
  communities_.ForEach([&](const std::string&, const CaseWindow& w) {
    if (w.registered > 0 || w.population.ValueAt(a) > 0) ++n;
  });
  return n;
}

void ClusterStage::EvaluateCommunity(const std::string& community,
                                     TimestampMs a,
                                     std::vector<Alert>* alerts) {
  CaseWindow* w = communities_.Find(community);
  if (w == nullptr) return;
  const DurationMs window = opts_.rules.community_case_window;
  TimestampMs latest = kMinTimestamp;
  const std::vector<const CaseLink*> cases = w->CasesIn(a - window, a, &latest);
  if (cases.size() < opts_.rules.cluster_min_cases) return;
  const int64_t active = aggregate_.ValueAt(CityCounter::kActiveCommunity, a);
  if (active <= 0) return;
  ClusterTest t;
  t.cases = cases.size();
  const int64_t population =
      w->registered > 0 ? w->registered
                        : std::max<int64_t>(w->population.ValueAt(a), 0);
  t.population = static_cast<double>(population);
  t.fever_rate =
      static_cast<double>(aggregate_.ValueAt(CityCounter::kFeverCommunity, a)) /
      static_cast<double>(active);
  t.expected = t.population * t.fever_rate;
  t.p_value = PoissonUpperTail(t.cases, t.expected);
  // weekly: the p-value of the week's scan (chance of reaching k at any
  // time in a week), not of this one window; alpha is then per city-week.
  if (opts_.rules.community_method == CommunityMethod::kWeekly)
    t.p_value = CommunityWeeklyScanP(t.cases, t.expected, window);
  t.tests = std::max<int64_t>(CommunitiesWithPopulationAt(a), 1);
  t.threshold = opts_.rules.cluster_alpha / static_cast<double>(t.tests);
  if (!(t.p_value < t.threshold)) return;
  Grow(ClusterSubject::kCommunity, community, w->has_episode, w->episode, a,
       window, cases, latest, t, alerts);
}

void ClusterStage::Grow(ClusterSubject subject, const std::string& key,
                        bool& has_episode, ClusterEpisode& episode,
                        TimestampMs a, DurationMs window,
                        const std::vector<const CaseLink*>& cases,
                        TimestampMs latest, const ClusterTest& test,
                        std::vector<Alert>* alerts) {
  // A cluster lives while a member's fever visit is within the case window.
  if (!has_episode || episode.last_ts < a - window) {
    has_episode = true;
    episode = ClusterEpisode();
    episode.cluster_id = MakeClusterId(subject, key, a);
    episode.started_at = a;
    episode.first_ts = cases.front()->fever_ts;
    episode.last_ts = latest;
  }
  ClusterEpisode& e = episode;
  for (const CaseLink* c : cases) {
    e.AddMember(*c);
    e.first_ts = std::min(e.first_ts, c->fever_ts);
  }
  e.last_ts = std::max(e.last_ts, latest);
  if (e.members.size() < NextVersionStep(e.reported_count)) return;
  ++e.version;
  e.reported_count = e.members.size();
  alerts->push_back(FeverClusterAlert(subject, key, e, test, window, a,
                                      opts_.tz_offset_minutes));
}

void ClusterStage::EvaluateClinicDay(const std::string& clinic,
                                     TimestampMs end_of_day,
                                     std::vector<Alert>* alerts) {
  ClinicState* c = clinics_.Find(clinic);
  if (c == nullptr) return;
  const int64_t day = LocalDay(end_of_day, opts_.tz_offset_minutes);
  ClinicDay* d = c->Day(day);
  if (d == nullptr || d->alerted) return;
  const EarsC2Result r = EvaluateClinicSurge(*c, day, opts_.rules);
  if (!r.fires) return;
  d->alerted = true;
  alerts->push_back(
      ClinicSurgeAlert(clinic, *d, r, end_of_day, opts_.tz_offset_minutes));
}

Status ClusterStage::OnWatermark(TimestampMs wm, std::vector<Alert>* alerts) {
  watermark_ = std::max(watermark_, wm);
  Timer t;
  while (timers_.PopDue(EvalWatermark(), &t)) {
    switch (t.kind) {
      case kTimerActivity:
        FireActivity(t.key);
        break;
      case kTimerVenue:
        EvaluateVenue(t.key, t.when, alerts);
        break;
      case kTimerCommunity:
        EvaluateCommunity(t.key, t.when, alerts);
        break;
      case kTimerClinicDay:
        EvaluateClinicDay(t.key, t.when, alerts);
        break;
      case kTimerVenueDay:
        EvaluateVenueDays(t.key, t.when, alerts);
        break;
      default:
        return Status::Corruption("cluster stage: unknown timer kind");
    }
  }
  // PopDue is false also when refilling the timer head from the store failed.
  EPI_RETURN_IF_ERROR(timers_.status());
  if (watermark_ != kMinTimestamp && opts_.sweep_interval > 0) {
    const int64_t bucket = watermark_ / opts_.sweep_interval;
    if (bucket != last_sweep_bucket_) {
      if (last_sweep_bucket_ != INT64_MIN) Sweep();
      last_sweep_bucket_ = bucket;
    }
  }
  return Status::Ok();
}

// Drops what no evaluation at or after the horizon can read. Outputs do not
// depend on when (or whether) this runs: every read filters by time itself,
// and a clinic silent for the retention restarts the same way on its next
// visit (OnRecord).
void ClusterStage::PruneCaseWindow(const ClusterStageOptions& opts,
                                   TimestampMs watermark, bool community,
                                   CaseWindow& w) {
  if (watermark == kMinTimestamp) return;
  const TimestampMs h = HorizonOf(opts, watermark);
  const DurationMs window = community ? opts.rules.community_case_window
                                      : opts.rules.cluster_case_window;
  w.Prune(h - window, h - window, h);
}

void ClusterStage::PruneVenue(CaseWindow& w) const {
  PruneCaseWindow(opts_, watermark_, /*community=*/false, w);
}

void ClusterStage::PruneCommunity(CaseWindow& w) const {
  PruneCaseWindow(opts_, watermark_, /*community=*/true, w);
}

void ClusterStage::PruneVenueDays(VenueDayWindow& w) const {
  if (watermark_ == kMinTimestamp) return;
  const TimestampMs h = Horizon();
  const DurationMs window = opts_.rules.cluster_case_window;
  // An evaluation at a >= h reads the days of scans in [a - window, a].
  w.Prune(LocalDay(h - window, opts_.tz_offset_minutes), h - window, h);
}

void ClusterStage::PruneClinic(ClinicState& c) const {
  if (watermark_ == kMinTimestamp) return;
  const int64_t day = LocalDay(Horizon(), opts_.tz_offset_minutes);
  if (c.LastDay() != ClinicState::kNoDay &&
      day - c.LastDay() > opts_.retention / kDayMs) {
    c = ClinicState();
    return;
  }
  const int64_t keep_from =
      day -
      static_cast<int64_t>(opts_.rules.surge_baseline_days +
                           opts_.rules.surge_guard_days) -
      1 - (opts_.rules.surge_method == SurgeMethod::kEarsC3 ? 2 : 0);
  c.Prune(keep_from, day - 1);
}

void ClusterStage::PruneActivity(VenueActivity& a) const {
  if (watermark_ == kMinTimestamp) return;
  const DurationMs window = opts_.rules.cluster_case_window;
  PruneClosedSpans(&a.spans, Horizon(), [window](uint8_t) { return window; });
}

void ClusterStage::Sweep() {
  venues_.Update([this](const std::string&, CaseWindow& w) { PruneVenue(w); });
  communities_.Update(
      [this](const std::string&, CaseWindow& w) { PruneCommunity(w); });
  venue_days_.Update(
      [this](const std::string&, VenueDayWindow& w) { PruneVenueDays(w); });
  clinics_.Update(
      [this](const std::string&, ClinicState& c) { PruneClinic(c); });
  activity_.Update(
      [this](const std::string&, VenueActivity& a) { PruneActivity(a); });
  aggregate_.Compact(Horizon());
}

Status ClusterStage::Flush() {
  // Pruned before encoding: the counters then hold about the allowed
  // lateness of stamps.
  if (watermark_ != kMinTimestamp) aggregate_.Compact(Horizon());
  venues_.Flush([this](CaseWindow& w) { PruneVenue(w); });
  communities_.Flush([this](CaseWindow& w) { PruneCommunity(w); });
  venue_days_.Flush([this](VenueDayWindow& w) { PruneVenueDays(w); });
  clinics_.Flush([this](ClinicState& c) { PruneClinic(c); });
  activity_.Flush([this](VenueActivity& a) { PruneActivity(a); });
  aggregate_.Flush();
  timers_.Flush();
  if (watermark_ != kMinTimestamp) {
    std::string wm;
    ByteWriter(&wm).OrderedI64(watermark_);
    // Read back only at a restart: no index of the batch needed
    // (CityPipeline::Checkpoint says why that matters).
    store_->PutForCommit(watermark_key_, wm);
  }
  return Status::Ok();
}

int64_t ClusterStage::VenuePopulationAt(const std::string& venue,
                                        TimestampMs a) {
  const CaseWindow* w = venues_.Find(venue);
  return w == nullptr ? 0 : w->population.ValueAt(a);
}

}  // namespace epistream
