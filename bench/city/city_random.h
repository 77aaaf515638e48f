// Deterministic randomness for the synthetic city.
//
// Every decision draws from a SplitMix64 stream seeded by a hash of what it
// is about (seed, purpose, person, day, ...), never from one shared sequence:
// the output then depends neither on the order in which persons are visited
// nor on how a day is cut into slices, and regenerating a slice gives the
// same draws. Only integer arithmetic and IEEE-exact double operations are
// used (no std::*_distribution, no libm), so the bytes are the same with any
// standard library.
#pragma once

#include <cstdint>

namespace epistream {

inline constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

// SplitMix64 finaliser (Stafford variant 13): a bijection with good avalanche.
inline constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Folds one more value into a hash (one finaliser round: hot path).
inline constexpr uint64_t HashCombine(uint64_t h, uint64_t v) {
  return Mix64(((h << 23) | (h >> 41)) ^
               (v * kGoldenGamma + 0x632be59bd9b4e019ULL));
}

// Hash of a (seed, purpose, a, b, c) tuple.
inline constexpr uint64_t HashKey(uint64_t seed, uint64_t purpose,
                                  uint64_t a = 0, uint64_t b = 0,
                                  uint64_t c = 0) {
  return HashCombine(HashCombine(HashCombine(HashCombine(seed, purpose), a), b),
                     c);
}

// Uniform double in [0, 1) from the top 53 bits.
inline constexpr double ToUnit(uint64_t x) {
  return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
}

// Uniform integer in [0, n) (multiply-shift; bias < n / 2^64).
inline constexpr uint64_t ToBelow(uint64_t x, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
}

// A SplitMix64 stream. Cheap to create: one per decision is fine.
class CityRng {
 public:
  explicit constexpr CityRng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += kGoldenGamma;
    return Mix64(state_);
  }
  double Uniform() { return ToUnit(Next()); }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return ToBelow(Next(), n); }
  // Uniform in [lo, hi).
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo)));
  }
  bool Chance(double p) { return Uniform() < p; }

 private:
  uint64_t state_;
};

// Purposes: one constant per kind of decision keeps the streams apart.
enum class Purpose : uint64_t {
  kPersonProfile = 1,
  kPersonFavourite,
  kRoutine,
  kDailyCode,
  kDayPlan,
  kTripDetails,
  kArrival,
  kFever,
  kInitialAway,
  kRiskSchedule,
  kVenueLayout,
  kCommunityLayout,
  kOutbreak,
  kCommunityOutbreak,
  kBadInput,
  kWorkplace,
};

inline constexpr uint64_t P(Purpose p) { return static_cast<uint64_t>(p); }

}  // namespace epistream
