#include "bench/city/daily_routine.h"

#include <algorithm>

#include "bench/city/city_random.h"

namespace epistream {
namespace {

constexpr int32_t Hm(int h, int m) { return (h * 60 + m) * 60 * 1000; }

// A row of the activity tables: probability per day (shift workers: second
// figure), local time window. kTest marks the routine nucleic-acid test, whose
// probability is CityConfig::routine_test_rate.
struct Row {
  VenueKind kind;
  int pick;  // DailyRoutine::Pick
  double prob;
  double prob_shift;
  int32_t from_ms;
  int32_t to_ms;
};
constexpr double kTest = -1;
constexpr int kWork = 0, kNearWork = 1, kHome = 2, kCity = 3, kGate = 4,
              kMetroHome = 5, kMetroWork = 6;
using K = VenueKind;

// Figures: rough shares of a 2022 Chinese city under code-scan rules, where
// compound gates, metro stations and every shop scanned; about 3.7 scans per
// person and day overall.
constexpr Row kWorkerWeekday[] = {
    {K::kTransportStation, kMetroHome, 0.9, 0.9, Hm(7, 0), Hm(8, 40)},
    {K::kOffice, kWork, 0.93, 0.8, Hm(7, 40), Hm(9, 30)},
    {K::kRestaurant, kNearWork, 0.5, 0.4, Hm(11, 20), Hm(13, 20)},
    {K::kRestaurant, kNearWork, 0.12, 0.05, Hm(14, 30),
     Hm(16, 30)},                                          // coffee, tea
    {K::kOther, kCity, 0.06, 0.04, Hm(14, 0), Hm(17, 0)},  // bank, service hall
    {K::kTransportStation, kMetroWork, 0.85, 0.85, Hm(17, 20), Hm(19, 0)},
    {K::kSupermarket, kHome, 0.25, 0.25, Hm(18, 0), Hm(20, 30)},
    {K::kMarket, kHome, 0.06, 0.06, Hm(17, 30), Hm(19, 30)},
    {K::kRestaurant, kHome, 0.22, 0.2, Hm(18, 0), Hm(20, 30)},
    {K::kMall, kCity, 0.08, 0.06, Hm(18, 30), Hm(21, 30)},
    {K::kEntertainment, kCity, 0.06, 0.05, Hm(19, 0), Hm(22, 30)},
    {K::kResidential, kGate, 0.75, 0.75, Hm(18, 30), Hm(23, 0)},
    {K::kTestSite, kHome, kTest, kTest, Hm(7, 0), Hm(20, 0)},
    {K::kHospital, kHome, 0.01, 0.01, Hm(8, 0), Hm(16, 0)},  // outpatient
};
constexpr Row kWorkerWeekend[] = {
    {K::kOffice, kWork, 0.12, 0.55, Hm(8, 0), Hm(10, 0)},
    {K::kMarket, kHome, 0.12, 0.1, Hm(7, 0), Hm(10, 0)},
    {K::kSupermarket, kHome, 0.3, 0.25, Hm(9, 30), Hm(20, 0)},
    {K::kRestaurant, kHome, 0.35, 0.25, Hm(11, 0), Hm(13, 30)},
    {K::kMall, kCity, 0.25, 0.15, Hm(10, 0), Hm(21, 0)},
    {K::kRestaurant, kCity, 0.35, 0.25, Hm(17, 30), Hm(20, 30)},
    {K::kEntertainment, kCity, 0.18, 0.1, Hm(14, 0), Hm(23, 0)},
    {K::kOther, kCity, 0.1, 0.06, Hm(9, 0), Hm(17, 0)},  // park, museum
    {K::kElderlyCare, kCity, 0.03, 0.02, Hm(9, 0), Hm(17, 0)},
    {K::kResidential, kGate, 0.5, 0.4, Hm(11, 0), Hm(14, 0)},
    {K::kResidential, kGate, 0.7, 0.7, Hm(17, 0), Hm(23, 0)},
    {K::kTestSite, kHome, kTest, kTest, Hm(8, 0), Hm(19, 0)},
    {K::kHospital, kHome, 0.008, 0.008, Hm(8, 0), Hm(16, 0)},
    {K::kTransportStation, kMetroHome, 0.35, 0.3, Hm(9, 30), Hm(11, 30)},
    {K::kTransportStation, kMetroHome, 0.35, 0.3, Hm(16, 30), Hm(21, 0)},
};
constexpr Row kChildWeekday[] = {
    {K::kSchool, kWork, 0.96, 0.96, Hm(7, 0), Hm(8, 10)},
    {K::kTransportStation, kMetroHome, 0.9, 0.9, Hm(6, 40), Hm(7, 40)},
    {K::kOther, kHome, 0.25, 0.25, Hm(17, 0), Hm(19, 0)},  // tutoring centre
    {K::kRestaurant, kHome, 0.08, 0.08, Hm(17, 30), Hm(19, 30)},
    {K::kSupermarket, kHome, 0.08, 0.08, Hm(17, 0), Hm(20, 0)},
    {K::kTransportStation, kMetroHome, 0.9, 0.9, Hm(16, 0), Hm(17, 30)},
    {K::kResidential, kGate, 0.75, 0.75, Hm(16, 0), Hm(19, 30)},
    {K::kTestSite, kHome, kTest, kTest, Hm(7, 0), Hm(18, 0)},
    {K::kHospital, kHome, 0.01, 0.01, Hm(8, 0), Hm(16, 0)},
};
constexpr Row kChildWeekend[] = {
    {K::kMall, kCity, 0.3, 0.3, Hm(10, 0), Hm(20, 0)},
    {K::kRestaurant, kHome, 0.4, 0.4, Hm(11, 0), Hm(20, 0)},
    {K::kEntertainment, kCity, 0.25, 0.25, Hm(9, 0), Hm(20, 0)},
    {K::kSupermarket, kHome, 0.15, 0.15, Hm(9, 0), Hm(20, 0)},
    {K::kOther, kCity, 0.2, 0.2, Hm(8, 0), Hm(17, 0)},
    {K::kResidential, kGate, 0.5, 0.5, Hm(11, 0), Hm(14, 0)},
    {K::kResidential, kGate, 0.6, 0.6, Hm(16, 0), Hm(21, 0)},
    {K::kTestSite, kHome, kTest, kTest, Hm(8, 0), Hm(18, 0)},
    {K::kHospital, kHome, 0.01, 0.01, Hm(8, 0), Hm(16, 0)},
};
constexpr Row kElderly[] = {
    {K::kMarket, kHome, 0.5, 0.5, Hm(6, 0), Hm(9, 30)},
    {K::kSupermarket, kHome, 0.3, 0.3, Hm(8, 30), Hm(11, 30)},
    {K::kOther, kHome, 0.2, 0.2, Hm(6, 0), Hm(10, 0)},  // park, senior centre
    {K::kElderlyCare, kHome, 0.12, 0.12, Hm(9, 0), Hm(16, 0)},
    {K::kRestaurant, kHome, 0.1, 0.1, Hm(11, 0), Hm(13, 0)},
    {K::kHospital, kHome, 0.04, 0.04, Hm(7, 30), Hm(11, 30)},
    {K::kResidential, kGate, 0.5, 0.5, Hm(9, 0), Hm(12, 0)},
    {K::kResidential, kGate, 0.6, 0.6, Hm(15, 0), Hm(19, 0)},
    {K::kTestSite, kHome, kTest, kTest, Hm(7, 0), Hm(11, 0)},
    {K::kMall, kCity, 0.06, 0.06, Hm(14, 0), Hm(18, 0)},
    {K::kTransportStation, kMetroHome, 0.9, 0.9, Hm(13, 0), Hm(15, 0)},
};
constexpr Row kOtherAdultWeekday[] = {
    {K::kMarket, kHome, 0.25, 0.25, Hm(7, 0), Hm(10, 0)},
    {K::kSupermarket, kHome, 0.4, 0.4, Hm(9, 0), Hm(20, 0)},
    {K::kRestaurant, kHome, 0.25, 0.25, Hm(11, 0), Hm(13, 30)},
    {K::kMall, kCity, 0.18, 0.18, Hm(10, 0), Hm(21, 0)},
    {K::kRestaurant, kCity, 0.25, 0.25, Hm(17, 30), Hm(20, 30)},
    {K::kEntertainment, kCity, 0.1, 0.1, Hm(14, 0), Hm(23, 0)},
    {K::kOther, kCity, 0.15, 0.15, Hm(9, 0), Hm(17, 0)},
    {K::kHospital, kHome, 0.015, 0.015, Hm(8, 0), Hm(16, 0)},
    {K::kResidential, kGate, 0.5, 0.5, Hm(11, 0), Hm(14, 0)},
    {K::kResidential, kGate, 0.6, 0.6, Hm(17, 0), Hm(23, 0)},
    {K::kTestSite, kHome, kTest, kTest, Hm(7, 0), Hm(20, 0)},
    {K::kTransportStation, kMetroHome, 0.8, 0.8, Hm(9, 0), Hm(11, 0)},
    {K::kTransportStation, kMetroHome, 0.8, 0.8, Hm(16, 0), Hm(20, 0)},
};
constexpr Row kOtherAdultWeekend[] = {
    {K::kMarket, kHome, 0.2, 0.2, Hm(7, 0), Hm(10, 0)},
    {K::kSupermarket, kHome, 0.35, 0.35, Hm(9, 0), Hm(20, 0)},
    {K::kRestaurant, kHome, 0.3, 0.3, Hm(11, 0), Hm(13, 30)},
    {K::kMall, kCity, 0.28, 0.28, Hm(10, 0), Hm(21, 0)},
    {K::kRestaurant, kCity, 0.3, 0.3, Hm(17, 30), Hm(20, 30)},
    {K::kEntertainment, kCity, 0.15, 0.15, Hm(14, 0), Hm(23, 0)},
    {K::kOther, kCity, 0.12, 0.12, Hm(9, 0), Hm(17, 0)},
    {K::kHospital, kHome, 0.01, 0.01, Hm(8, 0), Hm(16, 0)},
    {K::kResidential, kGate, 0.5, 0.5, Hm(11, 0), Hm(14, 0)},
    {K::kResidential, kGate, 0.6, 0.6, Hm(17, 0), Hm(23, 0)},
    {K::kTestSite, kHome, kTest, kTest, Hm(8, 0), Hm(19, 0)},
    {K::kTransportStation, kMetroHome, 0.7, 0.7, Hm(9, 30), Hm(11, 30)},
    {K::kTransportStation, kMetroHome, 0.7, 0.7, Hm(16, 30), Hm(21, 0)},
};

// Share of each age group (CityModel's figures) for the expected-visit
// estimate.
constexpr double kGroupShare[kNumAgeGroups] = {0.16, 0.56, 0.18, 0.10};
constexpr double kMetroShare[kNumAgeGroups] = {0.2, 0.45, 0.1, 0.25};

// A probability as a 16-bit acceptance threshold (resolution 1/65536).
uint32_t Threshold(double p) {
  if (p >= 1.0) return 65536;
  if (p <= 0.0) return 0;
  return static_cast<uint32_t>(p * 65536.0);
}

}  // namespace

DailyRoutine::DailyRoutine(const CityConfig& config, const CityModel& model)
    : model_(model),
      seed_(config.seed),
      yellow_rate_(config.random_yellow_rate),
      red_rate_(config.random_red_rate) {
  auto fill = [&](Table* t, const Row* rows, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const Row& r = rows[i];
      Activity a;
      a.kind = r.kind;
      a.pick = static_cast<Pick>(r.pick);
      a.prob = (r.prob == kTest ? config.routine_test_rate : r.prob) *
               config.activity_scale;
      a.prob_shift =
          (r.prob_shift == kTest ? config.routine_test_rate : r.prob_shift) *
          config.activity_scale;
      a.from_ms = r.from_ms;
      a.to_ms = r.to_ms;
      a.threshold = Threshold(a.prob);
      a.threshold_shift = Threshold(a.prob_shift);
      t->activities.push_back(a);
    }
  };
#define EPI_FILL(group, weekend, rows)              \
  static_assert(std::size(rows) <= kMaxActivities); \
  fill(&tables_[static_cast<int>(group)][weekend], rows, std::size(rows))
  EPI_FILL(AgeGroup::kWorker, 0, kWorkerWeekday);
  EPI_FILL(AgeGroup::kWorker, 1, kWorkerWeekend);
  EPI_FILL(AgeGroup::kChild, 0, kChildWeekday);
  EPI_FILL(AgeGroup::kChild, 1, kChildWeekend);
  EPI_FILL(AgeGroup::kElderly, 0, kElderly);
  EPI_FILL(AgeGroup::kElderly, 1, kElderly);
  EPI_FILL(AgeGroup::kOtherAdult, 0, kOtherAdultWeekday);
  EPI_FILL(AgeGroup::kOtherAdult, 1, kOtherAdultWeekend);
#undef EPI_FILL
  SetSlicesPerDay(1);
  for (int g = 0; g < kNumAgeGroups; ++g) {
    for (int w = 0; w < 2; ++w) {
      double sum = 0;
      for (const Activity& a : tables_[g][w].activities) {
        const bool metro =
            a.pick == Pick::kMetroHome || a.pick == Pick::kMetroWork;
        sum += std::min(1.0, a.prob) * (metro ? kMetroShare[g] : 1.0);
      }
      expected_per_day_ +=
          kGroupShare[g] * sum * (w == 0 ? 5.0 / 7.0 : 2.0 / 7.0);
    }
  }
}

