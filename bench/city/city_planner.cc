#include "bench/city/city_planner.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "bench/city/region_catalog.h"

namespace epistream {
namespace {

// Trip length in days (1..14), shares in percent: mostly short visits.
constexpr int kTripDayShares[14] = {15, 20, 18, 12, 9, 6, 6,
                                    3,  2,  3,  1,  1, 1, 3};
constexpr double kMeanTripDays = 4.3;

int TripDays(CityRng* rng) {
  auto x = static_cast<int>(rng->Below(100));
  for (int i = 0; i < 14; ++i) {
    x -= kTripDayShares[i];
    if (x < 0) return i + 1;
  }
  return 14;
}

// Zhejiang, Shanghai, Jiangsu, Anhui: close enough for rail and road only.
bool Nearby(std::string_view code) {
  return code.starts_with("31") || code.starts_with("32") ||
         code.starts_with("33") || code.starts_with("34");
}

std::vector<double> Weights(std::span<const WeightedRegion> regions) {
  std::vector<double> w;
  for (const WeightedRegion& r : regions) w.push_back(r.weight);
  return w;
}

int DayOfYear(const std::string& date) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(date.c_str(), "%d-%d-%d", &y, &m, &d) != 3) return 0;
  return static_cast<int>(
      DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) -
      DaysFromCivil(y, 1, 1));
}

}  // namespace

CityPlanner::CityPlanner(const CityConfig& config, const CityModel& model,
                         const RiskSchedule& risk, TimestampMs start,
                         GroundTruth* truth)
    : config_(config),
      model_(model),
      risk_(risk),
      truth_(truth),
      start_(start),
      end_(start + config.days * kDayMs),
      start_day_of_year_(DayOfYear(config.start_date)),
      domestic_table_(Weights(RegionCatalog::DomesticOrigins())),
      port_table_(Weights(RegionCatalog::EntryPorts())),
      country_table_(Weights(RegionCatalog::Countries())) {
  // Venue outbreaks start on day 1 or later (the venue is picked from the
  // previous day's visitor counts) and early enough for fevers 2-5 days later.
  if (config.days >= 2) {
    for (int i = 0; i < config.venue_outbreaks; ++i) {
      const uint64_t h =
          HashKey(config.seed, P(Purpose::kOutbreak), static_cast<uint64_t>(i));
      const int span = std::max(1, config.days - 6);
      venue_outbreaks_.push_back(
          {1 + static_cast<int>(ToBelow(h, span)), static_cast<uint32_t>(i)});
    }
  }
  for (int i = 0; i < config.community_outbreaks; ++i) {
    const uint64_t h = HashKey(config.seed, P(Purpose::kCommunityOutbreak),
                               static_cast<uint64_t>(i));
    const int span =
        std::max(1, config.days - config.community_outbreak_spread_days + 1);
    community_outbreaks_.emplace_back(static_cast<int>(ToBelow(h, span)),
                                      static_cast<uint32_t>(i));
  }
}

bool CityPlanner::AddItem(uint32_t person, PlannedItem* item) {
  if (item->ts < start_ || item->ts >= end_) return false;
  item->day = DayOf(item->ts);
  PersonSpecial& sp = specials_[person];
  item->seq = sp.NextSeq(item->day);
  sp.items.push_back(*item);
  return true;
}

EventRef CityPlanner::RefOf(const PlannedItem& item, uint32_t person) const {
  const char type = item.kind == ItemKind::kScan        ? 's'
                    : item.kind == ItemKind::kTransport ? 't'
                                                        : 'f';
  return {type, item.day, person, item.seq, item.ts};
}

std::optional<TimestampMs> CityPlanner::DaytimeIn(TimestampMs from,
                                                  TimestampMs until,
                                                  CityRng* rng) const {
  if (until <= from) return std::nullopt;
  for (int attempt = 0; attempt < 12; ++attempt) {
    const TimestampMs t = from + rng->Range(0, until - from);
    const int32_t ms = MsOfDay(t);
    if (ms >= 9 * kHourMs && ms < 21 * kHourMs) return t;
  }
  return std::nullopt;
}

