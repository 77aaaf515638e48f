#include "bench/city/person_special.h"

#include <algorithm>

namespace epistream {

bool PersonSpecial::Prune(TimestampMs t) {
  std::erase_if(windows, [t](const TimeWindow& w) { return w.until <= t; });
  std::erase_if(codes, [t](const CodeWindow& w) { return w.until <= t; });
  std::erase_if(items, [t](const PlannedItem& it) { return it.ts < t; });
  // An exposure matters to fever_returnee for 14 days after the entry, and
  // to the once-per-person-and-area rule for the engine's state retention.
  std::erase_if(exposures, [t](const Exposure& e) {
    return e.entry_ts + kExposureRetention <= t;
  });
  return windows.empty() && codes.empty() && items.empty() && exposures.empty();
}

}  // namespace epistream
