#include "operators/person_stage.h"

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/state_keys.h"
#include "operators/rules/abnormal_code_rule.h"
#include "operators/rules/fever_rules.h"
#include "operators/rules/quarantine_rule.h"
#include "operators/rules/returnee_rule.h"

namespace epistream {
namespace {

constexpr char kIndexSub = 'R';
constexpr char kTimerSub = 'T';

// Records of a state that pruning may remove (it only ever removes).
size_t RecordCount(const PersonState& s) {
  return s.entries.size() + s.exposures.size() + s.trail.size() + s.fevers.size() +
         s.tests.size() + s.quarantines.size() + s.day_flags.size() + s.seen.size() +
         s.presence.size();
}

// Timer kinds of the person stage itself (rule kinds, rule_context.h, stay
// below 16): closes the person's presence spans that ended (key person_id).
constexpr uint8_t kTimerPresence = 16;

// No scan of the venue that day yet (EmitVenueDayScan).
constexpr TimestampMs kNoScan = std::numeric_limits<TimestampMs>::max();

// Presence tracks of a person (PresenceSpan::track).
enum PresenceTrack : uint8_t {
  kTrackActiveCase = 0,       // any event; case window
  kTrackActiveCommunity = 1,  // any event; community window
  kTrackFeverCase = 2,        // fever visits; case window
  kTrackFeverCommunity = 3,   // fever visits; community window
  kTrackVenue = 4,            // scans of venue `key`; population window
  kTrackCommunitySeen = 5,    // fever visits naming community `key`; population window
};

// Venue kinds left out of clusters (and of the trail): visits there are
// tests, care or transit, not exposure.
bool ClusterVenue(VenueKind k) {
  return k != VenueKind::kTestSite && k != VenueKind::kHospital &&
         k != VenueKind::kTransportStation;
}

}  // namespace

PersonStage::PersonStage(const PersonStageOptions& opts, KvStore* store,
                         const RiskAreaTable* areas, const PersonRegistry* registry)
    : opts_(opts), store_(store), areas_(areas), registry_(registry),
      cache_(store, opts.cache_entries, opts.cache_bytes, opts.encoded_cache_bytes) {
  cache_.set_prune([this](PersonState& s) { Prune(s); });
}

Status PersonStage::AddPartition(uint16_t partition, std::vector<Alert>* alerts) {
  if (TimersOf(partition) != nullptr) return Status::Ok();
  // A partition without any stored person state (a first start, a new
  // partition) spares the cache a store read per new person.
  const std::string states = PersonCache::StatePrefix(partition);
  bool any_state = false;
  EPI_RETURN_IF_ERROR(store_->Scan(states, PrefixEnd(states), [&](std::string_view, std::string_view) {
    any_state = true;
    return false;
  }));
  if (!any_state) cache_.SetEmptyInStore(partition);
  auto timers = std::make_unique<TimerService>(
      store_, state_keys::PartitionPrefix(partition, kTimerSub));
  timers->set_watch(&timer_watch_);
  timers->BufferWrites();  // staged at each Flush
  EPI_RETURN_IF_ERROR(timers->Load());
  timers_.insert(std::lower_bound(timers_.begin(), timers_.end(), partition, PartitionBefore),
                 PartitionTimers{partition, std::move(timers)});
  for (const ListingInterval& iv : areas_->AllIntervals()) {
    EPI_RETURN_IF_ERROR(RetroScan(partition, iv, alerts));
  }
  return Status::Ok();
}

void PersonStage::RemovePartition(uint16_t partition) {
  std::erase_if(timers_, [&](const PartitionTimers& t) { return t.partition == partition; });
  cache_.DropPartition(partition);
}

TimerService* PersonStage::TimersOf(uint16_t partition) const {
  auto at = std::lower_bound(timers_.begin(), timers_.end(), partition, PartitionBefore);
  return at != timers_.end() && at->partition == partition ? at->timers.get() : nullptr;
}

size_t PersonStage::pending_timers() const {
  size_t n = 0;
  for (const auto& [p, t] : timers_) n += t->size();
  return n;
}

std::string PersonStage::IndexKey(uint16_t partition, std::string_view region, TimestampMs ts,
                                  std::string_view person) {
  std::string k = state_keys::PartitionPrefix(partition, kIndexSub);
  k.append(region);
  k.push_back('\0');
  ByteWriter(&k).OrderedI64(ts);
  k.append(person);
  return k;
}

void PersonStage::AfterExposure(RuleContext& ctx, const ExposureRecord& x) {
  if (x.level == RiskLevel::kHigh) {
    QuarantineRule::Start(ctx.state, std::max(x.entry_ts, x.listed_at),
                          x.entry_ts + ctx.rules.quarantine_high_risk, x.entry_event_id);
  }
  FeverRules::OnExposure(ctx, x);
}

Status PersonStage::OnEvent(const Event& e, uint16_t partition, bool* duplicate,
                            std::vector<Alert>* alerts) {
  *duplicate = false;
  TimerService* timers = TimersOf(partition);
  if (timers == nullptr) {
    EPI_RETURN_IF_ERROR(AddPartition(partition, alerts));
    timers = TimersOf(partition);
  }
  Result<PersonState*> got = cache_.Get(partition, e.person_id);
  if (!got.ok()) return got.status();
  PersonState& s = **got;
  if (!s.MarkSeen(EventIdHash(e.type, e.event_id), e.ts)) {
    *duplicate = true;
    return Status::Ok();
  }
  s.last_ts = std::max(s.last_ts, e.ts);
  RuleContext ctx{opts_.rules, opts_.tz_offset_minutes, e.person_id, s, alerts, timers};
  if (cluster_out_ != nullptr) {
    cluster_out_->set_source(partition);
    EmitClusterRecords(e, s, ctx.timers);
  }
  switch (e.type) {
    case EventType::kTransport: {
      EntryRecord entry;
      entry.ts = e.ts;
      entry.event_id = e.event_id;
      entry.hub_id = e.hub_id;
      entry.mode = e.mode;
      entry.category = e.category;
      entry.regions.reserve(1 + e.trip_regions.size());
      entry.regions.push_back(e.origin_region);
      for (const std::string& r : e.trip_regions) {
        if (std::find(entry.regions.begin(), entry.regions.end(), r) == entry.regions.end())
          entry.regions.push_back(r);
      }
      // Read only by scans (a listing's retroactive search, the sweep):
      // no index of the batch needed. A Put here made the store sort the
      // hashes of the checkpoint's ~380k write-back keys to rule them out
      // (RocksKvStore::MaybeInPlain: 1.9% of the stage thread).
      for (const std::string& r : entry.regions) {
        store_->PutForCommit(IndexKey(partition, r, e.ts, e.person_id), {});
      }
      if (e.category == TravelCategory::kInboundReleased) {
        QuarantineRule::Start(s, e.ts, e.ts + opts_.rules.quarantine_inbound, e.event_id);
      }
      s.entries.push_back(entry);
      for (const ExposureRecord& x : ReturneeRule::OnEntry(ctx, entry, *areas_)) {
        AfterExposure(ctx, x);
      }
      break;
    }
    case EventType::kScan:
      if (e.venue_kind == VenueKind::kTestSite) {
        s.tests.push_back(e.ts);
      } else if (ClusterVenue(e.venue_kind)) {
        s.trail.push_back({e.ts, e.venue_id, e.venue_kind});
      }
      QuarantineRule::OnScan(ctx, e);
      AbnormalCodeRule::OnScan(ctx, e);
      break;
    case EventType::kFever:
      s.fevers.push_back({e.ts, e.event_id, e.clinic_id, e.temp_c, false});
      FeverRules::OnFever(ctx, e, registry_->Find(e.person_id));
      break;
    default:
      return Status::InvalidArgument("person stage: not a stream event");
  }
  return Status::Ok();
}

Status PersonStage::OnListing(const Event& rec, std::vector<Alert>* alerts) {
  if (rec.level == RiskLevel::kLow) return Status::Ok();
  ListingInterval iv;
  if (!areas_->IntervalAt(rec.region, rec.ts, &iv)) return Status::Ok();
  for (auto& [partition, timers] : timers_) {
    EPI_RETURN_IF_ERROR(RetroScan(partition, iv, alerts));
  }
  return Status::Ok();
}

Status PersonStage::RetroScan(uint16_t partition, const ListingInterval& iv,
                              std::vector<Alert>* alerts) {
  TimestampMs lo = iv.listed_at - opts_.rules.risk_lookback;
  if (watermark_ != kMinTimestamp) lo = std::max(lo, watermark_ - opts_.rules.retroactive_window);
  const TimestampMs hi = iv.delisted_at;
  if (lo > hi) return Status::Ok();
  const std::string prefix = state_keys::PartitionPrefix(partition, kIndexSub) + iv.area;
  std::vector<IndexHit> hits;
  EPI_RETURN_IF_ERROR(store_->Scan(prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view) {
    std::string_view rest = k.substr(prefix.size() - iv.area.size());
    const size_t nul = rest.find('\0');
    if (nul == std::string_view::npos || rest.size() < nul + 9) return true;
    ByteReader r(rest.substr(nul + 1));
    const TimestampMs ts = r.OrderedI64();
    if (ts >= lo && ts <= hi) {
      hits.push_back({std::string(rest.substr(0, nul)), ts, std::string(r.Rest())});
    }
    return true;
  }));
  // Oldest arrival first, so the alert order is that of event time.
  std::stable_sort(hits.begin(), hits.end(), [](const IndexHit& a, const IndexHit& b) {
    return std::tie(a.ts, a.person, a.region) < std::tie(b.ts, b.person, b.region);
  });
  TimerService* timers = TimersOf(partition);
  for (const IndexHit& h : hits) {
    Result<PersonState*> got = cache_.Get(partition, h.person);
    if (!got.ok()) return got.status();
    PersonState& s = **got;
    if (s.HasExposure(iv.area)) continue;
    auto entry = std::find_if(s.entries.begin(), s.entries.end(), [&](const EntryRecord& e) {
      return e.ts == h.ts &&
             std::find(e.regions.begin(), e.regions.end(), h.region) != e.regions.end();
    });
    if (entry == s.entries.end()) continue;
    Coverage cov;
    if (!areas_->CoverageOf(iv.area, entry->ts, opts_.rules.risk_lookback, &cov)) continue;
    RuleContext ctx{opts_.rules, opts_.tz_offset_minutes, h.person, s, alerts, timers};
    const EntryRecord entry_copy = *entry;  // Flag may grow s.entries' neighbours
    if (auto x = ReturneeRule::Flag(ctx, entry_copy, cov)) AfterExposure(ctx, *x);
  }
  return Status::Ok();
}