double CityPlanner::FeverRate(int day, Occupation occupation) const {
  // Seasonal swing, triangular over the year with its peak mid-January.
  const int doy = (start_day_of_year_ + day) % 365;
  int dist = doy > 14 ? doy - 14 : 14 - doy;
  dist = std::min(dist, 365 - dist);
  const double season =
      1.0 + config_.fever_seasonality * (1.0 - 2.0 * dist / 182.5);
  const double key =
      occupation == Occupation::kOther ? 1.0 : config_.key_worker_fever_factor;
  return config_.fever_rate_per_100k / 100000.0 * season * key;
}

uint32_t CityPlanner::TestSiteFor(uint32_t person, uint64_t random) const {
  const PersonProfile p = model_.Profile(person);
  if (ToUnit(Mix64(random)) < 0.6)
    return model_.Favourite(p, VenueKind::kTestSite);
  return model_.SampleVenue(VenueKind::kTestSite, p.district, random);
}

void CityPlanner::PlanInitial() {
  const double inbound_p = config_.inbound_arrival_rate * config_.days;
  const double away_p = config_.trip_rate * kMeanTripDays;
  for (uint32_t p = 0; p < model_.persons(); ++p) {
    const uint64_t h = HashKey(config_.seed, P(Purpose::kInitialAway), p);
    const double u_inbound = ToUnit(h);
    const double u_away = ToUnit(Mix64(h));
    if (u_inbound < inbound_p) {
      // Abroad since before the period; back on a day of it.
      CityRng rng(HashCombine(h, 1));
      ArrivalPlan plan;
      plan.person = p;
      plan.category = TravelCategory::kInboundReleased;
      const double m = rng.Uniform();
      plan.mode = m < 0.7    ? TransportMode::kAir
                  : m < 0.95 ? TransportMode::kRail
                             : TransportMode::kRoad;
      plan.origin =
          RegionCatalog::Countries()[country_table_.Sample(rng.Next())].code;
      plan.trip_regions = {
          plan.origin,
          std::string(
              RegionCatalog::EntryPorts()[port_table_.Sample(rng.Next())]
                  .code)};
      plan.ts = ArrivalTime(static_cast<int>(rng.Below(config_.days)),
                            plan.mode, &rng);
      specials_[p].windows.push_back(
          {start_ - 60 * kDayMs, plan.ts, WindowKind::kAway});
      PlanArrival(plan);
      continue;
    }
    if (u_away >= away_p) continue;
    const PersonProfile profile = model_.Profile(p);
    if (profile.group == AgeGroup::kChild) continue;
    if (profile.group == AgeGroup::kElderly && u_away >= away_p / 2) continue;
    // On a trip begun before the period: back after the rest of it.
    CityRng rng(HashCombine(h, 2));
    ArrivalPlan plan;
    plan.person = p;
    plan.category = TravelCategory::kDomestic;
    DrawDomesticTrip(&rng, &plan);
    const int days_left = static_cast<int>(rng.Below(TripDays(&rng)));
    if (days_left >= config_.days) {
      specials_[p].windows.push_back(
          {start_ - 30 * kDayMs, kNeverMs, WindowKind::kAway});
      continue;
    }
    plan.ts = ArrivalTime(days_left, plan.mode, &rng);
    specials_[p].windows.push_back(
        {start_ - 30 * kDayMs, plan.ts, WindowKind::kAway});
    PlanArrival(plan);
  }
}

void CityPlanner::DrawDomesticTrip(CityRng* rng, ArrivalPlan* plan) const {
  const auto origins = RegionCatalog::DomesticOrigins();
  plan->origin = origins[domestic_table_.Sample(rng->Next())].code;
  const double m = rng->Uniform();
  if (Nearby(plan->origin)) {
    plan->mode = m < 0.6    ? TransportMode::kRail
                 : m < 0.98 ? TransportMode::kRoad
                            : TransportMode::kWater;
  } else {
    plan->mode = m < 0.5    ? TransportMode::kRail
                 : m < 0.95 ? TransportMode::kAir
                            : TransportMode::kRoad;
  }
  // The travel card: the origin, sometimes down to the street, and other
  // places visited on the way.
  plan->trip_regions.clear();
  if (rng->Chance(0.3)) {
    char street[8];
    std::snprintf(street, sizeof(street), "%03d",
                  static_cast<int>(rng->Range(1, 16)));
    plan->trip_regions.push_back(plan->origin + street);
  } else {
    plan->trip_regions.push_back(plan->origin);
  }
  const int extra = rng->Chance(0.25) ? (rng->Chance(0.3) ? 2 : 1) : 0;
  for (int i = 0; i < extra; ++i) {
    std::string other(origins[domestic_table_.Sample(rng->Next())].code);
    if (other != plan->origin &&
        std::find(plan->trip_regions.begin(), plan->trip_regions.end(),
                  other) == plan->trip_regions.end()) {
      plan->trip_regions.push_back(std::move(other));
    }
  }
}

