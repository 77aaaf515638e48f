// PersonSpecial: what sets a person apart from the daily routine for a while:
// being away on a trip, in home quarantine, ill, under a non-green code, not
// taking tests, and the planned events (arrival, fever visit, test, breach)
// that the routine does not produce. Only a small share of the population has
// one at any time; entries expire and are erased, so memory does not grow with
// the number of simulated days.
//
// Planned events get sequence numbers >= kFirstPlannedSeq, unique per person
// and local day, so their event ids ("<type><day>-<person>-<seq>") are known
// when they are planned and the ground truth can name them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/city/daily_routine.h"
#include "engine/event_time.h"
#include "operators/event.h"

namespace epistream {

enum class WindowKind : uint8_t {
  kAway,        // out of the city: no routine
  kQuarantine,  // home quarantine: no routine
  kSick,        // ill at home: no routine
  kNoTest,      // skips nucleic-acid tests
};

struct TimeWindow {
  TimestampMs from;
  TimestampMs until;  // exclusive
  WindowKind kind;
};

struct CodeWindow {
  TimestampMs from;
  TimestampMs until;
  CodeColor color;
};

enum class ItemKind : uint8_t { kScan, kTransport, kFever };

struct PlannedItem {
  TimestampMs ts = 0;
  int32_t day = 0;  // local simulated day of ts
  ItemKind kind = ItemKind::kScan;
  uint8_t seq = 0;
  uint32_t venue = 0;  // scan venue, transport hub, or fever hospital
  // transport
  TransportMode mode = TransportMode::kRail;
  TravelCategory category = TravelCategory::kDomestic;
  std::string regions_json;  // `"origin_region":"...","trip_regions":[...]`
  // fever
  uint16_t temp_tenths = 0;  // 373 = 37.3 C
  uint8_t symptoms = 0;      // bit set over the symptom names
};

// How long an exposure is remembered: the engine's default state retention
// (its memory of which areas a person was already flagged for).
inline constexpr DurationMs kExposureRetention = 21 * kDayMs;

// A returnee_risk_area exposure (an expected alert), for fever_returnee and
// the once-per-person-and-area rule.
struct Exposure {
  TimestampMs entry_ts;
  int32_t entry_day;
  uint8_t entry_seq;
  uint32_t listing;
};

struct PersonSpecial {
  std::vector<TimeWindow> windows;
  std::vector<CodeWindow> codes;
  std::vector<PlannedItem> items;
  std::vector<Exposure> exposures;

  // True if a routine visit of `kind` at ts does not happen.
  bool Blocks(TimestampMs ts, VenueKind kind) const {
    for (const TimeWindow& w : windows) {
      if (ts < w.from || ts >= w.until) continue;
      if (w.kind != WindowKind::kNoTest || kind == VenueKind::kTestSite)
        return true;
    }
    return false;
  }
  bool Has(WindowKind kind, TimestampMs from, TimestampMs until) const {
    for (const TimeWindow& w : windows) {
      if (w.kind == kind && w.from < until && from < w.until) return true;
    }
    return false;
  }
  // The worst code colour that applies at ts, or `base`.
  CodeColor CodeAt(TimestampMs ts, CodeColor base) const {
    CodeColor c = base;
    for (const CodeWindow& w : codes) {
      if (ts >= w.from && ts < w.until && w.color > c) c = w.color;
    }
    return c;
  }
  // A fresh sequence number for a planned event on `day`.
  uint8_t NextSeq(int32_t day) const {
    int n = 0;
    for (const PlannedItem& it : items) n += it.day == day;
    return static_cast<uint8_t>(kFirstPlannedSeq + n);
  }
  // Drops what ended before `t`; true if nothing is left.
  bool Prune(TimestampMs t);
};

}  // namespace epistream