DurationMs PersonStage::PresenceWindow(uint8_t track) const {
  switch (track) {
    case kTrackActiveCase:
    case kTrackFeverCase: return opts_.rules.cluster_case_window;
    case kTrackActiveCommunity:
    case kTrackFeverCommunity: return opts_.rules.community_case_window;
    default: return opts_.rules.cluster_population_window;
  }
}

void PersonStage::EmitPresenceDelta(uint8_t track, std::string_view key, TimestampMs ts,
                                    int32_t delta) {
  ClusterRecord& r = cluster_out_->Add();
  r.ts = ts;
  r.delta = delta;
  switch (track) {
    case kTrackVenue:
      r.kind = ClusterRecordKind::kVenueVisitors;
      r.key.assign(key);
      return;
    case kTrackCommunitySeen:
      r.kind = ClusterRecordKind::kCommunitySeen;
      r.key.assign(key);
      return;
    default:
      break;
  }
  static constexpr CityCounter kCounters[] = {CityCounter::kActiveCase, CityCounter::kActiveCommunity,
                                              CityCounter::kFeverCase, CityCounter::kFeverCommunity};
  r.kind = ClusterRecordKind::kCityCount;
  r.key.assign(CityCounterName(kCounters[track]));
}

void PersonStage::Presence(std::string_view person, PersonState& s, TimerService* timers,
                           uint8_t track, std::string_view key, TimestampMs ts) {
  deltas_.clear();
  const TimestampMs end = AddOccurrence(&s.presence, track, key, ts, PresenceWindow(track), &deltas_);
  for (const StampedDelta& d : deltas_) EmitPresenceDelta(track, key, d.ts, d.delta);
  // One timer per person, at or before the earliest open end.
  if (end < s.presence_timer) {
    if (s.presence_timer != kNoPresenceTimer) timers->Cancel(s.presence_timer, kTimerPresence, person);
    timers->Schedule(end, kTimerPresence, person);
    s.presence_timer = end;
  }
}