void DailyRoutine::SetSlicesPerDay(int slices) {
  slices_ = slices;
  slice_span_ = static_cast<int32_t>(kDayMs / slices);
  overlapping_.assign(kNumAgeGroups * 2 * slices, {});
  slice_has_activity_.assign(slices, false);
  for (int g = 0; g < kNumAgeGroups; ++g) {
    for (int w = 0; w < 2; ++w) {
      const std::vector<Activity>& acts = tables_[g][w].activities;
      for (int s = 0; s < slices; ++s) {
        std::vector<uint8_t>& list = overlapping_[(g * 2 + w) * slices + s];
        for (size_t i = 0; i < acts.size(); ++i) {
          if (acts[i].to_ms > SliceFrom(s) && acts[i].from_ms < SliceTo(s)) {
            list.push_back(static_cast<uint8_t>(i));
          }
        }
        if (!list.empty()) slice_has_activity_[s] = true;
      }
    }
  }
}

void DailyRoutine::Generate(const PersonProfile& person, int day, bool weekend,
                            int slice, std::vector<RoutineVisit>* out) const {
  const int table_index =
      static_cast<int>(person.group) * 2 + (weekend ? 1 : 0);
  const std::vector<Activity>& acts =
      tables_[static_cast<int>(person.group)][weekend ? 1 : 0].activities;
  const int32_t from_ms = SliceFrom(slice);
  const int32_t to_ms = SliceTo(slice);
  const bool shift = person.occupation != Occupation::kOther;
  // Whether an activity happens: 16 bits of one of the day's accept words,
  // so a slice that only rejects costs a hash or two. Computed on first use.
  uint64_t day_hash = 0;
  uint64_t accept[kMaxActivities / 4] = {};
  uint32_t workplace = kNoVenue - 1;  // not computed yet
  for (const uint8_t i : overlapping_[table_index * slices_ + slice]) {
    const Activity& a = acts[i];
    if ((a.pick == Pick::kMetroHome || a.pick == Pick::kMetroWork) &&
        !person.metro_user) {
      continue;
    }
    if (day_hash == 0) {
      day_hash = HashKey(seed_, P(Purpose::kRoutine), person.person,
                         static_cast<uint64_t>(day)) |
                 1;
    }
    uint64_t& word = accept[i / 4];
    if (word == 0) word = HashCombine(day_hash, kMaxActivities + i / 4) | 1;
    const uint32_t draw =
        static_cast<uint32_t>(word >> (16 * (i % 4))) & 0xFFFF;
    if (draw >= (shift ? a.threshold_shift : a.threshold)) continue;
    CityRng rng(HashCombine(day_hash, i));
    const auto ms = static_cast<int32_t>(rng.Range(a.from_ms, a.to_ms));
    if (ms < from_ms || ms >= to_ms) continue;
    if ((a.pick == Pick::kWorkplace || a.pick == Pick::kNearWork ||
         a.pick == Pick::kMetroWork) &&
        workplace == kNoVenue - 1) {
      workplace = model_.Workplace(person);
    }
    const uint32_t venue = PickVenue(a, person, workplace, rng.Next());
    if (venue == kNoVenue) continue;
    out->push_back({ms, venue, i, model_.venue(venue).kind});
  }
}

