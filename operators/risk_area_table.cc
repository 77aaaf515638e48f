#include "operators/risk_area_table.h"

#include <algorithm>
#include <tuple>

#include "engine/byte_codec.h"
#include "engine/state_keys.h"

namespace epistream {
namespace {
constexpr char kAreaSub = 'A';
}

bool IsRegionCode(std::string_view code) {
  if (code.size() == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z')
    return true;
  if (code.size() < 2 || code.size() > 12) return false;
  return std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void RiskAreaTable::EncodeHistory(const History& h, std::string* out) {
  out->clear();
  ByteWriter w(out);
  w.U8(1);
  w.Varint(h.size());
  for (const Change& c : h) {
    w.SignedVarint(c.ts);
    w.U8(static_cast<uint8_t>(c.level));
    w.Str(c.event_id);
  }
}

bool RiskAreaTable::DecodeHistory(std::string_view bytes, History* h) {
  ByteReader r(bytes);
  if (r.U8() != 1) return false;
  const uint64_t n = r.Varint();
  if (n > bytes.size()) return false;
  h->resize(n);
  for (Change& c : *h) {
    c.ts = r.SignedVarint();
    c.level = static_cast<RiskLevel>(std::min<uint8_t>(r.U8(), 2));
    c.event_id = r.Str();
  }
  if (!r.ok() || !r.done()) return false;
  // Times within [kMinTimestamp, -kMinTimestamp] (joins subtract the lookback
  // from them) and sorted by (ts, event_id) as Apply keeps them: anything
  // else is corruption (found by fuzzing).
  for (size_t i = 0; i < h->size(); ++i) {
    const Change& c = (*h)[i];
    if (c.ts < kMinTimestamp || c.ts > -kMinTimestamp) return false;
    if (i > 0 && std::tie(c.ts, c.event_id) < std::tie((*h)[i - 1].ts, (*h)[i - 1].event_id)) {
      return false;
    }
  }
  return true;
}

Status RiskAreaTable::Load() {
  areas_.clear();
  const std::string prefix = state_keys::Global(kAreaSub, "");
  bool corrupt = false;
  EPI_RETURN_IF_ERROR(store_->Scan(prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    History h;
    if (!DecodeHistory(v, &h)) {
      corrupt = true;
      return false;
    }
    std::string code(k.substr(prefix.size()));
    max_code_len_ = std::max(max_code_len_, code.size());
    areas_.emplace(std::move(code), std::move(h));
    return true;
  }));
  if (corrupt) return Status::Corruption("risk-area table: undecodable history");
  return Status::Ok();
}

bool RiskAreaTable::Apply(const Event& rec) {
  History& h = areas_[rec.region];
  for (const Change& c : h) {
    if (c.event_id == rec.event_id) return false;
  }
  Change c{rec.ts, rec.level, rec.event_id};
  auto pos = std::upper_bound(h.begin(), h.end(), c, [](const Change& a, const Change& b) {
    return std::tie(a.ts, a.event_id) < std::tie(b.ts, b.event_id);
  });
  h.insert(pos, std::move(c));
  max_code_len_ = std::max(max_code_len_, rec.region.size());
  std::string value;
  EncodeHistory(h, &value);
  store_->Put(state_keys::Global(kAreaSub, rec.region), value);
  return true;
}

std::vector<ListingInterval> RiskAreaTable::Intervals(const History& h) {
  std::vector<ListingInterval> out;
  bool listed = false;
  for (const Change& c : h) {
    if (c.level != RiskLevel::kLow && !listed) {
      listed = true;
      ListingInterval iv;
      iv.listed_at = c.ts;
      iv.listing_event_id = c.event_id;
      out.push_back(std::move(iv));
    } else if (c.level == RiskLevel::kLow && listed) {
      listed = false;
      out.back().delisted_at = c.ts;
      out.back().delisting_event_id = c.event_id;
    }
  }
  return out;
}

bool RiskAreaTable::CoverageOf(std::string_view area, TimestampMs t, DurationMs lookback,
                               Coverage* out) const {
  auto it = areas_.find(std::string(area));
  if (it == areas_.end()) return false;
  for (ListingInterval& iv : Intervals(it->second)) {
    if (t < iv.listed_at - lookback || t > iv.delisted_at) continue;
    // Level in force at max(t, L): the last medium/high change at or before it.
    const TimestampMs at = std::max(t, iv.listed_at);
    out->level = RiskLevel::kMedium;
    for (const Change& c : it->second) {
      if (c.ts < iv.listed_at || c.ts > at) continue;
      if (c.level == RiskLevel::kLow) break;
      out->level = c.level;
      out->level_event_id = c.event_id;
      out->level_ts = c.ts;
    }
    iv.area = std::string(area);
    out->interval = std::move(iv);
    return true;
  }
  return false;
}

void RiskAreaTable::Covering(std::string_view code, TimestampMs t, DurationMs lookback,
                             std::vector<Coverage>* out) const {
  if (areas_.empty()) return;
  const size_t max_len = std::min(code.size(), max_code_len_);
  for (size_t len = 2; len <= max_len; ++len) {
    Coverage c;
    if (CoverageOf(code.substr(0, len), t, lookback, &c)) out->push_back(std::move(c));
  }
}

std::vector<ListingInterval> RiskAreaTable::AllIntervals() const {
  std::vector<ListingInterval> out;
  for (const auto& [area, history] : areas_) {
    for (ListingInterval& iv : Intervals(history)) {
      iv.area = area;
      out.push_back(std::move(iv));
    }
  }
  std::sort(out.begin(), out.end(), [](const ListingInterval& a, const ListingInterval& b) {
    return std::tie(a.area, a.listed_at) < std::tie(b.area, b.listed_at);
  });
  return out;
}

bool RiskAreaTable::IntervalAt(std::string_view area, TimestampMs ts, ListingInterval* out) const {
  auto it = areas_.find(std::string(area));
  if (it == areas_.end()) return false;
  for (ListingInterval& iv : Intervals(it->second)) {
    if (ts >= iv.listed_at && ts <= iv.delisted_at) {
      iv.area = std::string(area);
      *out = std::move(iv);
      return true;
    }
  }
  return false;
}

}  // namespace epistream
