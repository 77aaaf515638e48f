// CityConfig: every knob of the synthetic city behind `epistream gen`.
//
// Rates are per person and day unless said otherwise. Defaults aim at a
// plausible 2022 Chinese city under "dynamic zero" rules (code scans at every
// venue, routine nucleic-acid testing, risk-area listings, home quarantine
// for inbound travellers); they are never tuned to suit a detector.
#pragma once

#include <cstdint>
#include <string>

#include "engine/status.h"

namespace epistream {

struct CityConfig {
  // --- size and time ---
  // Registered residents. Default: 100000
  uint64_t persons = 100000;
  // Simulated local calendar days. Default: 14
  int days = 14;
  // Seed of every random decision: same seed, byte-identical output. Default: 1
  uint64_t seed = 1;
  // First simulated local day, YYYY-MM-DD. Default: "2022-09-20"
  std::string start_date = "2022-09-20";
  // Offset of the city's local time (and of every `ts` written). Default: 480
  // (+08:00)
  int tz_offset_minutes = 480;

  // --- daily routines ---
  // Multiplies the probability of every routine visit (1 gives about 3-6 scans
  // per person and day; the shipped sample uses less to stay small).
  // Default: 1.0
  double activity_scale = 1.0;
  // Share of person-days with a routine nucleic-acid test (test_site scan).
  // Default: 0.25
  double routine_test_rate = 0.25;
  // Person-days with a yellow code for no known reason (expired test...).
  // Default: 0.0005
  double random_yellow_rate = 0.0005;
  // Person-days with a red code for no known reason. Default: 0.00005
  double random_red_rate = 0.00005;

  // --- travel ---
  // Adults starting a domestic trip out of the city. Default: 0.003
  double trip_rate = 0.003;
  // Residents arriving from abroad, released from centralised quarantine at
  // the port of entry (category inbound_released). Default: 0.00003
  double inbound_arrival_rate = 0.00003;
  // Domestic arrivals who take the on-arrival test within 24 h. Default: 0.85
  double arrival_test_compliance = 0.85;
  // Inbound-released arrivals who take the on-arrival test within 24 h.
  // Default: 0.97
  double inbound_test_compliance = 0.97;
  // Inbound-released residents who leave home during the 14-day quarantine.
  // Default: 0.08
  double inbound_break_rate = 0.08;
  // High-risk returnees who leave home during their 7-day quarantine. Default:
  // 0.05
  double high_risk_break_rate = 0.05;
  // Returnees from a (possibly later) listed area who fall ill with fever
  // within 7 days of arrival. Default: 0.03
  double returnee_infection_rate_listed = 0.03;
  // The same for returnees from unlisted areas. Default: 0.0005
  double returnee_infection_rate = 0.0005;

  // --- risk areas ---
  // New medium/high listings per day across the country. Default: 0.6
  double risk_listings_per_day = 0.6;
  // Share of listings that are high risk. Default: 0.35
  double risk_high_share = 0.35;
  // Days a medium-risk returnee's code stays yellow. Default: 3
  int medium_risk_code_days = 3;
  // Days of home quarantine (and red code) after a high-risk arrival. Default:
  // 7
  int high_risk_quarantine_days = 7;
  // Days of home quarantine after an inbound_released arrival. Default: 14
  int inbound_quarantine_days = 14;

  // --- fever ---
  // Background fever-clinic visits per 100000 persons and day (annual mean).
  // Default: 40
  double fever_rate_per_100k = 40;
  // Relative seasonal swing of the background rate, peaking mid-January.
  // Default: 0.4
  double fever_seasonality = 0.4;
  // Background fever rate multiplier for cold_chain, medical and transport
  // workers (occupational exposure). Default: 1.5
  double key_worker_fever_factor = 1.5;

  // --- injected outbreaks ---
  // Venue outbreaks: an infected visitor at a small venue. Default: 2
  int venue_outbreaks = 2;
  // Chance that a same-day co-visitor of the index case is infected. Default:
  // 0.3
  double outbreak_attack_rate = 0.3;
  // Secondary cases forced up to this many if the venue had enough visitors.
  // Default: 2
  int outbreak_min_secondary = 2;
  // Outbreak venues are picked among restaurants, bars and cinemas whose
  // visitor count the day before lies in [min, max]. Default: 8
  int outbreak_venue_min_visitors = 8;
  // Default: 40
  int outbreak_venue_max_visitors = 40;
  // Chance that the index case of a venue outbreak visits a fever clinic.
  // Default: 0.7
  double outbreak_index_fever_prob = 0.7;
  // Community outbreaks: cases in one residential compound. Default: 1
  int community_outbreaks = 1;
  // Fever cases per community outbreak. Default: 6
  int community_outbreak_cases = 6;
  // Days over which their fever visits spread. Default: 4
  int community_outbreak_spread_days = 4;

  // --- bad input ---
  // Extra deliberately malformed lines per good line (ids never in the truth).
  // Default: 0
  double malformed_fraction = 0;
  // Good lines written twice (same event_id: a duplicate). Default: 0
  double duplicate_fraction = 0;

  // --- memory ---
  // Target upper bound of events buffered per time slice: a day is cut into
  // 1..24 slices so that one slice holds about this many. Default: 4000000
  uint64_t max_slice_events = 4000000;

  // Checks ranges; InvalidArgument names the field at fault.
  Status Validate() const;

  // The shipped sample (bench/sample/): 2000 persons, 10 days, seed 1,
  // thinned routine (about 0.45 scans per person and day, to stay under 2 MB)
  // and boosted travel, listings and fevers so that every rule fires.
  static CityConfig Sample();
};

}  // namespace epistream
