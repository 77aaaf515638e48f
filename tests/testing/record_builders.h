// Builders for the typed records tests feed to the stages directly: an
// Event with its common fields set, a person registry record, a
// community-presence ClusterRecord, a person state with one of each record.
// Tests set the rest of the fields themselves.
//
// Threading: plain functions.
#pragma once

#include <cstdint>
#include <string>

#include "engine/event_time.h"
#include "operators/cluster/cluster_record.h"
#include "operators/event.h"
#include "operators/person_state.h"

namespace epistream::testing {

// An event of `type` with its id, person and timestamp (has_ts set).
inline Event MakeEvent(EventType type, const std::string& id,
                       const std::string& person, TimestampMs ts) {
  Event e;
  e.type = type;
  e.event_id = id;
  e.person_id = person;
  e.ts = ts;
  e.has_ts = true;
  return e;
}

// A person state holding one record of each kind (no presence spans), last
// event at 2022-09-20T00:15:03.123Z: what the state round-trip tests encode.
inline PersonState MakeOneOfEachPersonState() {
  PersonState s;
  s.last_ts = 1663632903123;
  s.entries.push_back({s.last_ts - kDayMs, "t1", "hub9", TransportMode::kAir,
                       TravelCategory::kInboundReleased, {"US", "420106"}});
  s.exposures.push_back(
      {"4201", s.last_ts - kDayMs, "t1", RiskLevel::kHigh, "r1", s.last_ts - 3 * kDayMs});
  s.trail.push_back({s.last_ts - kHourMs, "venue-7", VenueKind::kRestaurant});
  s.fevers.push_back({s.last_ts, "f1", "clinic-2", 38.7, true});
  s.tests = {s.last_ts - 2 * kHourMs};
  s.quarantines.push_back({s.last_ts - kDayMs, s.last_ts + 13 * kDayMs, "t1"});
  s.day_flags.push_back({19255, kFlagBreach | kFlagCodeRed});
  s.seen.push_back({0xdeadbeefcafef00dull, s.last_ts});
  return s;
}

// A `person` registry record (no ts, as the table topic's records).
inline Event MakePersonRecord(const std::string& person, const std::string& community,
                              Occupation occupation = Occupation::kOther) {
  Event e;
  e.type = EventType::kPerson;
  e.person_id = person;
  e.community_id = community;
  e.occupation = occupation;
  return e;
}

// kCommunitySeen: persons seen with `community` change by `delta` at `ts`.
inline ClusterRecord CommunitySeen(const std::string& community, TimestampMs ts,
                                   int32_t delta) {
  ClusterRecord r;
  r.kind = ClusterRecordKind::kCommunitySeen;
  r.key = community;
  r.ts = ts;
  r.delta = delta;
  return r;
}

}  // namespace epistream::testing