uint32_t DailyRoutine::PickVenue(const Activity& a, const PersonProfile& p,
                                 uint32_t workplace, uint64_t random) const {
  const double u = ToUnit(Mix64(random));
  switch (a.pick) {
    case Pick::kWorkplace:
      return workplace;
    case Pick::kResidential:
      return model_.ResidentialVenue(p.community);
    case Pick::kNearWork: {
      const int d =
          workplace == kNoVenue ? p.district : model_.venue(workplace).district;
      if (u < 0.35) {
        return model_.SampleVenue(
            a.kind, d,
            HashKey(seed_, P(Purpose::kPersonFavourite), p.person, 1000));
      }
      return model_.SampleVenue(a.kind, d, random);
    }
    case Pick::kMetroHome:
      return model_.Favourite(p, a.kind);
    case Pick::kMetroWork: {
      const int d =
          workplace == kNoVenue ? p.district : model_.venue(workplace).district;
      return model_.SampleVenue(
          a.kind, d,
          HashKey(seed_, P(Purpose::kPersonFavourite), p.person, 1001));
    }
    case Pick::kHome:
      if (u < 0.45) return model_.Favourite(p, a.kind);
      return model_.SampleVenue(a.kind, u < 0.8 ? p.district : -1, random);
    case Pick::kCity:
      if (u < 0.2) return model_.Favourite(p, a.kind);
      return model_.SampleVenue(a.kind, u < 0.55 ? p.district : -1, random);
  }
  return kNoVenue;
}

CodeColor DailyRoutine::DailyCode(uint32_t person, int day) const {
  const double u = ToUnit(HashKey(seed_, P(Purpose::kDailyCode), person,
                                  static_cast<uint64_t>(day)));
  if (u < red_rate_) return CodeColor::kRed;
  if (u < red_rate_ + yellow_rate_) return CodeColor::kYellow;
  return CodeColor::kGreen;
}

}  // namespace epistream
