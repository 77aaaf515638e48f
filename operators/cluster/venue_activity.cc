#include "operators/cluster/venue_activity.h"

#include "engine/byte_codec.h"

namespace epistream {
namespace {
constexpr uint8_t kVersion = 1;
}

void VenueActivity::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kVersion);
  w.U8(timer == kNoPresenceTimer ? 0 : 1);
  if (timer != kNoPresenceTimer) w.SignedVarint(timer);
  w.Varint(spans.size());
  for (const PresenceSpan& s : spans) {
    w.SignedVarint(s.start);
    w.SignedVarint(s.last - s.start);
    w.U8(s.closed ? 1 : 0);
  }
}

Status VenueActivity::Decode(std::string_view bytes) {
  *this = VenueActivity();
  ByteReader r(bytes);
  if (r.U8() != kVersion)
    return Status::Corruption("venue activity: unknown version");
  if (r.U8() != 0) timer = r.SignedVarint();
  const uint64_t n = r.Varint();
  spans.resize(n > bytes.size() ? 0 : static_cast<size_t>(n));
  for (PresenceSpan& s : spans) {
    s.start = r.SignedVarint();
    s.last = s.start + r.SignedVarint();
    s.closed = r.U8() != 0;
  }
  if (!r.ok() || !r.done()) {
    *this = VenueActivity();
    return Status::Corruption("venue activity: truncated or trailing bytes");
  }
  return Status::Ok();
}

}  // namespace epistream
