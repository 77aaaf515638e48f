// DailyRoutine: the ordinary venue visits of one person on one day.
//
// Each age group has a weekday and a weekend table of activities (commute by
// metro, work or school, lunch near work, shopping, eating out, evening
// entertainment, passing the compound gate, a routine nucleic-acid test...),
// each with a probability and a time window. Every activity draws from its
// own stream keyed by (seed, person, day, activity), so generating only the
// activities whose window meets a time slice yields exactly the visits of that
// slice: a day can be produced slice by slice, in any order, without keeping
// the day's visits in memory.
//
// The routine knows nothing of travel, quarantine or illness; the generator
// filters visits against a person's special state (CityPlanner).
// Immutable after construction; thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include "bench/city/city_config.h"
#include "bench/city/city_model.h"

namespace epistream {

struct RoutineVisit {
  int32_t ms_of_day;  // local time of day
  uint32_t venue;
  uint8_t
      seq;  // activity number: unique per person and day, < kFirstPlannedSeq
  VenueKind kind;
};

// Sequence numbers at or above this are planned (special) events.
inline constexpr uint8_t kFirstPlannedSeq = 64;

class DailyRoutine {
 public:
  DailyRoutine(const CityConfig& config, const CityModel& model);

  // Cuts the day into `slices` equal slices (1..24; set up, before Generate).
  void SetSlicesPerDay(int slices);
  int slices_per_day() const { return slices_; }
  // Local time of day where a slice starts / ends (exclusive).
  int32_t SliceFrom(int slice) const { return slice * slice_span_; }
  int32_t SliceTo(int slice) const {
    return slice + 1 == slices_ ? static_cast<int32_t>(kDayMs)
                                : (slice + 1) * slice_span_;
  }

  // Appends to *out the person's routine visits on `day` whose local time of
  // day lies in the slice.
  void Generate(const PersonProfile& person, int day, bool weekend, int slice,
                std::vector<RoutineVisit>* out) const;

  // The code colour shown that day without a known cause (mostly green).
  CodeColor DailyCode(uint32_t person, int day) const;

  // False if no activity of any table can fall in the slice (night).
  bool AnyActivityIn(int slice) const { return slice_has_activity_[slice]; }

  // Expected routine visits per person and day (for sizing slices).
  double ExpectedVisitsPerDay() const { return expected_per_day_; }

 private:
  enum class Pick : uint8_t {
    kWorkplace,  // the person's office / hospital / station / school
    kNearWork,   // near the workplace (lunch)
    kHome,       // near home, often the usual one
    kCity,       // anywhere in the city
    kResidential,
    kMetroHome,  // the station near home (metro users only)
    kMetroWork,  // the station near work (metro users only)
  };
  struct Activity {
    VenueKind kind;
    Pick pick;
    double prob;         // per day
    double prob_shift;   // for shift workers (medical, transport, cold chain)
    uint32_t threshold;  // prob and prob_shift in 1/65536
    uint32_t threshold_shift;
    int32_t from_ms;
    int32_t to_ms;
  };
  static constexpr size_t kMaxActivities = 16;
  struct Table {
    std::vector<Activity> activities;
  };
  uint32_t PickVenue(const Activity& a, const PersonProfile& p,
                     uint32_t workplace, uint64_t random) const;

  const CityModel& model_;
  uint64_t seed_;
  double yellow_rate_;
  double red_rate_;
  Table tables_[kNumAgeGroups][2];  // [group][weekend]
  double expected_per_day_ = 0;
  int slices_ = 1;
  int32_t slice_span_ = static_cast<int32_t>(kDayMs);
  // [(group * 2 + weekend) * slices + slice]: activities meeting the slice.
  std::vector<std::vector<uint8_t>> overlapping_;
  std::vector<bool> slice_has_activity_;
};

}  // namespace epistream
