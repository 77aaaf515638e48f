#include "operators/cluster/cluster_record.h"

#include "engine/byte_codec.h"

namespace epistream {
namespace {

constexpr uint8_t kVersion = 1;
constexpr std::string_view kCounterNames[kNumCityCounters] = {
    "active_case", "active_community", "fever_case", "fever_community",
    "active_venues"};

bool IsFeverKind(ClusterRecordKind k) {
  return k == ClusterRecordKind::kFeverLink ||
         k == ClusterRecordKind::kCommunityFever ||
         k == ClusterRecordKind::kClinicVisit;
}

}  // namespace

std::string_view CityCounterName(CityCounter c) {
  return kCounterNames[static_cast<int>(c) % kNumCityCounters];
}

bool ParseCityCounter(std::string_view name, CityCounter* out) {
  for (int i = 0; i < kNumCityCounters; ++i) {
    if (kCounterNames[i] == name) {
      *out = static_cast<CityCounter>(i);
      return true;
    }
  }
  return false;
}

void ClusterRecord::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kVersion);
  w.U8(static_cast<uint8_t>(kind));
  w.Str(key);
  w.SignedVarint(ts);
  if (IsFeverKind(kind)) {
    w.Str(person_id);
    w.Str(event_id);
    w.Str(clinic_id);
    if (kind == ClusterRecordKind::kFeverLink) w.SignedVarint(ts - aux_ts);
  } else if (kind != ClusterRecordKind::kVenueScan) {
    w.SignedVarint(delta);
  }
}

Status ClusterRecord::Decode(std::string_view bytes) {
  *this = ClusterRecord();
  ByteReader r(bytes);
  if (r.U8() != kVersion)
    return Status::Corruption("cluster record: unknown version");
  const uint8_t k = r.U8();
  if (k < static_cast<uint8_t>(ClusterRecordKind::kFeverLink) ||
      k > static_cast<uint8_t>(ClusterRecordKind::kCityCount)) {
    return Status::Corruption("cluster record: unknown kind");
  }
  kind = static_cast<ClusterRecordKind>(k);
  key = std::string(r.Str());
  ts = r.SignedVarint();
  if (IsFeverKind(kind)) {
    person_id = std::string(r.Str());
    event_id = std::string(r.Str());
    clinic_id = std::string(r.Str());
    if (kind == ClusterRecordKind::kFeverLink) aux_ts = ts - r.SignedVarint();
  } else if (kind != ClusterRecordKind::kVenueScan) {
    delta = static_cast<int32_t>(r.SignedVarint());
  }
  if (!r.ok() || !r.done()) {
    *this = ClusterRecord();
    return Status::Corruption("cluster record: truncated or trailing bytes");
  }
  return Status::Ok();
}

bool ClusterRecord::operator==(const ClusterRecord& o) const {
  return kind == o.kind && key == o.key && ts == o.ts && delta == o.delta &&
         person_id == o.person_id && event_id == o.event_id &&
         clinic_id == o.clinic_id && aux_ts == o.aux_ts;
}

ClusterRecord& ClusterRecordBuffer::Add() {
  if (size_ == records_.size()) {
    records_.emplace_back();
    sources_.push_back(0);
  }
  sources_[size_] = source_;
  ClusterRecord& r = records_[size_++];
  r.kind = ClusterRecordKind::kVenueScan;
  r.key.clear();
  r.ts = 0;
  r.delta = 0;
  r.person_id.clear();
  r.event_id.clear();
  r.clinic_id.clear();
  r.aux_ts = 0;
  return r;
}

}  // namespace epistream