void PersonStage::ClosePresence(std::string_view person, PersonState& s, TimerService* timers) {
  s.presence_timer = kNoPresenceTimer;
  if (cluster_out_ == nullptr) return;
  const TimestampMs next = CloseDueSpans(
      &s.presence, watermark_, [this](uint8_t track) { return PresenceWindow(track); },
      [this](const PresenceSpan& span, TimestampMs end) {
        EmitPresenceDelta(span.track, span.key, end, -1);
      });
  if (next != kNoPresenceTimer) {
    timers->Schedule(next, kTimerPresence, person);
    s.presence_timer = next;
  }
}

void PersonStage::EmitFeverLink(std::string_view venue, const Event& fever, TimestampMs scan_ts) {
  ClusterRecord& r = cluster_out_->Add();
  r.kind = ClusterRecordKind::kFeverLink;
  r.key.assign(venue);
  r.ts = fever.ts;
  r.person_id.assign(fever.person_id);
  r.event_id.assign(fever.event_id);
  r.clinic_id.assign(fever.clinic_id);
  r.aux_ts = scan_ts;
}

void PersonStage::EmitFeverLink(std::string_view venue, std::string_view person,
                                const FeverRecord& f, TimestampMs scan_ts) {
  ClusterRecord& r = cluster_out_->Add();
  r.kind = ClusterRecordKind::kFeverLink;
  r.key.assign(venue);
  r.ts = f.ts;
  r.person_id.assign(person);
  r.event_id.assign(f.event_id);
  r.clinic_id.assign(f.clinic_id);
  r.aux_ts = scan_ts;
}