TimestampMs CityPlanner::ArrivalTime(int day, TransportMode mode,
                                     CityRng* rng) const {
  TimestampMs from = 7 * kHourMs, to = 21 * kHourMs;  // road
  switch (mode) {
    case TransportMode::kRail:
      from = 6 * kHourMs + 30 * kMinuteMs;
      to = 23 * kHourMs + 30 * kMinuteMs;
      break;
    case TransportMode::kAir:
      from = 7 * kHourMs + 30 * kMinuteMs;
      to = kDayMs - 1;
      break;
    case TransportMode::kWater:
      from = 8 * kHourMs;
      to = 18 * kHourMs;
      break;
    default:
      break;
  }
  return DayStart(day) + rng->Range(from, to);
}

void CityPlanner::PlanTrip(uint32_t person, int day,
                           const PersonProfile& profile) {
  (void)profile;
  CityRng rng(HashKey(config_.seed, P(Purpose::kTripDetails), person,
                      static_cast<uint64_t>(day)));
  ArrivalPlan plan;
  plan.person = person;
  plan.category = TravelCategory::kDomestic;
  DrawDomesticTrip(&rng, &plan);
  const TimestampMs depart =
      DayStart(day) + rng.Range(7 * kHourMs, 21 * kHourMs);
  // Leaving: a scan at the station or airport.
  PlannedItem leave;
  leave.kind = ItemKind::kScan;
  leave.ts = depart - rng.Range(20 * kMinuteMs, 60 * kMinuteMs);
  leave.venue = model_.SampleHub(plan.mode, rng.Next());
  (void)AddItem(person, &leave);
  const int back_day = day + TripDays(&rng);
  PersonSpecial& sp = specials_[person];
  if (back_day >= config_.days) {
    sp.windows.push_back({depart, kNeverMs, WindowKind::kAway});
    return;
  }
  plan.ts = ArrivalTime(back_day, plan.mode, &rng);
  sp.windows.push_back({depart, plan.ts, WindowKind::kAway});
  PlanArrival(plan);
}

