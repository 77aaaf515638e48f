// VenueActivity: whether a venue had a scan in the case window, as presence
// spans of the venue itself (presence_span.h), so the city-wide count of
// active venues V (the Bonferroni divisor of fever_cluster) is exact at
// every event time. One record per venue scanned recently (G C A<venue>).
//
// Per scan the work is one hash lookup and, for a venue already active,
// moving `last`; a delta to V only when a venue becomes active or goes quiet.
// Threading: owned by the cluster stage thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "operators/cluster/presence_span.h"

namespace epistream {

struct VenueActivity {
  std::vector<PresenceSpan> spans;
  TimestampMs timer = kNoPresenceTimer;  // the pending close timer, if any

  bool Empty() const { return spans.empty() && timer == kNoPresenceTimer; }
  void Encode(std::string* out) const;
  Status Decode(std::string_view bytes);
};

}  // namespace epistream