void PersonStage::EmitContractLinks(const Event& e, const PersonState& s) {
  const DurationMs window = opts_.rules.cluster_case_window;
  // One link per distinct venue scanned in [a - window, a], with its latest scan.
  venues_scratch_.clear();
  for (const VisitRecord& v : s.trail) {
    if (v.ts < e.ts - window || v.ts > e.ts) continue;
    auto it = std::find_if(venues_scratch_.begin(), venues_scratch_.end(),
                           [&](const auto& p) { return p.first == v.venue_id; });
    if (it == venues_scratch_.end()) {
      venues_scratch_.emplace_back(v.venue_id, v.ts);
    } else {
      it->second = std::max(it->second, v.ts);
    }
  }
  for (const auto& [venue, scan_ts] : venues_scratch_) EmitFeverLink(venue, e, scan_ts);
}

void PersonStage::EmitVenueDayLink(std::string_view venue, std::string_view person,
                                   std::string_view event_id, std::string_view clinic_id,
                                   TimestampMs fever_ts, TimestampMs scan_ts) {
  ClusterRecord& r = cluster_out_->Add();
  r.kind = ClusterRecordKind::kVenueDayLink;
  r.key.assign(venue);
  r.ts = fever_ts;
  r.person_id.assign(person);
  r.event_id.assign(event_id);
  r.clinic_id.assign(clinic_id);
  r.aux_ts = scan_ts;
}