void CityPlanner::PlanArrival(const ArrivalPlan& plan) {
  const uint32_t person = plan.person;
  const TimestampMs t = plan.ts;
  CityRng rng(HashKey(config_.seed, P(Purpose::kArrival), person,
                      static_cast<uint64_t>(t)));
  const bool inbound = plan.category == TravelCategory::kInboundReleased;

  PlannedItem entry_item;
  entry_item.kind = ItemKind::kTransport;
  entry_item.ts = t;
  entry_item.venue = model_.SampleHub(plan.mode, rng.Next());
  entry_item.mode = plan.mode;
  entry_item.category = plan.category;
  std::string& json = entry_item.regions_json;
  json = "\"origin_region\":\"" + plan.origin + "\",\"trip_regions\":[";
  for (size_t i = 0; i < plan.trip_regions.size(); ++i) {
    json += (i ? ",\"" : "\"") + plan.trip_regions[i] + "\"";
  }
  json += "]";
  if (!AddItem(person, &entry_item)) return;
  const EventRef entry = RefOf(entry_item, person);
  PersonSpecial& sp = specials_[person];

  // The on-arrival test (落地检), within 24 h, in the daytime.
  bool tested = false;
  EventRef test_ref;
  if (rng.Chance(inbound ? config_.inbound_test_compliance
                         : config_.arrival_test_compliance)) {
    TimestampMs when = t + rng.Range(40 * kMinuteMs, 3 * kHourMs);
    const int32_t ms = MsOfDay(when);
    if (ms < 7 * kHourMs) {
      when += 7 * kHourMs - ms + rng.Range(0, 2 * kHourMs);
    } else if (ms >= 22 * kHourMs) {
      when += kDayMs - ms + 7 * kHourMs + rng.Range(0, 2 * kHourMs);
    }
    PlannedItem test;
    test.kind = ItemKind::kScan;
    test.ts = when;
    test.venue = TestSiteFor(person, rng.Next());
    if (AddItem(person, &test)) {
      tested = true;
      test_ref = RefOf(test, person);
    }
  }
  if (!tested)
    sp.windows.push_back(
        {t, t + 24 * kHourMs + kMinuteMs, WindowKind::kNoTest});

  // Risk areas, including listings that come later (retroactive).
  matched_.clear();
  risk_.Match(plan.origin, plan.trip_regions, t, &matched_);
  const bool covered = !matched_.empty();
  // At most one alert per person and area: an area this person was already
  // flagged for (within the state retention) does not flag again.
  std::erase_if(matched_, [&](uint32_t li) {
    for (const Exposure& e : sp.exposures) {
      if (risk_.listings()[e.listing].region == risk_.listings()[li].region) {
        return true;
      }
    }
    return false;
  });
  if (!matched_.empty()) {
    ReturneeFact f;
    f.entry = entry;
    f.origin_region = plan.origin;
    f.trip_regions = plan.trip_regions;
    f.category = plan.category;
    f.listings = matched_;
    f.tested = tested;
    f.test = test_ref;
    truth_->returnees.push_back(std::move(f));
    TimestampMs high_known = kNeverMs, medium_known = kNeverMs;
    for (uint32_t li : matched_) {
      const RiskListing& l = risk_.listings()[li];
      sp.exposures.push_back({t, entry.day, entry.seq, li});
      TimestampMs& known =
          l.level == RiskLevel::kHigh ? high_known : medium_known;
      known = std::min(known, std::max(t, l.listed_at));
    }
    const TimestampMs q_until = t + config_.high_risk_quarantine_days * kDayMs;
    if (high_known < q_until)
      PlanQuarantine(person, entry, high_known, q_until, false, &rng);
    const TimestampMs y_until = t + config_.medium_risk_code_days * kDayMs;
    if (medium_known < y_until)
      sp.codes.push_back({medium_known, y_until, CodeColor::kYellow});
  } else if (!covered) {
    const int64_t li = risk_.MatchDelisted(plan.origin, plan.trip_regions, t);
    if (li >= 0)
      truth_->delisted_arrivals.push_back({entry, static_cast<uint32_t>(li)});
  }
  if (inbound) {
    PlanQuarantine(person, entry, t,
                   t + config_.inbound_quarantine_days * kDayMs, true, &rng);
  }

  // Infected on the trip: fever 1-7 days after the arrival.
  if (rng.Chance(covered ? config_.returnee_infection_rate_listed
                         : config_.returnee_infection_rate)) {
    TimestampMs f = t + rng.Range(kDayMs, 7 * kDayMs);
    if (MsOfDay(f) < kHourMs) f += kHourMs;
    (void)PlanFever(person, f, rng.Next());
  }
}

void CityPlanner::PlanQuarantine(uint32_t person, const EventRef& entry,
                                 TimestampMs from, TimestampMs until,
                                 bool inbound, CityRng* rng) {
  PersonSpecial& sp = specials_[person];
  sp.windows.push_back({from, until, WindowKind::kQuarantine});
  sp.codes.push_back({from, until, CodeColor::kRed});
  // Tests during quarantine, in the morning (test sites are exempt).
  static constexpr int kInboundTestDays[] = {4, 7, 13};
  static constexpr int kHighRiskTestDays[] = {2, 5};
  const std::span<const int> test_days =
      inbound ? std::span<const int>(kInboundTestDays)
              : std::span<const int>(kHighRiskTestDays);
  const PersonProfile profile = model_.Profile(person);
  for (int k : test_days) {
    PlannedItem test;
    test.kind = ItemKind::kScan;
    test.ts = DayStart(DayOf(entry.ts + k * kDayMs)) +
              rng->Range(8 * kHourMs, 11 * kHourMs);
    test.venue = TestSiteFor(person, rng->Next());
    if (test.ts >= from && test.ts < until) (void)AddItem(person, &test);
  }
  if (!rng->Chance(inbound ? config_.inbound_break_rate
                           : config_.high_risk_break_rate))
    return;
  BreachFact b;
  b.entry = entry;
  b.inbound = inbound;
  b.quarantine_from = from;
  b.quarantine_until = until;
  const int breaches = rng->Chance(0.3) ? 2 : 1;
  int used_day = -1;
  for (int k = 0; k < breaches; ++k) {
    for (int attempt = 0; attempt < 4; ++attempt) {
      const auto when =
          DaytimeIn(from + kHourMs, std::min(until - kHourMs, end_), rng);
      if (!when) break;
      if (DayOf(*when) == used_day)
        continue;  // one alert per local day: use another day
      const double u = rng->Uniform();
      const VenueKind kind = u < 0.5    ? VenueKind::kMall
                             : u < 0.75 ? VenueKind::kSupermarket
                                        : VenueKind::kRestaurant;
      PlannedItem scan;
      scan.kind = ItemKind::kScan;
      scan.ts = *when;
      scan.venue = model_.SampleVenue(kind, profile.district, rng->Next());
      if (scan.venue == kNoVenue || !AddItem(person, &scan)) break;
      b.breaches.emplace_back(RefOf(scan, person), scan.venue);
      used_day = DayOf(*when);
      break;
    }
  }
  if (!b.breaches.empty()) truth_->breakers.push_back(std::move(b));
}

