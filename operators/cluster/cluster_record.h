// ClusterRecord: what the person stage tells the cluster stage, one keyed,
// serialisable record each (operators/cluster/README.md).
//
// The edge person stage -> cluster stage is a stream of these records, keyed
// by venue, community, clinic or city-wide counter. In one process the
// pipeline hands them to ClusterStage::OnRecord in the order they were made;
// with several processes the same records, Encode()d, would go through a
// repartition topic keyed by `key` (epistream.repartition.cluster) with no
// change to either operator. Nothing in a record refers to the sender's
// state.
//
// Threading: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_time.h"
#include "engine/status.h"

namespace epistream {

enum class ClusterRecordKind : uint8_t {
  // key venue: a fever visit (person_id, event_id, ts = fever time,
  // clinic_id) by a person who scanned the venue in [ts - case window, ts];
  // aux_ts = the latest such scan.
  kFeverLink = 1,
  // key community: a fever visit of a person of the community.
  kCommunityFever = 2,
  // key clinic: a fever visit at the clinic.
  kClinicVisit = 3,
  // key venue: a scan at the venue at ts (venue activity: V).
  kVenueScan = 4,
  // key venue: distinct visitors over the population window change by delta at
  // ts (N).
  kVenueVisitors = 5,
  // key community: distinct persons seen with the community_id change by delta
  // at ts.
  kCommunitySeen = 6,
  // key community: persons registered to it in epi.persons change by delta
  // (a table, not event time: ts is unused).
  kCommunityRegistered = 7,
  // key = CityCounterName(counter): a city-wide distinct count changes by delta
  // at ts.
  kCityCount = 8,
};

// The city-wide distinct counts (GlobalAggregate) fed by kCityCount records.
enum class CityCounter : uint8_t {
  kActiveCase = 0,       // persons with any event in the case window (7 d)
  kActiveCommunity = 1,  // persons with any event in the community window (3 d)
  kFeverCase = 2,        // persons with a fever visit in the case window
  kFeverCommunity = 3,   // persons with a fever visit in the community window
  kActiveVenues = 4,     // venues with a scan in the case window (V)
};
inline constexpr int kNumCityCounters = 5;
std::string_view CityCounterName(CityCounter c);
// False if `name` is not a counter name.
bool ParseCityCounter(std::string_view name, CityCounter* out);

struct ClusterRecord {
  ClusterRecordKind kind = ClusterRecordKind::kVenueScan;
  std::string key;
  TimestampMs ts = 0;
  int32_t delta = 0;       // count kinds
  std::string person_id;   // fever kinds
  std::string event_id;    // fever kinds: the fever event
  std::string clinic_id;   // fever kinds
  TimestampMs aux_ts = 0;  // kFeverLink: the scan time

  // Compact binary form: version, kind, key, ts, then the kind's fields.
  void Encode(std::string* out) const;
  Status Decode(std::string_view bytes);
  bool operator==(const ClusterRecord& o) const;
};

// An append-only batch of records that keeps its elements (and their string
// capacity) across Clear(), so the hot path does not allocate. Each record
// is tagged with the input partition that made it (set_source before adding;
// the repartition edge frames records per upstream partition).
class ClusterRecordBuffer {
 public:
  // A record slot to fill: every field reset except string capacity; tagged
  // with the current source partition.
  ClusterRecord& Add();
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const ClusterRecord& operator[](size_t i) const { return records_[i]; }
  // The input partition record i came from.
  uint16_t source(size_t i) const { return sources_[i]; }
  // The input partition of the records added from now on. Default: 0
  void set_source(uint16_t partition) { source_ = partition; }
  void Clear() { size_ = 0; }

 private:
  std::vector<ClusterRecord> records_;
  std::vector<uint16_t> sources_;
  size_t size_ = 0;
  uint16_t source_ = 0;
};

}  // namespace epistream