void PersonStage::EmitVenueDayScan(const Event& e, const PersonState& s) {
  const int tz = opts_.tz_offset_minutes;
  const int64_t day = LocalDay(e.ts, tz);
  // The person's earliest known scan of this venue on this day. The trail
  // keeps at least the case window plus the lateness, so every scan of the
  // day that can still matter is there.
  TimestampMs first = kNoScan;
  for (const VisitRecord& v : s.trail) {
    if (v.venue_id == e.venue_id && v.ts < first && LocalDay(v.ts, tz) == day) first = v.ts;
  }
  if (first > e.ts) {
    // A first visit of the day, or a late one before the first known: the
    // +1 moves to the earliest scan, so the count at any a stays exact.
    if (first != kNoScan) EmitVenueDayVisitorDelta(e.venue_id, first, -1);
    EmitVenueDayVisitorDelta(e.venue_id, e.ts, 1);
  }
  // A scan that arrives after a fever visit it precedes: link that visit to
  // this venue-day too, unless a known scan of the same venue-day did.
  const DurationMs window = opts_.rules.cluster_case_window;
  for (const FeverRecord& f : s.fevers) {
    if (e.ts < f.ts - window || e.ts > f.ts) continue;
    const bool linked = std::any_of(s.trail.begin(), s.trail.end(), [&](const VisitRecord& v) {
      return v.venue_id == e.venue_id && v.ts >= f.ts - window && v.ts <= f.ts &&
             LocalDay(v.ts, tz) == day;
    });
    if (!linked) EmitVenueDayLink(e.venue_id, e.person_id, f.event_id, f.clinic_id, f.ts, e.ts);
  }
}

void PersonStage::EmitVenueDayVisitorDelta(std::string_view venue, TimestampMs ts,
                                           int32_t delta) {
  ClusterRecord& r = cluster_out_->Add();
  r.kind = ClusterRecordKind::kVenueDayVisitor;
  r.key.assign(venue);
  r.ts = ts;
  r.delta = delta;
}

void PersonStage::EmitVenueDayLinks(const Event& e, const PersonState& s) {
  const DurationMs window = opts_.rules.cluster_case_window;
  const int tz = opts_.tz_offset_minutes;
  // One link per distinct (venue, local day) scanned in [a - window, a],
  // with the latest scan of that day.
  venue_days_scratch_.clear();
  for (const VisitRecord& v : s.trail) {
    if (v.ts < e.ts - window || v.ts > e.ts) continue;
    const int64_t day = LocalDay(v.ts, tz);
    auto it = std::find_if(venue_days_scratch_.begin(), venue_days_scratch_.end(),
                           [&](const VenueDayScratch& p) {
                             return p.day == day && p.venue == v.venue_id;
                           });
    if (it == venue_days_scratch_.end()) {
      venue_days_scratch_.push_back({v.venue_id, day, v.ts});
    } else {
      it->scan_ts = std::max(it->scan_ts, v.ts);
    }
  }
  for (const VenueDayScratch& p : venue_days_scratch_) {
    EmitVenueDayLink(p.venue, e.person_id, e.event_id, e.clinic_id, e.ts, p.scan_ts);
  }
}

