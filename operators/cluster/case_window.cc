#include "operators/cluster/case_window.h"

#include <algorithm>
#include <tuple>

#include "engine/byte_codec.h"

namespace epistream {
namespace {

// 2: the population in chunked form (DeltaCounter::EncodeChunked); 1 (flat
// population) still decodes and is written as 2 at the next checkpoint.
constexpr uint8_t kVersion = 2;
constexpr uint8_t kVersionFlatPopulation = 1;

}  // namespace

bool CaseLinkLess(const CaseLink& a, const CaseLink& b) {
  return std::tie(a.fever_ts, a.person_id, a.event_id) <
         std::tie(b.fever_ts, b.person_id, b.event_id);
}

void EncodeCaseLink(const CaseLink& l, ByteWriter* w) {
  w->Str(l.person_id);
  w->Str(l.event_id);
  w->Str(l.clinic_id);
  w->SignedVarint(l.fever_ts);
  w->SignedVarint(l.fever_ts - l.scan_ts);
}

void DecodeCaseLink(ByteReader* r, CaseLink* l) {
  l->person_id = std::string(r->Str());
  l->event_id = std::string(r->Str());
  l->clinic_id = std::string(r->Str());
  l->fever_ts = r->SignedVarint();
  l->scan_ts = l->fever_ts - r->SignedVarint();
}

void EncodeEpisode(const ClusterEpisode& e, ByteWriter* w) {
  w->Str(e.cluster_id);
  w->SignedVarint(e.started_at);
  w->SignedVarint(e.version);
  w->Varint(e.reported_count);
  w->SignedVarint(e.first_ts);
  w->SignedVarint(e.last_ts);
  w->Varint(e.members.size());
  for (const CaseLink& m : e.members) EncodeCaseLink(m, w);
}

void DecodeEpisode(ByteReader* r, size_t max_members, ClusterEpisode* e) {
  e->cluster_id = std::string(r->Str());
  e->started_at = r->SignedVarint();
  e->version = static_cast<int32_t>(r->SignedVarint());
  e->reported_count = r->Varint();
  e->first_ts = r->SignedVarint();
  e->last_ts = r->SignedVarint();
  const uint64_t n = r->Varint();
  // A count can never exceed the bytes: guards the resize.
  e->members.resize(n > max_members ? 0 : static_cast<size_t>(n));
  for (CaseLink& m : e->members) DecodeCaseLink(r, &m);
}

uint64_t NextVersionStep(uint64_t reported) {
  static constexpr uint64_t kFirst[] = {3, 4, 5, 6, 8, 10};
  for (uint64_t s : kFirst) {
    if (s > reported) return s;
  }
  uint64_t s = 10;
  while (s <= reported) s = s + (s + 1) / 2;  // ceil(1.5 s)
  return s;
}

bool ClusterEpisode::HasMember(std::string_view person) const {
  return std::any_of(members.begin(), members.end(),
                     [&](const CaseLink& m) { return m.person_id == person; });
}

bool ClusterEpisode::AddMember(const CaseLink& link) {
  if (HasMember(link.person_id)) return false;
  auto pos =
      std::upper_bound(members.begin(), members.end(), link, CaseLinkLess);
  members.insert(pos, link);
  return true;
}

bool AddCaseLink(std::vector<CaseLink>* links, const CaseLink& link) {
  for (CaseLink& l : *links) {
    if (l.person_id == link.person_id && l.event_id == link.event_id) {
      l.scan_ts = std::max(l.scan_ts, link.scan_ts);
      return false;
    }
  }
  links->insert(std::upper_bound(links->begin(), links->end(), link, CaseLinkLess), link);
  return true;
}

bool CaseWindow::AddLink(const CaseLink& link) { return AddCaseLink(&links, link); }

std::vector<const CaseLink*> CaseWindow::CasesIn(TimestampMs from,
                                                 TimestampMs to,
                                                 TimestampMs* latest) const {
  std::vector<const CaseLink*> out;
  *latest = kMinTimestamp;
  // links are sorted by time: the first link of a person is its earliest.
  for (const CaseLink& l : links) {
    if (l.fever_ts < from) continue;
    if (l.fever_ts > to) break;
    *latest = std::max(*latest, l.fever_ts);
    const bool seen = std::any_of(
        out.begin(), out.end(),
        [&](const CaseLink* o) { return o->person_id == l.person_id; });
    if (!seen) out.push_back(&l);
  }
  return out;
}

void CaseWindow::Prune(TimestampMs link_horizon, TimestampMs episode_horizon,
                       TimestampMs count_horizon) {
  links.erase(links.begin(),
              std::lower_bound(links.begin(), links.end(), link_horizon,
                               [](const CaseLink& l, TimestampMs t) {
                                 return l.fever_ts < t;
                               }));
  if (has_episode && episode.last_ts < episode_horizon) {
    has_episode = false;
    episode = ClusterEpisode();
  }
  population.Compact(count_horizon);
}

bool CaseWindow::Empty() const {
  return links.empty() && population.Empty() && registered == 0 && !has_episode;
}

void CaseWindow::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kVersion);
  w.Varint(links.size());
  for (const CaseLink& l : links) EncodeCaseLink(l, &w);
  population.EncodeChunked(&w);
  w.SignedVarint(registered);
  w.U8(has_episode ? 1 : 0);
  if (has_episode) EncodeEpisode(episode, &w);
}

Status CaseWindow::Decode(std::string_view bytes) {
  *this = CaseWindow();
  ByteReader r(bytes);
  const uint8_t version = r.U8();
  if (version != kVersion && version != kVersionFlatPopulation)
    return Status::Corruption("case window: unknown version");
  auto count = [&]() -> size_t {
    const uint64_t n = r.Varint();
    return n > bytes.size() ? 0 : static_cast<size_t>(n);
  };
  links.resize(count());
  for (CaseLink& l : links) DecodeCaseLink(&r, &l);
  const bool population_ok = version == kVersion ? population.DecodeChunked(&r)
                                                 : population.Decode(&r);
  registered = r.SignedVarint();
  has_episode = r.U8() != 0;
  if (has_episode) DecodeEpisode(&r, bytes.size(), &episode);
  if (!population_ok || !r.ok() || !r.done()) {
    *this = CaseWindow();
    return Status::Corruption("case window: truncated or trailing bytes");
  }
  return Status::Ok();
}

}  // namespace epistream
