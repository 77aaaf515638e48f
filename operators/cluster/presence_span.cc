#include "operators/cluster/presence_span.h"

#include <algorithm>

namespace epistream {
namespace {

// Adds (ts, delta) to a short list, merging equal stamps and dropping zeros.
void Accumulate(std::vector<StampedDelta>* out, size_t from, TimestampMs ts,
                int32_t delta) {
  for (size_t i = from; i < out->size(); ++i) {
    if ((*out)[i].ts == ts) {
      (*out)[i].delta += delta;
      if ((*out)[i].delta == 0)
        out->erase(out->begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
  out->push_back({ts, delta});
}

}  // namespace

TimestampMs AddOccurrence(std::vector<PresenceSpan>* spans, uint8_t track,
                          std::string_view key, TimestampMs ts,
                          DurationMs window,
                          std::vector<StampedDelta>* deltas) {
  // Spans whose coverage [start, last + window] touches [ts, ts + window]
  // (adjacent ones too: merging them changes no value, and keeps spans few).
  size_t touching = 0;
  size_t first = spans->size();
  for (size_t i = 0; i < spans->size(); ++i) {
    const PresenceSpan& s = (*spans)[i];
    if (s.track != track || s.key != key) continue;
    if (ts <= s.last + window + 1 && ts + window + 1 >= s.start) {
      if (touching++ == 0) first = i;
    }
  }
  if (touching == 1) {
    PresenceSpan& s = (*spans)[first];
    if (!s.closed && ts >= s.start) {  // the hot path: a repeat occurrence
      s.last = std::max(s.last, ts);
      return s.End(window);
    }
    if (s.closed && ts >= s.start && ts <= s.last)
      return s.End(window);  // changes nothing
  }
  // General case: replace the touching spans by one open span covering them
  // and ts, and emit new contributions minus old ones.
  PresenceSpan merged;
  merged.track = track;
  merged.key = std::string(key);
  merged.start = ts;
  merged.last = ts;
  const size_t base = deltas->size();
  for (size_t i = 0; i < spans->size();) {
    PresenceSpan& s = (*spans)[i];
    if (s.track == track && s.key == key && ts <= s.last + window + 1 &&
        ts + window + 1 >= s.start) {
      merged.start = std::min(merged.start, s.start);
      merged.last = std::max(merged.last, s.last);
      Accumulate(deltas, base, s.start, -1);
      if (s.closed) Accumulate(deltas, base, s.End(window), +1);
      spans->erase(spans->begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;
  }
  Accumulate(deltas, base, merged.start, +1);
  std::sort(
      deltas->begin() + static_cast<std::ptrdiff_t>(base), deltas->end(),
      [](const StampedDelta& a, const StampedDelta& b) { return a.ts < b.ts; });
  const TimestampMs end = merged.End(window);
  spans->push_back(std::move(merged));
  return end;
}

TimestampMs CloseDueSpans(
    std::vector<PresenceSpan>* spans, TimestampMs watermark,
    const std::function<DurationMs(uint8_t)>& window_of,
    const std::function<void(const PresenceSpan&, TimestampMs)>& closed) {
  TimestampMs next = kNoPresenceTimer;
  for (PresenceSpan& s : *spans) {
    if (s.closed) continue;
    const TimestampMs end = s.End(window_of(s.track));
    if (end <= watermark) {
      s.closed = true;
      closed(s, end);
    } else {
      next = std::min(next, end);
    }
  }
  return next;
}

void PruneClosedSpans(std::vector<PresenceSpan>* spans, TimestampMs horizon,
                      const std::function<DurationMs(uint8_t)>& window_of) {
  spans->erase(std::remove_if(spans->begin(), spans->end(),
                              [&](const PresenceSpan& s) {
                                return s.closed &&
                                       s.End(window_of(s.track)) <= horizon;
                              }),
               spans->end());
}

}  // namespace epistream