void PersonStage::EmitClusterRecords(const Event& e, PersonState& s, TimerService* timers) {
  const DurationMs window = opts_.rules.cluster_case_window;
  // Shortest window first: its end is the person's timer, and the longer
  // spans then never move it (one timer write per new person, not three).
  Presence(e.person_id, s, timers, kTrackActiveCommunity, {}, e.ts);
  Presence(e.person_id, s, timers, kTrackActiveCase, {}, e.ts);
  const bool venue_day = opts_.rules.cluster_method == ClusterMethod::kVenueDay;
  if (e.type == EventType::kScan) {
    if (!ClusterVenue(e.venue_kind)) return;
    if (venue_day) {
      EmitVenueDayScan(e, s);
      ClusterRecord& r = cluster_out_->Add();
      r.kind = ClusterRecordKind::kVenueScan;
      r.key.assign(e.venue_id);
      r.ts = e.ts;
      return;
    }
    // A scan that arrives after a fever visit it precedes: link that visit
    // too, unless an earlier scan of the venue already did.
    for (const FeverRecord& f : s.fevers) {
      if (e.ts < f.ts - window || e.ts > f.ts) continue;
      const bool linked = std::any_of(s.trail.begin(), s.trail.end(), [&](const VisitRecord& v) {
        return v.venue_id == e.venue_id && v.ts >= f.ts - window && v.ts <= f.ts;
      });
      if (!linked) EmitFeverLink(e.venue_id, e.person_id, f, e.ts);
    }
    Presence(e.person_id, s, timers, kTrackVenue, e.venue_id, e.ts);
    ClusterRecord& r = cluster_out_->Add();
    r.kind = ClusterRecordKind::kVenueScan;
    r.key.assign(e.venue_id);
    r.ts = e.ts;
    return;
  }
  if (e.type != EventType::kFever) return;
  if (venue_day) {
    EmitVenueDayLinks(e, s);
  } else {
    EmitContractLinks(e, s);
  }
  std::string_view community = e.community_id;
  if (community.empty()) {
    if (const PersonInfo* info = registry_->Find(e.person_id)) community = info->community_id;
  }
  if (!community.empty()) {
    ClusterRecord& r = cluster_out_->Add();
    r.kind = ClusterRecordKind::kCommunityFever;
    r.key.assign(community);
    r.ts = e.ts;
    r.person_id.assign(e.person_id);
    r.event_id.assign(e.event_id);
    r.clinic_id.assign(e.clinic_id);
  }
  ClusterRecord& visit = cluster_out_->Add();
  visit.kind = ClusterRecordKind::kClinicVisit;
  visit.key.assign(e.clinic_id);
  visit.ts = e.ts;
  visit.person_id.assign(e.person_id);
  visit.event_id.assign(e.event_id);
  Presence(e.person_id, s, timers, kTrackFeverCommunity, {}, e.ts);
  Presence(e.person_id, s, timers, kTrackFeverCase, {}, e.ts);
  if (!e.community_id.empty()) {
    Presence(e.person_id, s, timers, kTrackCommunitySeen, e.community_id, e.ts);
  }
}

Status PersonStage::FireTimer(uint16_t partition, const Timer& t, std::vector<Alert>* alerts) {
  if (t.kind == kTimerPresence) {
    Result<PersonState*> got = cache_.Get(partition, t.key);
    if (!got.ok()) return got.status();
    if (cluster_out_ != nullptr) cluster_out_->set_source(partition);
    ClosePresence(t.key, **got, TimersOf(partition));
    return Status::Ok();
  }
  if (t.kind != kTimerTestDeadline) return Status::Ok();
  const size_t nul = t.key.find('\0');
  if (nul == std::string::npos) return Status::Corruption("test-deadline timer key");
  const std::string_view person = std::string_view(t.key).substr(0, nul);
  const std::string_view entry_id = std::string_view(t.key).substr(nul + 1);
  Result<PersonState*> got = cache_.Get(partition, person);
  if (!got.ok()) return got.status();
  RuleContext ctx{opts_.rules, opts_.tz_offset_minutes, person, **got, alerts,
                  TimersOf(partition)};
  ReturneeRule::OnTestDeadline(ctx, entry_id);
  return Status::Ok();
}

