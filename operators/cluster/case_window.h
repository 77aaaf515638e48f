// CaseWindow: the cluster stage's state for one venue or one community.
//
//   links       fever visits linked to it (a FeverLink or CommunityFever
//               record each), sorted by (fever_ts, person_id, event_id);
//               kept while they can still fall in an evaluation's case window
//   population  distinct visitors over the population window (venue: N), or
//               distinct persons seen with the community_id (community), as
//               event-time deltas
//   registered  community: persons registered to it in epi.persons
//   episode     the current cluster, if one fired (ClusterEpisode)
//
// Stored under G C V<venue> / G C K<community> in a versioned binary encoding
// (version 2: the population in DeltaCounter's chunked form, so a checkpoint
// re-encodes only its buckets touched since the last one; version 1, the
// flat form, still decodes). The population stays inside the window's one
// record, not in a key per bucket like the city counters: the crash loop's
// canonical state comparison (tests/reliability/city_stream.h) prunes each
// window record on its own, which only works if a record holds the whole
// window.
// Threading: owned by the cluster stage thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/cluster/delta_counter.h"

namespace epistream {

// A fever visit counted as a case of a venue or community.
struct CaseLink {
  std::string person_id;
  std::string event_id;  // the fever event
  std::string clinic_id;
  TimestampMs fever_ts = 0;
  TimestampMs scan_ts =
      0;  // venue: the person's latest scan there before the fever
};

// Fever-time order of links (then person, event): members and windows are
// kept in it, so evaluations and printed members do not depend on arrival.
bool CaseLinkLess(const CaseLink& a, const CaseLink& b);
// Adds `link` to `links` (kept in CaseLinkLess order); a repeat of (person,
// event_id) only keeps the later scan time. Returns false for a repeat.
bool AddCaseLink(std::vector<CaseLink>* links, const CaseLink& link);
// The stored form of a link, shared by every window that keeps links.
void EncodeCaseLink(const CaseLink& l, ByteWriter* w);
void DecodeCaseLink(ByteReader* r, CaseLink* l);

// A cluster: cluster_id stays while the cluster lives; a new version is
// announced each time the member count reaches the next step
// (NextVersionStep). It ends when the fever visits of all its members have
// left the case window (last_ts < a - window): the next significant finding
// starts a new episode with a new id.
struct ClusterEpisode {
  std::string cluster_id;
  TimestampMs started_at = 0;     // evaluation time of version 1
  int32_t version = 0;            // last version announced
  uint64_t reported_count = 0;    // member count of the last version
  TimestampMs first_ts = 0;       // earliest member fever visit
  TimestampMs last_ts = 0;        // latest member fever visit
  std::vector<CaseLink> members;  // every member once (first counted visit), by
                                  // (fever_ts, person)

  bool HasMember(std::string_view person) const;
  // Inserts in (fever_ts, person) order; false if already a member.
  bool AddMember(const CaseLink& link);
};

struct CaseWindow {
  std::vector<CaseLink> links;
  DeltaCounter population;
  int64_t registered = 0;
  bool has_episode = false;
  ClusterEpisode episode;

  // Adds a link; a repeat of (person, event_id) only keeps the later scan
  // time. Returns false for a repeat.
  bool AddLink(const CaseLink& link);
  // The distinct persons with a linked fever visit in [from, to], each with
  // its earliest such link, in (fever_ts, person) order; *latest = the
  // latest fever_ts among them (kMinTimestamp if none).
  std::vector<const CaseLink*> CasesIn(TimestampMs from, TimestampMs to,
                                       TimestampMs* latest) const;
  // Drops links with fever_ts < link_horizon, an episode with last_ts <
  // episode_horizon, and folds population deltas < count_horizon.
  void Prune(TimestampMs link_horizon, TimestampMs episode_horizon,
             TimestampMs count_horizon);
  bool Empty() const;

  void Encode(std::string* out) const;
  Status Decode(std::string_view bytes);
};

// The stored form of an episode, shared by every window that keeps one.
// Decode reads at most `max_members` members (the input's size: a count can
// never exceed the bytes); errors show in the reader.
void EncodeEpisode(const ClusterEpisode& e, ByteWriter* w);
void DecodeEpisode(ByteReader* r, size_t max_members, ClusterEpisode* e);

// The member counts at which a cluster announces a version: 3, 4, 5, 6, 8,
// 10, then +50% rounded up (15, 23, 35, ...). Returns the smallest step
// greater than `reported` (3 for 0).
uint64_t NextVersionStep(uint64_t reported);

}  // namespace epistream
