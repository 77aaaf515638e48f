// VenueDayWindow: the cluster stage's state for one venue under
// rules.cluster_method = venue_day (operators/cluster/README.md).
//
//   days     one VenueDay per local day with visitors or fever links, in
//            ascending day order: the distinct visitors of the venue that
//            day as event-time deltas (N at a = the count of persons whose
//            first scan that day is <= a), and the fever visits of persons
//            who scanned the venue that day (a VenueDayLink record each),
//            sorted by (fever_ts, person_id, event_id)
//   episode  the venue's current cluster, if one fired (one per venue, as
//            with the contract's test)
//
// Stored under <stage prefix> D<venue> in a versioned binary encoding.
// Threading: owned by the cluster stage thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/cluster/case_window.h"
#include "operators/cluster/delta_counter.h"

namespace epistream {

struct VenueDay {
  int64_t day = 0;  // local day number (LocalDay)
  DeltaCounter visitors;
  std::vector<CaseLink> links;

  // Adds a link; a repeat of (person, event_id) only keeps the later scan
  // time. Returns false for a repeat.
  bool AddLink(const CaseLink& link);
  // True if a link has fever_ts == a.
  bool HasFeverAt(TimestampMs a) const;
  // The distinct persons with a link whose fever_ts <= to, each with its
  // earliest such link, in (fever_ts, person) order; *latest = the latest
  // fever_ts among them (kMinTimestamp if none).
  std::vector<const CaseLink*> CasesUpTo(TimestampMs to,
                                         TimestampMs* latest) const;
};

struct VenueDayWindow {
  std::vector<VenueDay> days;
  bool has_episode = false;
  ClusterEpisode episode;

  // The day's state, created (in day order) if absent.
  VenueDay& Day(int64_t day);
  // Drops days before first_day, an episode with last_ts < episode_horizon,
  // and folds visitor deltas < count_horizon.
  void Prune(int64_t first_day, TimestampMs episode_horizon,
             TimestampMs count_horizon);
  bool Empty() const;

  void Encode(std::string* out) const;
  Status Decode(std::string_view bytes);
};

}  // namespace epistream