Status PersonStage::OnWatermark(TimestampMs wm, std::vector<Alert>* alerts) {
  watermark_ = std::max(watermark_, wm);
  // Called per event: while no partition's timer can be due (the watch's
  // lower bound) and none failed, skip the walk over every partition (two
  // walks over 128 partitions per event were 2% of Kafka mode's samples).
  while (watermark_ >= timer_watch_.earliest_due) {
    // The earliest due timer over all partitions, so firing order does not
    // depend on how partitions are spread over instances.
    uint16_t best_partition = 0;
    TimerService* best = nullptr;
    TimestampMs best_due = INT64_MAX;
    TimestampMs earliest = INT64_MAX;
    for (const auto& [p, timers] : timers_) {
      const TimestampMs due = timers->next_due();
      earliest = std::min(earliest, due);
      if (due <= watermark_ && due < best_due) {
        best = timers.get();
        best_partition = p;
        best_due = due;
      }
    }
    if (best == nullptr) {
      timer_watch_.earliest_due = earliest;  // the walk's true minimum
      break;
    }
    Timer t;
    if (!best->PopDue(watermark_, &t)) break;
    EPI_RETURN_IF_ERROR(FireTimer(best_partition, t, alerts));
  }
  // PopDue is false also when refilling a timer head from the store failed
  // (so may a Cancel's refill be).
  if (timer_watch_.failed) {
    for (const auto& [p, timers] : timers_) EPI_RETURN_IF_ERROR(timers->status());
  }
  if (watermark_ != kMinTimestamp && opts_.sweep_interval > 0) {
    const int64_t bucket = watermark_ / opts_.sweep_interval;
    if (bucket != last_sweep_bucket_) {
      if (last_sweep_bucket_ != INT64_MIN) EPI_RETURN_IF_ERROR(Sweep(watermark_));
      last_sweep_bucket_ = bucket;
    }
  }
  return Status::Ok();
}

void PersonStage::ResumeSweepsAt(TimestampMs wm) {
  if (wm == kMinTimestamp || opts_.sweep_interval <= 0) return;
  last_sweep_bucket_ = wm / opts_.sweep_interval;
}

void PersonStage::Prune(PersonState& s) const {
  if (watermark_ == kMinTimestamp) return;
  const DurationMs trail = std::max(opts_.rules.venue_trail, opts_.rules.cluster_case_window);
  s.Prune(watermark_ - opts_.retention, watermark_ - trail - opts_.allowed_lateness);
  // A closed span ending at or before the oldest time an accepted event can
  // carry can no longer change: forget it.
  PruneClosedSpans(&s.presence, watermark_ - opts_.allowed_lateness,
                   [this](uint8_t track) { return PresenceWindow(track); });
}

void PersonStage::PlanPrefetch(uint16_t partition, std::string_view person,
                               PrefetchBatch* batch) const {
  if (person.empty() || cache_.MaybeContains(person) || TimersOf(partition) == nullptr) {
    return;
  }
  batch->keys.emplace_back();
  PersonCache::BuildStateKey(partition, person, &batch->keys.back());
}

void PersonStage::InstallPrefetched(PrefetchBatch* batch) {
  ++prefetch_.batches;
  if (!batch->read_status.ok()) {
    ++prefetch_.failed;
    return;
  }
  prefetch_.keys += batch->keys.size();
  for (size_t i = 0; i < batch->keys.size(); ++i) {
    if (batch->results[i] == PrefetchBatch::kUnusable) continue;
    const std::string& key = batch->keys[i];
    uint16_t partition = 0;
    std::string_view person;
    if (!PersonCache::ParseStateKey(key, &partition, &person) ||
        TimersOf(partition) == nullptr) {
      continue;
    }
    switch (cache_.Install(partition, person, &batch->states[i],
                           [&] { return store_->UnchangedSince(key, batch->version); })) {
      case PersonCache::InstallResult::kCached:
        ++prefetch_.cached;
        break;
      case PersonCache::InstallResult::kStale:
        ++prefetch_.stale;
        break;
      case PersonCache::InstallResult::kInstalled:
        ++prefetch_.installed;
        break;
    }
  }
}

