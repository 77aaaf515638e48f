// RiskAreaTable: the global table of risk-area listings with their history.
//
// Every instance holds all of it (CONTRACT.md section 2). For each listed code
// the history of records (ts, level) is kept, so joins use event time: an
// arrival at t is covered by a listing interval [L, D] (listed at L by a
// medium/high record, de-listed at D by the next `low` record, or still
// listed) when L - lookback <= t <= D. A listed code covers every region code
// it is a prefix of (a county covers its streets). A change between medium and
// high keeps the area listed; the level in force at max(t, L) decides severity.
//
// Persisted under GA<region>; records are staged into the store as they are
// applied, so the table commits with the checkpoint.
//
// Threading: owned by the stage thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/event_time.h"
#include "engine/kv_store.h"
#include "engine/status.h"
#include "operators/event.h"

namespace epistream {

// One listing interval of an area.
struct ListingInterval {
  std::string area;                   // the listed code
  TimestampMs listed_at = 0;          // L
  TimestampMs delisted_at = INT64_MAX;  // D, or INT64_MAX while listed
  std::string listing_event_id;       // the record that started the interval
  std::string delisting_event_id;
};

// An interval matched for one arrival time, with the level in force.
struct Coverage {
  ListingInterval interval;
  RiskLevel level = RiskLevel::kMedium;
  std::string level_event_id;  // record that set `level`
  TimestampMs level_ts = 0;
};

class RiskAreaTable {
 public:
  explicit RiskAreaTable(KvStore* store) : store_(store) {}

  Status Load();

  // Adds a risk_area record to the history. Returns false (and changes
  // nothing) when the same event_id is already in that code's history.
  bool Apply(const Event& rec);

  // Appends to *out the first interval of each listed code that prefixes
  // `code` and covers time t (L - lookback <= t <= D).
  void Covering(std::string_view code, TimestampMs t, DurationMs lookback,
                std::vector<Coverage>* out) const;

  // The coverage of `area` for time t, if its history has one.
  bool CoverageOf(std::string_view area, TimestampMs t, DurationMs lookback, Coverage* out) const;

  // The listing interval of `area` that contains record time `ts` (a
  // medium/high record), or false.
  bool IntervalAt(std::string_view area, TimestampMs ts, ListingInterval* out) const;

  // Every listing interval of every area, areas in code order.
  std::vector<ListingInterval> AllIntervals() const;

  size_t size() const { return areas_.size(); }

 private:
  struct Change {
    TimestampMs ts = 0;
    RiskLevel level = RiskLevel::kLow;
    std::string event_id;
  };
  using History = std::vector<Change>;  // sorted by (ts, event_id)

  static std::vector<ListingInterval> Intervals(const History& h);
  static void EncodeHistory(const History& h, std::string* out);
  static bool DecodeHistory(std::string_view bytes, History* h);

  KvStore* store_;
  std::unordered_map<std::string, History> areas_;
  size_t max_code_len_ = 0;
};

// True for a 2..12 digit administrative code or a 2-letter ISO country code.
bool IsRegionCode(std::string_view code);

}  // namespace epistream