std::optional<EventRef> CityPlanner::PlanFever(uint32_t person, TimestampMs ts,
                                               uint64_t random) {
  if (ts >= end_ || ts < start_ + kHourMs) return std::nullopt;
  CityRng rng(random);
  const PersonProfile profile = model_.Profile(person);
  const uint32_t hospital =
      model_.SampleVenue(VenueKind::kHospital, profile.district, rng.Next());
  // Entering the hospital (a scan), then the fever clinic visit.
  PlannedItem scan;
  scan.kind = ItemKind::kScan;
  scan.ts = ts - rng.Range(5 * kMinuteMs, 30 * kMinuteMs);
  scan.venue = hospital;
  PlannedItem fever;
  fever.kind = ItemKind::kFever;
  fever.ts = ts;
  fever.venue = hospital;
  // 37.3 .. 40.0 C, most visits below 38.5.
  const double u1 = rng.Uniform(), u2 = rng.Uniform();
  fever.temp_tenths =
      static_cast<uint16_t>(373 + static_cast<int>(28.0 * u1 * u2));
  static constexpr double kSymptomRates[] = {0.55, 0.35, 0.4, 0.3,
                                             0.25, 0.15, 0.05};
  for (int i = 0; i < 7; ++i) {
    if (rng.Chance(kSymptomRates[i]))
      fever.symptoms |= static_cast<uint8_t>(1u << i);
  }
  if (!AddItem(person, &scan) || !AddItem(person, &fever)) return std::nullopt;
  PersonSpecial& sp = specials_[person];
  sp.windows.push_back(
      {ts - 4 * kHourMs, ts + 48 * kHourMs, WindowKind::kSick});
  const EventRef ref = RefOf(fever, person);
  if (profile.occupation != Occupation::kOther) {
    truth_->key_worker_fevers.push_back({ref, profile.occupation});
  }
  // Within 14 days after a flagged entry, also when the listing comes after
  // the fever (the alert is then retroactive, like the entry's own).
  for (const Exposure& e : sp.exposures) {
    if (e.entry_ts <= ts && ts - e.entry_ts <= RiskSchedule::kLookback) {
      truth_->fever_returnees.push_back(
          {ref, EventRef{'t', e.entry_day, person, e.entry_seq, e.entry_ts},
           e.listing});
      break;
    }
  }
  return ref;
}

void CityPlanner::PlanDay(int day, std::span<const uint32_t> visits_yesterday) {
  watched_.clear();
  for (PendingOutbreak& o : venue_outbreaks_) {
    if (o.day == day) StartVenueOutbreak(&o, day, visits_yesterday);
  }
  for (const auto& [d, number] : community_outbreaks_) {
    if (d == day) StartCommunityOutbreak(number, day);
  }
  std::sort(watched_.begin(), watched_.end());
  watched_.erase(std::unique(watched_.begin(), watched_.end()), watched_.end());

  // Trips and background fevers: one hash per person, details only for the few.
  const double fever_max = FeverRate(day, Occupation::kMedical);
  const TimestampMs day_start = DayStart(day);
  for (uint32_t p = 0; p < model_.persons(); ++p) {
    const uint64_t h = HashKey(config_.seed, P(Purpose::kDayPlan), p,
                               static_cast<uint64_t>(day));
    const double u_fever = ToUnit(Mix64(h));
    if (u_fever < fever_max) {
      const PersonProfile profile = model_.Profile(p);
      if (u_fever < FeverRate(day, profile.occupation)) {
        CityRng rng(HashCombine(h, 7));
        const TimestampMs ts =
            day_start + (rng.Chance(0.75) ? rng.Range(8 * kHourMs, 22 * kHourMs)
                                          : rng.Range(kHourMs, kDayMs));
        const auto it = specials_.find(p);
        if (it == specials_.end() ||
            !it->second.Has(WindowKind::kAway, ts - kHourMs, ts + kHourMs)) {
          (void)PlanFever(p, ts, rng.Next());
        }
      }
    }
    const double u_trip = ToUnit(h);
    if (u_trip < config_.trip_rate && specials_.find(p) == specials_.end()) {
      const PersonProfile profile = model_.Profile(p);
      if (profile.group == AgeGroup::kChild) continue;
      if (profile.group == AgeGroup::kElderly &&
          u_trip >= config_.trip_rate / 2)
        continue;
      PlanTrip(p, day, profile);
    }
  }
}