Status PersonStage::Flush() {
  for (auto& [partition, timers] : timers_) timers->Flush();
  return cache_.Flush();
}

Status PersonStage::Sweep(TimestampMs wm) {
  EPI_RETURN_IF_ERROR(Flush());
  const TimestampMs horizon = wm - opts_.retention;
  const TimestampMs index_horizon =
      wm - std::max(opts_.rules.retroactive_window, opts_.rules.risk_lookback) -
      opts_.allowed_lateness;
  // Every state: expired (deleted), pruned (rewritten) or left as it is.
  struct Change {
    uint16_t partition;
    std::string person;
    std::string bytes;  // empty: expired
  };
  std::vector<Change> changes;
  PersonState s;  // reused: its lists keep their allocations
  Status decode_error;
  auto visit = [&](uint16_t partition, std::string_view person, std::string_view bytes) {
    Status st = s.Decode(bytes);
    if (!st.ok()) {
      decode_error = st;
      return false;
    }
    if (s.last_ts < horizon) {
      changes.push_back({partition, std::string(person), {}});
      return true;
    }
    const size_t before = RecordCount(s);
    Prune(s);
    if (RecordCount(s) != before) {
      changes.push_back({partition, std::string(person), {}});
      s.Encode(&changes.back().bytes);
    }
    return true;
  };
  // Partitions whose every stored state is cached encoded (after the flush:
  // the same bytes) are walked in memory, not read back from RocksDB.
  std::vector<bool> in_memory;
  bool any_in_memory = false;
  for (auto& [partition, timers] : timers_) {
    if (in_memory.size() <= partition) in_memory.resize(size_t{partition} + 1);
    in_memory[partition] = cache_.HoldsEveryStoredState(partition);
    any_in_memory = any_in_memory || in_memory[partition];
  }
  if (any_in_memory) {
    cache_.ForEachEncoded([&](uint16_t partition, std::string_view person, std::string_view bytes) {
      if (partition >= in_memory.size() || !in_memory[partition]) return true;
      return visit(partition, person, bytes);
    });
    EPI_RETURN_IF_ERROR(decode_error);
  }
  for (const PartitionTimers& owned : timers_) {
    // A plain variable: clang before 16 cannot capture structured bindings.
    const uint16_t partition = owned.partition;
    if (in_memory[partition]) continue;
    const std::string sprefix = PersonCache::StatePrefix(partition);
    EPI_RETURN_IF_ERROR(store_->Scan(sprefix, PrefixEnd(sprefix), [&](std::string_view k, std::string_view v) {
      return visit(partition, k.substr(sprefix.size()), v);
    }));
    EPI_RETURN_IF_ERROR(decode_error);
  }
  // Key order: cheap memtable inserts.
  std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return std::tie(a.partition, a.person) < std::tie(b.partition, b.person);
  });
  for (const Change& c : changes) {
    if (c.bytes.empty()) {
      cache_.Erase(c.partition, c.person);
    } else {
      cache_.Rewrite(c.partition, c.person, c.bytes);
    }
  }
  for (auto& [partition, timers] : timers_) {
    std::vector<std::string> old_index;
    const std::string iprefix = state_keys::PartitionPrefix(partition, kIndexSub);
    EPI_RETURN_IF_ERROR(store_->Scan(iprefix, PrefixEnd(iprefix), [&](std::string_view k, std::string_view) {
      const size_t nul = k.find('\0', iprefix.size());
      if (nul == std::string_view::npos || k.size() < nul + 9) return true;
      ByteReader r(k.substr(nul + 1, 8));
      if (r.OrderedI64() < index_horizon) old_index.emplace_back(k);
      return true;
    }));
    for (const std::string& k : old_index) store_->Delete(k);
  }
  return Status::Ok();
}

}  // namespace epistream
