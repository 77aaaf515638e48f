// PersonState: everything the person stage keeps about one person, decoded.
//
// Stored in the state store under P<part>S<person_id> in a compact, versioned
// binary encoding (varints, delta-free; see Encode/Decode), never JSON. Every
// list is pruned by event time (Prune) so no record outlives the retention.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/cluster/presence_span.h"
#include "operators/event.h"

namespace epistream {

// An arrival at a transport hub (kept for retroactive listings).
struct EntryRecord {
  TimestampMs ts = 0;
  std::string event_id;
  std::string hub_id;
  TransportMode mode = TransportMode::kRail;
  TravelCategory category = TravelCategory::kDomestic;
  std::vector<std::string> regions;  // origin_region first, then trip_regions
};

// A returnee_risk_area finding: the person arrived from `area` while listed.
struct ExposureRecord {
  std::string area;       // the listed region code
  TimestampMs entry_ts = 0;
  std::string entry_event_id;
  RiskLevel level = RiskLevel::kMedium;
  std::string listing_event_id;  // the record that listed the area
  TimestampMs listed_at = 0;
};

// A venue scan in the 7-day trail (test sites, hospitals, stations left out).
struct VisitRecord {
  TimestampMs ts = 0;
  std::string venue_id;
  VenueKind kind = VenueKind::kOther;
};

struct FeverRecord {
  TimestampMs ts = 0;
  std::string event_id;
  std::string clinic_id;
  double temp_c = 0;
  bool returnee_alerted = false;  // fever_returnee already fired for this visit
};

// Home quarantine [start, end) and the entry that started it.
struct QuarantineRecord {
  TimestampMs start = 0;
  TimestampMs end = 0;
  std::string entry_event_id;
};

// Once-per-local-day markers.
enum DayFlag : uint8_t {
  kFlagBreach = 1,
  kFlagCodeYellow = 2,
  kFlagCodeRed = 4,
};

struct DayFlags {
  int64_t day = 0;  // local day number
  uint8_t flags = 0;
};

// Seen (type, event_id) for dedupe: a 64-bit hash and the event time.
struct SeenEvent {
  uint64_t hash = 0;
  TimestampMs ts = 0;
};

struct PersonState {
  TimestampMs last_ts = kMinTimestamp;  // latest event time of the person
  std::vector<EntryRecord> entries;
  std::vector<ExposureRecord> exposures;
  std::vector<VisitRecord> trail;
  std::vector<FeverRecord> fevers;
  std::vector<TimestampMs> tests;  // test_site scan times
  std::vector<QuarantineRecord> quarantines;
  std::vector<DayFlags> day_flags;
  std::vector<SeenEvent> seen;
  // Presence spans feeding the cluster stage's exact distinct counts (venue
  // visitors over 14 d, active and fever persons over 7 d and 3 d...; tracks
  // defined by the person stage), and the one pending timer that closes them.
  std::vector<PresenceSpan> presence;
  TimestampMs presence_timer = kNoPresenceTimer;

  bool HasExposure(std::string_view area) const;
  // True and records it if (hash) was not seen before.
  bool MarkSeen(uint64_t hash, TimestampMs ts);
  // Tests and sets a once-per-day flag; true if it was not set.
  bool TestAndSetDayFlag(int64_t day, uint8_t flag);

  // Drops everything older than the horizons (event time).
  void Prune(TimestampMs retention_horizon, TimestampMs trail_horizon);
  bool Empty() const;

  void Encode(std::string* out) const;
  Status Decode(std::string_view bytes);
};

// Stable 64-bit hash of (type, event_id) for dedupe (FNV-1a; not security).
uint64_t EventIdHash(EventType type, std::string_view event_id);

}  // namespace epistream