void CityPlanner::FinishDay(int day, std::span<const WatchedVisit> watched) {
  for (const PendingOutbreak& o : venue_outbreaks_) {
    if (o.started && o.day == day) FinishVenueOutbreak(o, day, watched);
  }
  const TimestampMs next = DayStart(day + 1);
  for (auto it = specials_.begin(); it != specials_.end();) {
    it = it->second.Prune(next) ? specials_.erase(it) : std::next(it);
  }
}

void CityPlanner::StartVenueOutbreak(
    PendingOutbreak* o, int day, std::span<const uint32_t> visits_yesterday) {
  CityRng rng(HashKey(config_.seed, P(Purpose::kOutbreak), o->number,
                      static_cast<uint64_t>(day)));
  // A small venue: a restaurant, bar or cinema with a few dozen visitors a day.
  std::vector<uint32_t> candidates;
  uint32_t closest = kNoVenue;
  int64_t closest_gap = INT64_MAX;
  for (VenueKind kind : {VenueKind::kRestaurant, VenueKind::kEntertainment}) {
    for (uint32_t v : model_.VenuesOfKind(kind)) {
      const int64_t c = v < visits_yesterday.size() ? visits_yesterday[v] : 0;
      if (c >= config_.outbreak_venue_min_visitors &&
          c <= config_.outbreak_venue_max_visitors) {
        candidates.push_back(v);
      } else {
        const int64_t gap = c < config_.outbreak_venue_min_visitors
                                ? config_.outbreak_venue_min_visitors - c
                                : c - config_.outbreak_venue_max_visitors;
        if (gap < closest_gap) {
          closest_gap = gap;
          closest = v;
        }
      }
    }
  }
  const uint32_t venue =
      candidates.empty() ? closest : candidates[rng.Below(candidates.size())];
  if (venue == kNoVenue) return;
  // The index case: an adult at home, not travelling, not ill.
  uint32_t index = kNoVenue;
  for (int attempt = 0; attempt < 100000 && index == kNoVenue; ++attempt) {
    const auto p = static_cast<uint32_t>(rng.Below(model_.persons()));
    if (specials_.count(p)) continue;
    const AgeGroup g = model_.Profile(p).group;
    if (g == AgeGroup::kWorker || g == AgeGroup::kOtherAdult) index = p;
  }
  if (index == kNoVenue) return;
  PlannedItem visit;
  visit.kind = ItemKind::kScan;
  visit.venue = venue;
  if (model_.venue(venue).kind == VenueKind::kRestaurant && rng.Chance(0.35)) {
    visit.ts =
        DayStart(day) + rng.Range(11 * kHourMs + 30 * kMinuteMs, 13 * kHourMs);
  } else {
    visit.ts = DayStart(day) + rng.Range(18 * kHourMs, 21 * kHourMs);
  }
  if (!AddItem(index, &visit)) return;
  VenueOutbreakFact f;
  f.venue = venue;
  f.day = day;
  f.index.person = index;
  f.index.scan = RefOf(visit, index);
  // Infectious before symptoms: the index case's own fever comes 1-3 days
  // later.
  if (rng.Chance(config_.outbreak_index_fever_prob)) {
    const TimestampMs ts = DayStart(day + 1 + static_cast<int>(rng.Below(3))) +
                           rng.Range(8 * kHourMs, 22 * kHourMs);
    if (const auto ref = PlanFever(index, ts, rng.Next())) {
      f.index.has_fever = true;
      f.index.fever = *ref;
    }
  }
  o->truth_index = truth_->venue_outbreaks.size();
  o->started = true;
  truth_->venue_outbreaks.push_back(std::move(f));
  watched_.push_back(venue);
}

