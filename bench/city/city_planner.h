// CityPlanner: everything in the city that is not daily routine, decided a
// day at a time and recorded in the ground truth as it is decided.
//
//   trips      adults leave for 1-14 days (no scans meanwhile) and come back
//              through a hub: a `transport` entry with origin and travel card
//   inbound    residents back from abroad after centralised quarantine at a
//              port of entry (inbound_released): 14 days of home quarantine
//   listings   an entry covered by a medium/high listing (RiskSchedule, which
//              knows later listings too) turns the code yellow / red; high
//              risk means 7 days of home quarantine from when it is known
//   tests      most arrivals scan at a test site within 24 h; the others skip
//              every test in that window (untested returnees)
//   breaches   a few quarantined persons go to a mall, market or restaurant
//   fevers     a seasonal background rate (higher for key workers), returnees
//              infected where they travelled, venue and community outbreaks
//
// A planned event is an item of the person's PersonSpecial (with its id known
// at once); the generator writes it on its day. Lifecycle per simulated day d:
// PlanDay(d) before the day's slices, FinishDay(d) after them (outbreak
// infections among the day's co-visitors, pruning).
//
// Not thread-safe; owned by one generator.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/city/city_config.h"
#include "bench/city/city_model.h"
#include "bench/city/city_random.h"
#include "bench/city/ground_truth.h"
#include "bench/city/person_special.h"
#include "bench/city/risk_schedule.h"

namespace epistream {

// A routine or planned scan at a watched (outbreak) venue.
struct WatchedVisit {
  uint32_t venue;
  uint32_t person;
  int32_t ms_of_day;
  uint8_t seq;
};

class CityPlanner {
 public:
  CityPlanner(const CityConfig& config, const CityModel& model,
              const RiskSchedule& risk, TimestampMs start, GroundTruth* truth);

  // Before day 0: residents already away (trips begun earlier, abroad).
  void PlanInitial();
  // Before the slices of `day`. `visits_yesterday[v]`: scans at venue v the
  // day before (picks small outbreak venues).
  void PlanDay(int day, std::span<const uint32_t> visits_yesterday);
  // After the slices of `day`: `watched` are the scans at watched venues.
  void FinishDay(int day, std::span<const WatchedVisit> watched);

  // Persons with a special state, by person (ordered: the generator merges
  // this with its sweep over persons).
  const std::map<uint32_t, PersonSpecial>& specials() const {
    return specials_;
  }
  // Venues whose visitors the generator reports for the current day.
  const std::vector<uint32_t>& watched_venues() const { return watched_; }

  TimestampMs DayStart(int day) const { return start_ + day * kDayMs; }

 private:
  struct PendingOutbreak {
    int day;
    uint32_t number;
    size_t truth_index = 0;  // into GroundTruth::venue_outbreaks, once started
    bool started = false;
  };
  struct ArrivalPlan {
    uint32_t person;
    TimestampMs ts;
    TravelCategory category;
    TransportMode mode;
    std::string origin;
    std::vector<std::string> trip_regions;
  };

  int DayOf(TimestampMs ts) const {
    return static_cast<int>((ts - start_) / kDayMs);
  }
  int32_t MsOfDay(TimestampMs ts) const {
    return static_cast<int32_t>((ts - start_) % kDayMs);
  }
  // Adds a planned event (seq assigned); false if it falls after the period.
  bool AddItem(uint32_t person, PlannedItem* item);
  EventRef RefOf(const PlannedItem& item, uint32_t person) const;
  // A time in [from, until) between 09:00 and 21:00 local, or nullopt.
  std::optional<TimestampMs> DaytimeIn(TimestampMs from, TimestampMs until,
                                       CityRng* rng) const;

  void PlanTrip(uint32_t person, int day, const PersonProfile& profile);
  void DrawDomesticTrip(CityRng* rng, ArrivalPlan* plan) const;
  TimestampMs ArrivalTime(int day, TransportMode mode, CityRng* rng) const;
  void PlanArrival(const ArrivalPlan& plan);
  void PlanQuarantine(uint32_t person, const EventRef& entry, TimestampMs from,
                      TimestampMs until, bool inbound, CityRng* rng);
  std::optional<EventRef> PlanFever(uint32_t person, TimestampMs ts,
                                    uint64_t random);
  uint32_t TestSiteFor(uint32_t person, uint64_t random) const;
  double FeverRate(int day, Occupation occupation) const;

  void StartVenueOutbreak(PendingOutbreak* o, int day,
                          std::span<const uint32_t> visits_yesterday);
  void FinishVenueOutbreak(const PendingOutbreak& o, int day,
                           std::span<const WatchedVisit> watched);
  void StartCommunityOutbreak(uint32_t number, int day);

  const CityConfig& config_;
  const CityModel& model_;
  const RiskSchedule& risk_;
  GroundTruth* truth_;
  TimestampMs start_;
  TimestampMs end_;
  int start_day_of_year_ = 0;
  std::map<uint32_t, PersonSpecial> specials_;
  std::vector<uint32_t> watched_;
  std::vector<PendingOutbreak> venue_outbreaks_;
  std::vector<std::pair<int, uint32_t>> community_outbreaks_;  // day, number
  AliasTable domestic_table_;
  AliasTable port_table_;
  AliasTable country_table_;
  std::vector<uint32_t> matched_;  // scratch
};

}  // namespace epistream
