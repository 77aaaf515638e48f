#include "operators/event.h"

namespace epistream {

std::string_view EventTypeName(EventType t) {
  static constexpr std::string_view kNames[] = {"scan", "transport", "fever", "risk_area", "person"};
  return kNames[static_cast<int>(t)];
}

std::string_view CodeColorName(CodeColor c) {
  static constexpr std::string_view kNames[] = {"green", "yellow", "red"};
  return kNames[static_cast<int>(c)];
}

std::string_view VenueKindName(VenueKind k) {
  static constexpr std::string_view kNames[] = {
      "other", "market", "mall", "supermarket", "restaurant", "entertainment", "hospital",
      "school", "elderly_care", "prison", "transport_station", "test_site", "office",
      "residential"};
  return kNames[static_cast<int>(k)];
}

std::string_view TransportModeName(TransportMode m) {
  static constexpr std::string_view kNames[] = {"rail", "air", "road", "water", "border"};
  return kNames[static_cast<int>(m)];
}

std::string_view TravelCategoryName(TravelCategory c) {
  return c == TravelCategory::kDomestic ? "domestic" : "inbound_released";
}

std::string_view RiskLevelName(RiskLevel l) {
  static constexpr std::string_view kNames[] = {"low", "medium", "high"};
  return kNames[static_cast<int>(l)];
}

std::string_view OccupationName(Occupation o) {
  static constexpr std::string_view kNames[] = {"other", "cold_chain", "medical", "transport"};
  return kNames[static_cast<int>(o)];
}

}  // namespace epistream
