// RepartitionRouter: which repartition partitions (0..Q-1) a ClusterRecord
// goes to.
//
// Records keyed by venue, community or clinic that only their key's state
// reads (kFeverLink, kVenueVisitors, kCommunityFever, kClinicVisit) go to one
// partition, StableKeyHash(key) % Q. Records that feed city-wide figures
// every partition reads (kCityCount: fever rate; kVenueScan: active venues V;
// kCommunitySeen: communities with a population C, and the population of the
// community's own test; kCommunityRegistered, should it ever be framed) go to
// every partition.
//
// StableKeyHash is part of the wire contract (every instance must agree, in
// every build and on every platform): FNV-1a 64 over the key's bytes, passed
// through the SplitMix64 finaliser so that % Q uses well-mixed bits. Never
// std::hash (implementation-defined).
//
// Threading: immutable after construction.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "operators/cluster/cluster_record.h"

namespace epistream {

uint64_t StableKeyHash(std::string_view key);

class RepartitionRouter {
 public:
  // q_count >= 1.
  explicit RepartitionRouter(uint16_t q_count);

  static bool IsBroadcast(ClusterRecordKind kind);
  // The partition of a keyed record's key.
  uint16_t PartitionOf(std::string_view key) const;
  // The partitions `r` goes to (replaces *out; ascending).
  void Route(const ClusterRecord& r, std::vector<uint16_t>* out) const;

  uint16_t q_count() const { return q_count_; }

 private:
  uint16_t q_count_;
};

}  // namespace epistream
