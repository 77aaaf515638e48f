#include "operators/cluster/repartition_router.h"

namespace epistream {

uint64_t StableKeyHash(std::string_view key) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
  for (const char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;  // FNV-1a 64 prime
  }
  // SplitMix64 finaliser: FNV's low bits are weak for small moduli.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

RepartitionRouter::RepartitionRouter(uint16_t q_count)
    : q_count_(q_count == 0 ? 1 : q_count) {}

bool RepartitionRouter::IsBroadcast(ClusterRecordKind kind) {
  switch (kind) {
    case ClusterRecordKind::kCityCount:
    case ClusterRecordKind::kVenueScan:
    case ClusterRecordKind::kCommunitySeen:
    case ClusterRecordKind::kCommunityRegistered:
      return true;
    case ClusterRecordKind::kFeverLink:
    case ClusterRecordKind::kVenueVisitors:
    case ClusterRecordKind::kCommunityFever:
    case ClusterRecordKind::kClinicVisit:
      return false;
  }
  return true;
}

uint16_t RepartitionRouter::PartitionOf(std::string_view key) const {
  return static_cast<uint16_t>(StableKeyHash(key) % q_count_);
}

void RepartitionRouter::Route(const ClusterRecord& r,
                              std::vector<uint16_t>* out) const {
  out->clear();
  if (IsBroadcast(r.kind)) {
    for (uint16_t q = 0; q < q_count_; ++q) out->push_back(q);
    return;
  }
  out->push_back(PartitionOf(r.key));
}

}  // namespace epistream
