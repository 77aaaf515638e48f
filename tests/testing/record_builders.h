// Builders for the typed records tests feed to the stages directly: an
// Event with its common fields set, a person registry record, a
// community-presence ClusterRecord.
// Tests set the rest of the fields themselves.
//
// Threading: plain functions.
#pragma once

#include <cstdint>
#include <string>

#include "engine/event_time.h"
#include "operators/cluster/cluster_record.h"
#include "operators/event.h"

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
