#include "bench/city/city_model.h"

#include <algorithm>

#include "bench/city/city_random.h"
#include "bench/city/region_catalog.h"

namespace epistream {
namespace {

// Venue supply: one venue per `persons_per` residents (at least `min`), and
// the Zipf offset of its popularity (larger = flatter head).
struct KindSupply {
  VenueKind kind;
  const char* id_prefix;
  uint64_t persons_per;
  uint32_t min;
  double zipf_offset;
};

constexpr KindSupply kSupply[] = {
    {VenueKind::kMall, "mall", 25000, 1, 2},
    {VenueKind::kMarket, "mkt", 6000, 1, 3},
    {VenueKind::kSupermarket, "sup", 2500, 1, 5},
    {VenueKind::kRestaurant, "rest", 80, 3, 5},
    {VenueKind::kEntertainment, "ent", 2000, 1, 3},
    {VenueKind::kOffice, "off", 250, 2, 20},
    {VenueKind::kSchool, "sch", 1200, 1, 10},
    {VenueKind::kHospital, "hosp", 40000, 1, 2},
    {VenueKind::kTestSite, "test", 1500, 1, 10},
    {VenueKind::kTransportStation, "sta", 25000, 1,
     5},  // metro and bus stations
    {VenueKind::kElderlyCare, "eld", 8000, 1, 5},
    {VenueKind::kOther, "oth", 1000, 1, 5},
};

// "<prefix><n>", built by appending (GCC 12 warns falsely on "lit" +
// to_string).
std::string Name(std::string_view prefix, uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// Shares of age groups and, among workers, of key occupations.
constexpr double kChildShare = 0.16, kWorkerShare = 0.56, kElderlyShare = 0.18;
constexpr double kColdChainShare = 0.006, kMedicalShare = 0.022,
                 kTransportShare = 0.045;

}  // namespace

CityModel::CityModel(const CityConfig& config)
    : persons_(static_cast<uint32_t>(config.persons)), seed_(config.seed) {
  // Districts: one per 200k residents, the most populous first, 1..10.
  std::vector<WeightedRegion> home(RegionCatalog::HomeDistricts().begin(),
                                   RegionCatalog::HomeDistricts().end());
  std::stable_sort(home.begin(), home.end(),
                   [](const WeightedRegion& a, const WeightedRegion& b) {
                     return a.weight > b.weight;
                   });
  const size_t n_districts = std::clamp<size_t>(
      static_cast<size_t>(config.persons / 200000), 1, home.size());
  for (size_t d = 0; d < n_districts; ++d) {
    district_codes_.emplace_back(home[d].code);
    district_weights_.push_back(home[d].weight);
  }
  BuildCommunities(config);
  BuildVenues(config);
  // One byte per person: the profile is needed for every person in every
  // slice, the hashing behind it only once.
  profile_bits_.resize(persons_);
  for (uint32_t p = 0; p < persons_; ++p) profile_bits_[p] = DrawProfileBits(p);
}

void CityModel::BuildCommunities(const CityConfig& config) {
  const AliasTable district_table(district_weights_);
  uint32_t next = 0;
  uint32_t c = 0;
  community_start_.push_back(0);
  while (next < persons_) {
    CityRng rng(HashKey(config.seed, P(Purpose::kCommunityLayout), c));
    const uint32_t remaining = persons_ - next;
    // Sizes 200..5000, skewed small (median about 800): u^3 keeps it libm-free.
    const double u = rng.Uniform();
    uint32_t size = 200 + static_cast<uint32_t>(4800.0 * u * u * u);
    if (remaining <= 5000 && (remaining < size + 200)) size = remaining;
    if (remaining > size && remaining - size < 200) size = remaining - 200;
    next += size;
    community_start_.push_back(next);
    community_district_.push_back(
        static_cast<uint8_t>(district_table.Sample(rng.Next())));
    community_ids_.push_back(Name("c", c));
    ++c;
  }
}

uint32_t CityModel::AddVenue(VenueKind kind, uint8_t district,
                             uint32_t kind_index, std::string id) {
  const auto v = static_cast<uint32_t>(venues_.size());
  Venue venue;
  venue.kind = kind;
  venue.district = district;
  venue.kind_index = kind_index;
  venues_.push_back(venue);
  std::string tail = "\"venue_id\":\"" + id + "\",\"venue_kind\":\"";
  tail += VenueKindName(kind);
  tail += "\",\"region\":\"";
  tail += district_codes_[district];
  tail += "\"}";
  scan_tails_.push_back(std::move(tail));
  venue_ids_.push_back(std::move(id));
  clinic_ids_.emplace_back();
  by_kind_[static_cast<int>(kind)].push_back(v);
  return v;
}

void CityModel::BuildVenues(const CityConfig& config) {
  // District of a venue: by district population.
  std::vector<double> district_pop(district_codes_.size(), 0);
  for (uint32_t c = 0; c < communities(); ++c)
    district_pop[community_district_[c]] += CommunitySize(c);
  const AliasTable district_table(district_pop);

  // One residential gate per community, in its district.
  for (uint32_t c = 0; c < communities(); ++c) {
    community_residential_.push_back(AddVenue(
        VenueKind::kResidential, community_district_[c], c, Name("res-", c)));
  }

  // Popularity weights per venue (residential: not sampled by popularity).
  std::vector<double> weight(venues_.size(), 1.0);
  for (const KindSupply& s : kSupply) {
    const uint32_t n = std::max<uint32_t>(
        s.min, static_cast<uint32_t>(config.persons / s.persons_per));
    // Popularity ranks are a random permutation of the venues, so the ids say
    // nothing about size.
    std::vector<uint32_t> rank(n);
    for (uint32_t i = 0; i < n; ++i) rank[i] = i;
    CityRng perm(HashKey(config.seed, P(Purpose::kVenueLayout),
                         static_cast<uint64_t>(s.kind)));
    for (uint32_t i = n; i > 1; --i)
      std::swap(rank[i - 1], rank[perm.Below(i)]);
    const std::vector<double> zipf = ZipfWeights(n, s.zipf_offset);
    for (uint32_t i = 0; i < n; ++i) {
      const auto d = static_cast<uint8_t>(district_table.Sample(perm.Next()));
      const uint32_t v =
          AddVenue(s.kind, d, i, Name(std::string(s.id_prefix) + "-", i));
      weight.push_back(zipf[rank[i]]);
      if (s.kind == VenueKind::kHospital) clinic_ids_[v] = Name("fc-", i);
    }
  }

  // Samplers: city-wide and per district, for every kind but residential.
  for (int k = 0; k < kNumVenueKinds; ++k) {
    if (k == static_cast<int>(VenueKind::kResidential)) continue;
    const std::vector<uint32_t>& all = by_kind_[k];
    if (all.empty()) continue;
    std::vector<double> w;
    for (uint32_t v : all) w.push_back(weight[v]);
    city_samplers_[k] = {AliasTable(w), all};
    district_samplers_[k].resize(district_codes_.size());
    for (size_t d = 0; d < district_codes_.size(); ++d) {
      Sampler& s = district_samplers_[k][d];
      std::vector<double> dw;
      for (uint32_t v : all) {
        if (venues_[v].district == d) {
          s.venues.push_back(v);
          dw.push_back(weight[v]);
        }
      }
      s.table = AliasTable(dw);
    }
  }

  // Transport hubs: railway stations, the airport, coach stations, a port.
  // Also venues (transport_station), where transport workers work.
  const struct {
    TransportMode mode;
    const char* name;
    uint32_t count;
  } kHubs[] = {
      {TransportMode::kRail, "rail",
       1 + static_cast<uint32_t>(config.persons / 4000000)},
      {TransportMode::kAir, "air", 1},
      {TransportMode::kRoad, "road",
       1 + static_cast<uint32_t>(config.persons / 2000000)},
      {TransportMode::kWater, "water", 1},
  };
  for (const auto& h : kHubs) {
    std::vector<double> w;
    for (uint32_t i = 0; i < h.count; ++i) {
      const uint32_t v = AddVenue(VenueKind::kTransportStation, 0, i,
                                  Name(std::string("hub-") + h.name + "-", i));
      venues_[v].hub = true;
      venues_[v].hub_mode = h.mode;
      hub_samplers_[static_cast<int>(h.mode)].venues.push_back(v);
      w.push_back(1.0 / (i + 1.0));
    }
    hub_samplers_[static_cast<int>(h.mode)].table = AliasTable(w);
  }
}

uint32_t CityModel::CommunityOf(uint32_t person) const {
  const auto it = std::upper_bound(community_start_.begin(),
                                   community_start_.end(), person);
  return static_cast<uint32_t>(it - community_start_.begin()) - 1;
}

PersonProfile CityModel::Profile(uint32_t person, uint32_t community) const {
  const uint8_t bits = profile_bits_[person];
  PersonProfile p;
  p.person = person;
  p.community = community;
  p.district = community_district_[community];
  p.group = static_cast<AgeGroup>(bits & 3);
  p.occupation = static_cast<Occupation>((bits >> 2) & 3);
  p.metro_user = (bits & 16) != 0;
  return p;
}

uint8_t CityModel::DrawProfileBits(uint32_t person) const {
  PersonProfile p;
  const uint64_t h = HashKey(seed_, P(Purpose::kPersonProfile), person);
  const double u = ToUnit(h);
  const double u2 = ToUnit(Mix64(h));
  const double u3 = ToUnit(Mix64(h + 1));
  if (u < kChildShare) {
    p.group = AgeGroup::kChild;
    p.metro_user = u3 < 0.2;
  } else if (u < kChildShare + kWorkerShare) {
    p.group = AgeGroup::kWorker;
    if (u2 < kColdChainShare) {
      p.occupation = Occupation::kColdChain;
    } else if (u2 < kColdChainShare + kMedicalShare) {
      p.occupation = Occupation::kMedical;
    } else if (u2 < kColdChainShare + kMedicalShare + kTransportShare) {
      p.occupation = Occupation::kTransport;
    }
    p.metro_user = u3 < 0.45;
  } else if (u < kChildShare + kWorkerShare + kElderlyShare) {
    p.group = AgeGroup::kElderly;
    p.metro_user = u3 < 0.1;
  } else {
    p.group = AgeGroup::kOtherAdult;
    p.metro_user = u3 < 0.25;
  }
  return static_cast<uint8_t>(static_cast<int>(p.group) |
                              static_cast<int>(p.occupation) << 2 |
                              (p.metro_user ? 16 : 0));
}

uint32_t CityModel::Workplace(const PersonProfile& p) const {
  const uint64_t r = HashKey(seed_, P(Purpose::kWorkplace), p.person);
  const double u = ToUnit(Mix64(r));
  if (p.group == AgeGroup::kChild)
    return SampleVenue(VenueKind::kSchool, p.district, r);
  if (p.group != AgeGroup::kWorker) return kNoVenue;
  VenueKind kind = VenueKind::kOffice;
  switch (p.occupation) {
    case Occupation::kMedical:
      kind = VenueKind::kHospital;
      break;
    case Occupation::kTransport:
      if (u < 0.5)
        return SampleHub(u < 0.3 ? TransportMode::kRail : TransportMode::kRoad,
                         r);
      kind = VenueKind::kTransportStation;
      break;
    case Occupation::kColdChain:
      kind = u < 0.6 ? VenueKind::kMarket : VenueKind::kSupermarket;
      break;
    case Occupation::kOther:
      kind = u < 0.80   ? VenueKind::kOffice
             : u < 0.86 ? VenueKind::kMall
             : u < 0.92 ? VenueKind::kRestaurant
             : u < 0.96 ? VenueKind::kSupermarket
                        : VenueKind::kSchool;
      break;
  }
  return SampleVenue(kind, -1, r);
}

uint32_t CityModel::Favourite(const PersonProfile& p, VenueKind kind) const {
  return SampleVenue(kind, p.district,
                     HashKey(seed_, P(Purpose::kPersonFavourite), p.person,
                             static_cast<uint64_t>(kind)));
}

uint32_t CityModel::SampleVenue(VenueKind kind, int district,
                                uint64_t random) const {
  const int k = static_cast<int>(kind);
  if (district >= 0 && !district_samplers_[k].empty()) {
    const Sampler& s = district_samplers_[k][district];
    if (!s.venues.empty()) return s.venues[s.table.Sample(random)];
  }
  const Sampler& s = city_samplers_[k];
  if (s.venues.empty()) return kNoVenue;
  return s.venues[s.table.Sample(random)];
}

uint32_t CityModel::SampleHub(TransportMode mode, uint64_t random) const {
  const Sampler& s = hub_samplers_[static_cast<int>(mode)];
  if (s.venues.empty()) return hub_samplers_[0].venues[0];
  return s.venues[s.table.Sample(random)];
}

}  // namespace epistream