void CityPlanner::FinishVenueOutbreak(const PendingOutbreak& o, int day,
                                      std::span<const WatchedVisit> watched) {
  VenueOutbreakFact& f = truth_->venue_outbreaks[o.truth_index];
  std::vector<WatchedVisit> visits;
  for (const WatchedVisit& w : watched) {
    if (w.venue == f.venue) visits.push_back(w);
  }
  std::sort(visits.begin(), visits.end(),
            [](const WatchedVisit& a, const WatchedVisit& b) {
              return std::tie(a.person, a.ms_of_day, a.seq) <
                     std::tie(b.person, b.ms_of_day, b.seq);
            });
  visits.erase(std::unique(visits.begin(), visits.end(),
                           [](const WatchedVisit& a, const WatchedVisit& b) {
                             return a.person == b.person;
                           }),
               visits.end());
  f.visitors = static_cast<uint32_t>(visits.size());
  // Co-visitors still in the city for the next week, by their infection draw.
  struct Candidate {
    double u;
    WatchedVisit visit;
  };
  std::vector<Candidate> candidates;
  for (const WatchedVisit& v : visits) {
    if (v.person == f.index.person) continue;
    const auto it = specials_.find(v.person);
    if (it != specials_.end() &&
        it->second.Has(WindowKind::kAway, DayStart(day), DayStart(day + 7))) {
      continue;
    }
    candidates.push_back({ToUnit(HashKey(config_.seed, P(Purpose::kOutbreak),
                                         o.number, v.person, 1)),
                          v});
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) {
              return std::tie(a.u, a.visit.person) <
                     std::tie(b.u, b.visit.person);
            });
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (c.u >= config_.outbreak_attack_rate &&
        i >= static_cast<size_t>(config_.outbreak_min_secondary)) {
      break;
    }
    OutbreakCase oc;
    oc.person = c.visit.person;
    oc.scan = {'s', day, c.visit.person, c.visit.seq,
               DayStart(day) + c.visit.ms_of_day};
    // Incubation: fever-clinic visit 2-5 days after the exposure.
    CityRng rng(HashKey(config_.seed, P(Purpose::kOutbreak), o.number,
                        c.visit.person, 2));
    const TimestampMs ts =
        DayStart(day + 2 + static_cast<int>(rng.Below(4))) +
        (rng.Chance(0.75) ? rng.Range(8 * kHourMs, 22 * kHourMs)
                          : rng.Range(kHourMs, kDayMs));
    if (const auto ref = PlanFever(c.visit.person, ts, rng.Next())) {
      oc.has_fever = true;
      oc.fever = *ref;
    }
    f.secondary.push_back(oc);
  }
}

void CityPlanner::StartCommunityOutbreak(uint32_t number, int day) {
  CityRng rng(HashKey(config_.seed, P(Purpose::kCommunityOutbreak), number,
                      static_cast<uint64_t>(day)));
  std::vector<uint32_t> candidates;
  for (uint32_t c = 0; c < model_.communities(); ++c) {
    if (model_.CommunitySize(c) >= 300 && model_.CommunitySize(c) <= 3000)
      candidates.push_back(c);
  }
  if (candidates.empty()) {
    for (uint32_t c = 0; c < model_.communities(); ++c) candidates.push_back(c);
  }
  CommunityOutbreakFact f;
  f.community = candidates[rng.Below(candidates.size())];
  f.day = day;
  const uint32_t first = model_.CommunityStart(f.community);
  const uint32_t size = model_.CommunitySize(f.community);
  for (int attempt = 0;
       attempt < 50 * config_.community_outbreak_cases &&
       f.fevers.size() < static_cast<size_t>(config_.community_outbreak_cases);
       ++attempt) {
    const auto p = static_cast<uint32_t>(first + rng.Below(size));
    if (specials_.count(p)) continue;  // away, ill already, or already a case
    const int fday =
        day +
        static_cast<int>(rng.Below(config_.community_outbreak_spread_days));
    const TimestampMs ts =
        DayStart(fday) + rng.Range(7 * kHourMs, 23 * kHourMs);
    if (const auto ref = PlanFever(p, ts, rng.Next())) f.fevers.push_back(*ref);
  }
  truth_->community_outbreaks.push_back(std::move(f));
}

}  // namespace epistream
