#include "operators/cluster/venue_day_window.h"

#include <algorithm>
#include <tuple>

#include "engine/byte_codec.h"

namespace epistream {
namespace {

constexpr uint8_t kVersion = 1;

}  // namespace

bool VenueDay::AddLink(const CaseLink& link) { return AddCaseLink(&links, link); }

bool VenueDay::HasFeverAt(TimestampMs a) const {
  return std::any_of(links.begin(), links.end(),
                     [a](const CaseLink& l) { return l.fever_ts == a; });
}

std::vector<const CaseLink*> VenueDay::CasesUpTo(TimestampMs to,
                                                 TimestampMs* latest) const {
  std::vector<const CaseLink*> out;
  *latest = kMinTimestamp;
  // links are sorted by time: the first link of a person is its earliest.
  for (const CaseLink& l : links) {
    if (l.fever_ts > to) break;
    *latest = std::max(*latest, l.fever_ts);
    const bool seen = std::any_of(
        out.begin(), out.end(),
        [&](const CaseLink* o) { return o->person_id == l.person_id; });
    if (!seen) out.push_back(&l);
  }
  return out;
}

VenueDay& VenueDayWindow::Day(int64_t day) {
  auto it =
      std::lower_bound(days.begin(), days.end(), day,
                       [](const VenueDay& d, int64_t x) { return d.day < x; });
  if (it != days.end() && it->day == day) return *it;
  it = days.insert(it, VenueDay());
  it->day = day;
  return *it;
}

void VenueDayWindow::Prune(int64_t first_day, TimestampMs episode_horizon,
                           TimestampMs count_horizon) {
  days.erase(days.begin(), std::lower_bound(days.begin(), days.end(), first_day,
                                            [](const VenueDay& d, int64_t x) {
                                              return d.day < x;
                                            }));
  for (VenueDay& d : days) d.visitors.Compact(count_horizon);
  if (has_episode && episode.last_ts < episode_horizon) {
    has_episode = false;
    episode = ClusterEpisode();
  }
}

bool VenueDayWindow::Empty() const { return days.empty() && !has_episode; }

void VenueDayWindow::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kVersion);
  w.Varint(days.size());
  for (const VenueDay& d : days) {
    w.SignedVarint(d.day);
    d.visitors.Encode(&w);
    w.Varint(d.links.size());
    for (const CaseLink& l : d.links) EncodeCaseLink(l, &w);
  }
  w.U8(has_episode ? 1 : 0);
  if (has_episode) EncodeEpisode(episode, &w);
}

Status VenueDayWindow::Decode(std::string_view bytes) {
  *this = VenueDayWindow();
  ByteReader r(bytes);
  if (r.U8() != kVersion)
    return Status::Corruption("venue-day window: unknown version");
  // A count can never exceed the bytes left: guards the resize.
  auto count = [&]() -> size_t {
    const uint64_t n = r.Varint();
    return n > bytes.size() ? 0 : static_cast<size_t>(n);
  };
  days.resize(count());
  bool ok = true;
  for (VenueDay& d : days) {
    d.day = r.SignedVarint();
    ok = d.visitors.Decode(&r) && ok;
    d.links.resize(count());
    for (CaseLink& l : d.links) DecodeCaseLink(&r, &l);
  }
  has_episode = r.U8() != 0;
  if (has_episode) DecodeEpisode(&r, bytes.size(), &episode);
  if (!ok || !r.ok() || !r.done()) {
    *this = VenueDayWindow();
    return Status::Corruption("venue-day window: truncated or trailing bytes");
  }
  return Status::Ok();
}

}  // namespace epistream
