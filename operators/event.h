// Typed input records, produced by the parser (operators/event_parser.h) from
// one JSON object each. One flat struct for all five types: the parser reuses
// a single Event per thread, so strings keep their capacity and the hot path
// does not allocate once warmed up. Only the fields of `type` are meaningful.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_time.h"

namespace epistream {

enum class EventType : uint8_t { kScan = 0, kTransport, kFever, kRiskArea, kPerson };
inline constexpr int kNumEventTypes = 5;
std::string_view EventTypeName(EventType t);  // "scan", "transport", ...

enum class CodeColor : uint8_t { kGreen = 0, kYellow, kRed };
std::string_view CodeColorName(CodeColor c);

enum class VenueKind : uint8_t {
  kOther = 0, kMarket, kMall, kSupermarket, kRestaurant, kEntertainment, kHospital, kSchool,
  kElderlyCare, kPrison, kTransportStation, kTestSite, kOffice, kResidential,
};
inline constexpr int kNumVenueKinds = 14;
std::string_view VenueKindName(VenueKind k);

enum class TransportMode : uint8_t { kRail = 0, kAir, kRoad, kWater, kBorder };
std::string_view TransportModeName(TransportMode m);

enum class TravelCategory : uint8_t { kDomestic = 0, kInboundReleased };
std::string_view TravelCategoryName(TravelCategory c);

enum class RiskLevel : uint8_t { kLow = 0, kMedium, kHigh };
std::string_view RiskLevelName(RiskLevel l);

enum class Occupation : uint8_t { kOther = 0, kColdChain, kMedical, kTransport };
std::string_view OccupationName(Occupation o);

// Where a record came from: used for dead letters and checkpoints.
struct SourcePosition {
  std::string_view topic;  // points at a long-lived topic name
  int32_t partition = 0;
  int64_t offset = 0;
};

struct Event {
  EventType type = EventType::kScan;
  std::string event_id;
  TimestampMs ts = 0;
  std::string person_id;  // scan, transport, fever, person

  // scan
  std::string venue_id;
  CodeColor code_color = CodeColor::kGreen;
  VenueKind venue_kind = VenueKind::kOther;
  std::string region;  // scan: venue region (optional); risk_area: listed code

  // transport
  std::string hub_id;
  TransportMode mode = TransportMode::kRail;
  std::string origin_region;
  std::vector<std::string> trip_regions;
  TravelCategory category = TravelCategory::kDomestic;

  // fever
  std::string clinic_id;
  double temp_c = 0;
  std::vector<std::string> symptoms;
  std::string community_id;  // fever and person

  // risk_area
  RiskLevel level = RiskLevel::kLow;
  bool has_ts = false;  // risk_area/person: ts is optional for table records

  // person
  Occupation occupation = Occupation::kOther;

  // Whether this record moves the watermark (scan, transport, fever).
  bool IsStreamEvent() const { return type <= EventType::kFever; }
};

}  // namespace epistream
