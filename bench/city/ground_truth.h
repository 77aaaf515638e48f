// GroundTruth: the facts the generator injected, with the exact person and
// event ids a detector should alert on (CONTRACT.md section 4):
//   returnees      entries covered by a medium/high listing
//   (returnee_risk_area),
//                  retroactive when the listing came after the entry
//   untested       flagged returnees without a test_site scan within 24 h
//   quarantine_breakers  inbound_released / high-risk returnees scanning at a
//                  venue other than test_site, hospital, residential in
//                  quarantine
//   fever_returnees fever visits within 14 days after a flagged entry (also
//                  when the listing comes after the fever: retroactive)
//   key_worker_fevers    fever visits of cold_chain / medical / transport
//   workers venue_outbreaks, community_outbreaks  injected clusters
//   (fever_cluster)
// plus negatives (entries after the area was de-listed), the malformed lines
// and a summary of counts. Facts are rare (orders of magnitude below events),
// so they are kept until the end and written as one JSON document.
//
// Not thread-safe; owned by one generator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/city/city_config.h"
#include "engine/event_time.h"
#include "operators/event.h"

namespace epistream {

class CityModel;
class RiskSchedule;

// Where a planned or routine event is: its id is EventId(type, day, person,
// seq).
struct EventRef {
  char type = 's';
  int32_t day = 0;
  uint32_t person = 0;
  uint8_t seq = 0;
  TimestampMs ts = 0;
};

// Counts of what was written.
struct CityStats {
  uint64_t lines = 0;  // all lines, malformed and duplicates included
  uint64_t scans = 0;
  uint64_t transports = 0;
  uint64_t fevers = 0;
  uint64_t risk_records = 0;
  uint64_t person_records = 0;
  uint64_t malformed_lines = 0;
  uint64_t duplicate_lines = 0;
  uint64_t yellow_scans = 0;
  uint64_t red_scans = 0;
  // Distinct (person, local day, colour) of yellow / red scans at venues other
  // than test_site and hospital: what abnormal_code_at_venue should emit.
  uint64_t abnormal_code_warnings = 0;
  uint64_t abnormal_code_criticals = 0;
  // Largest number of events held in memory at once (one slice of a day).
  uint64_t peak_slice_events = 0;
  int slices_per_day = 0;
  TimestampMs first_ts = 0;
  TimestampMs last_ts = 0;

  uint64_t events() const { return scans + transports + fevers; }
};

struct ReturneeFact {
  EventRef entry;
  std::string origin_region;
  std::vector<std::string> trip_regions;
  TravelCategory category = TravelCategory::kDomestic;
  std::vector<uint32_t>
      listings;         // RiskSchedule listing indexes covering the entry
  bool tested = false;  // a test_site scan within 24 h of the entry
  EventRef test;
};

struct BreachFact {
  EventRef entry;
  bool inbound = false;  // else a high-risk returnee
  TimestampMs quarantine_from = 0;
  TimestampMs quarantine_until = 0;
  std::vector<std::pair<EventRef, uint32_t>> breaches;  // scan, venue
};

struct FeverReturneeFact {
  EventRef fever;
  EventRef entry;
  uint32_t listing = 0;
};

struct KeyWorkerFeverFact {
  EventRef fever;
  Occupation occupation = Occupation::kOther;
};

struct OutbreakCase {
  uint32_t person = 0;
  EventRef scan;  // the visit at the venue
  bool has_fever = false;
  EventRef fever;
};

struct VenueOutbreakFact {
  uint32_t venue = 0;
  int32_t day = 0;
  uint32_t visitors = 0;  // distinct visitors that day
  OutbreakCase index;
  std::vector<OutbreakCase> secondary;
};

struct CommunityOutbreakFact {
  uint32_t community = 0;
  int32_t day = 0;
  std::vector<EventRef> fevers;
};

struct DelistedArrivalFact {
  EventRef entry;
  uint32_t listing = 0;
};

struct MalformedFact {
  uint64_t line = 0;  // 1-based line number in the events file
  std::string reason;
};

class GroundTruth {
 public:
  std::vector<ReturneeFact> returnees;
  std::vector<BreachFact> breakers;
  std::vector<FeverReturneeFact> fever_returnees;
  std::vector<KeyWorkerFeverFact> key_worker_fevers;
  std::vector<VenueOutbreakFact> venue_outbreaks;
  std::vector<CommunityOutbreakFact> community_outbreaks;
  std::vector<DelistedArrivalFact> delisted_arrivals;
  std::vector<MalformedFact> malformed;

  // The whole document (deterministic: lists sorted by time, then id).
  std::string ToJson(const CityConfig& config, const CityModel& model,
                     const RiskSchedule& risk, const CityStats& stats) const;
};

}  // namespace epistream
