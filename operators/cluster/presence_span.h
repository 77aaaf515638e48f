// Presence spans: exact distinct counts over sliding event-time windows
// without sets of persons (ARCHITECTURE.md "Exact distinct counts").
//
// A subject (a person, or a venue) is present in a window of length W at time
// a when it had an occurrence (a scan, a fever visit...) in [a - W, a]. Over
// all a this is a union of spans [start, last + W], one per run of
// occurrences less than W + 1 ms apart. The subject contributes +1 to a
// distinct count at each span's start and -1 at end = last + W + 1, so a
// counter that sums the stamps <= a (DeltaCounter) holds the exact number of
// present subjects at a.
//
// Deltas are emitted by the owner of the subject's spans:
//   - the +1 at a span's start as soon as the span exists;
//   - the -1 lazily, when the watermark passes the end (a timer at the
//     earliest open end, CloseDue): until then a later occurrence may still
//     extend the span, which then costs nothing (the hot path: a repeat visit
//     moves `last` and emits no delta).
// An occurrence that arrives out of order (before a span's start, or bridging
// two spans, or extending a span already closed within the allowed lateness)
// merges the spans it touches and emits the difference between the old and
// the new contributions, so every value at every a stays exact.
//
// Invariant kept by the callers: when an occurrence or a timer is processed,
// every open span ends after the watermark (CloseDue ran for the watermark),
// and closed spans are dropped only when their end <= watermark - allowed
// lateness (no accepted occurrence can reach them any more).
//
// Threading: plain functions on caller-owned vectors.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_time.h"

namespace epistream {

struct PresenceSpan {
  std::string key;  // e.g. the venue id; empty for city-wide tracks
  TimestampMs start = 0;
  TimestampMs last = 0;  // latest occurrence in the span
  uint8_t track = 0;     // which count the span belongs to (caller-defined)
  bool closed = false;   // the -1 at End() was emitted

  TimestampMs End(DurationMs window) const { return last + window + 1; }
};

// A change of a distinct count: `delta` from time `ts` on.
struct StampedDelta {
  TimestampMs ts = 0;
  int32_t delta = 0;
};

// No pending timer.
inline constexpr TimestampMs kNoPresenceTimer = INT64_MAX;

// Records an occurrence at `ts` in (track, key) with window `window`.
// Appends the count changes to *deltas (usually none, at most one per span
// touched plus one) and returns the end of the open span now covering ts:
// the caller makes sure a timer is due at or before it.
TimestampMs AddOccurrence(std::vector<PresenceSpan>* spans, uint8_t track,
                          std::string_view key, TimestampMs ts,
                          DurationMs window, std::vector<StampedDelta>* deltas);

// Closes every open span whose end <= watermark, calling closed(span, end)
// for its -1. `window_of(track)` gives each track's window. Returns the
// earliest end of the spans still open, or kNoPresenceTimer.
TimestampMs CloseDueSpans(
    std::vector<PresenceSpan>* spans, TimestampMs watermark,
    const std::function<DurationMs(uint8_t)>& window_of,
    const std::function<void(const PresenceSpan&, TimestampMs)>& closed);

// Drops closed spans whose end <= horizon (watermark - allowed lateness).
void PruneClosedSpans(std::vector<PresenceSpan>* spans, TimestampMs horizon,
                      const std::function<DurationMs(uint8_t)>& window_of);

}  // namespace epistream
