// CityModel: the static structure of the synthetic city. Districts (real
// Hangzhou district codes), residential communities of 200..5000 persons
// (each with a `residential` gate venue), venues of every kind with Zipf
// popularity (a few malls with tens of thousands of visitors a day, many
// restaurants with a dozen), transport hubs and hospitals with fever clinics.
//
// Persons are barely stored: a person's profile (age group, occupation,
// workplace, favourite venues) is a pure function of (seed, person index),
// cached as one byte per person, and communities hold contiguous person
// ranges; the rest of the model costs a few bytes per venue and community.
//
// Built once; immutable and thread-compatible afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/city/alias_table.h"
#include "bench/city/city_config.h"
#include "operators/event.h"

namespace epistream {

enum class AgeGroup : uint8_t { kChild = 0, kWorker, kElderly, kOtherAdult };
inline constexpr int kNumAgeGroups = 4;

inline constexpr uint32_t kNoVenue = UINT32_MAX;

struct PersonProfile {
  uint32_t person = 0;
  uint32_t community = 0;
  uint8_t district = 0;
  AgeGroup group = AgeGroup::kWorker;
  Occupation occupation = Occupation::kOther;
  bool metro_user = false;
};

struct Venue {
  VenueKind kind = VenueKind::kOther;
  uint8_t district = 0;
  bool hub =
      false;  // a transport hub (entries to the city), not a metro station
  TransportMode hub_mode = TransportMode::kRail;
  uint32_t kind_index = 0;  // number within its kind, in the id
};

class CityModel {
 public:
  explicit CityModel(const CityConfig& config);

  uint32_t persons() const { return persons_; }
  uint64_t seed() const { return seed_; }

  // --- districts ---
  int districts() const { return static_cast<int>(district_codes_.size()); }
  std::string_view DistrictCode(int d) const { return district_codes_[d]; }

  // --- communities (contiguous person ranges) ---
  uint32_t communities() const {
    return static_cast<uint32_t>(community_start_.size() - 1);
  }
  uint32_t CommunityOf(uint32_t person) const;
  uint32_t CommunityStart(uint32_t c) const { return community_start_[c]; }
  uint32_t CommunitySize(uint32_t c) const {
    return community_start_[c + 1] - community_start_[c];
  }
  uint8_t CommunityDistrict(uint32_t c) const { return community_district_[c]; }
  uint32_t ResidentialVenue(uint32_t c) const {
    return community_residential_[c];
  }
  const std::string& CommunityId(uint32_t c) const { return community_ids_[c]; }

  // --- persons ---
  PersonProfile Profile(uint32_t person, uint32_t community) const;
  PersonProfile Profile(uint32_t person) const {
    return Profile(person, CommunityOf(person));
  }
  // The person's regular workplace (workers) or school (children); kNoVenue
  // otherwise.
  uint32_t Workplace(const PersonProfile& p) const;
  // The person's usual venue of a kind near home.
  uint32_t Favourite(const PersonProfile& p, VenueKind kind) const;

  // --- venues ---
  size_t venue_count() const { return venues_.size(); }
  const Venue& venue(uint32_t v) const { return venues_[v]; }
  const std::string& VenueId(uint32_t v) const { return venue_ids_[v]; }
  // `"venue_id":"...","venue_kind":"...","region":"..."}`: the end of a scan
  // line.
  const std::string& ScanTail(uint32_t v) const { return scan_tails_[v]; }
  // A venue of `kind` by popularity, in `district` (falls back to the whole
  // city if the district has none) or city-wide for district < 0.
  // kNoVenue if the city has no venue of that kind.
  uint32_t SampleVenue(VenueKind kind, int district, uint64_t random) const;
  // Venues of a kind (city-wide), in id order.
  const std::vector<uint32_t>& VenuesOfKind(VenueKind kind) const {
    return by_kind_[static_cast<int>(kind)];
  }

  // --- hubs and clinics ---
  uint32_t SampleHub(TransportMode mode, uint64_t random) const;
  // Fever clinic of a hospital venue.
  const std::string& ClinicId(uint32_t hospital) const {
    return clinic_ids_[hospital];
  }

 private:
  struct Sampler {
    AliasTable table;
    std::vector<uint32_t> venues;
  };
  void BuildCommunities(const CityConfig& config);
  void BuildVenues(const CityConfig& config);
  uint8_t DrawProfileBits(uint32_t person) const;
  uint32_t AddVenue(VenueKind kind, uint8_t district, uint32_t kind_index,
                    std::string id);

  uint32_t persons_;
  uint64_t seed_;
  std::vector<std::string> district_codes_;
  std::vector<double> district_weights_;
  std::vector<uint32_t> community_start_;  // communities + 1 entries
  std::vector<uint8_t> community_district_;
  std::vector<uint32_t> community_residential_;
  std::vector<std::string> community_ids_;
  std::vector<Venue> venues_;
  std::vector<std::string> venue_ids_;
  std::vector<std::string> scan_tails_;
  std::vector<std::string> clinic_ids_;  // by venue; empty for non-hospitals
  std::array<std::vector<uint32_t>, kNumVenueKinds> by_kind_;
  std::array<Sampler, kNumVenueKinds> city_samplers_;
  std::array<std::vector<Sampler>, kNumVenueKinds> district_samplers_;
  std::array<Sampler, 5> hub_samplers_;  // by TransportMode
  // Per person: group (2 bits), occupation (2 bits), metro user (1 bit).
  std::vector<uint8_t> profile_bits_;
};

}  // namespace epistream
