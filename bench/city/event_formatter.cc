#include "bench/city/event_formatter.h"

#include "bench/city/city_ids.h"

namespace epistream {
namespace {

void Append2(int v, std::string* out) {
  out->push_back(static_cast<char>('0' + v / 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

constexpr const char* kSymptoms[] = {
    "cough",       "sore_throat", "fatigue",      "headache",
    "muscle_ache", "runny_nose",  "loss_of_taste"};

}  // namespace

EventFormatter::EventFormatter(const CityModel& model, int tz_offset_minutes)
    : model_(model), tz_offset_minutes_(tz_offset_minutes) {
  // FormatRfc3339 at the epoch gives the offset suffix after the 23 chars of
  // "1970-01-01T00:00:00.000".
  offset_suffix_ = FormatRfc3339(0, tz_offset_minutes).substr(23);
}

void EventFormatter::SetDay(int day, int64_t local_day) {
  day_ = day;
  date_prefix_ = FormatLocalDate(local_day) + "T";
}

const char* EventFormatter::SymptomName(int bit) { return kSymptoms[bit]; }

void EventFormatter::AppendTs(int32_t ms_of_day, std::string* out) const {
  out->append(date_prefix_);
  const int32_t s = ms_of_day / 1000;
  Append2(s / 3600, out);
  out->push_back(':');
  Append2(s / 60 % 60, out);
  out->push_back(':');
  Append2(s % 60, out);
  out->push_back('.');
  const int32_t ms = ms_of_day % 1000;
  out->push_back(static_cast<char>('0' + ms / 100));
  Append2(ms % 100, out);
  out->append(offset_suffix_);
}

void EventFormatter::Head(std::string_view type, char id_type, uint32_t person,
                          uint8_t seq, int32_t ms_of_day,
                          std::string* out) const {
  out->clear();
  out->append("{\"type\":\"");
  out->append(type);
  out->append("\",\"event_id\":\"");
  AppendEventId(id_type, day_, person, seq, out);
  out->append("\",\"ts\":\"");
  AppendTs(ms_of_day, out);
  out->append("\",\"person_id\":\"P");
  AppendUint(person, out);
  out->append("\",");
}

void EventFormatter::Scan(int32_t ms_of_day, uint32_t person, uint8_t seq,
                          uint32_t venue, CodeColor color,
                          std::string* out) const {
  Head("scan", 's', person, seq, ms_of_day, out);
  out->append("\"code_color\":\"");
  out->append(CodeColorName(color));
  out->append("\",");
  out->append(model_.ScanTail(venue));
}

void EventFormatter::Transport(int32_t ms_of_day, uint32_t person,
                               const PlannedItem& item,
                               std::string* out) const {
  Head("transport", 't', person, item.seq, ms_of_day, out);
  out->append("\"hub_id\":\"");
  out->append(model_.VenueId(item.venue));
  out->append("\",\"mode\":\"");
  out->append(TransportModeName(item.mode));
  out->append("\",");
  out->append(item.regions_json);
  out->append(",\"category\":\"");
  out->append(TravelCategoryName(item.category));
  out->append("\"}");
}

void EventFormatter::Fever(int32_t ms_of_day, uint32_t person,
                           const PlannedItem& item, std::string* out) const {
  Head("fever", 'f', person, item.seq, ms_of_day, out);
  out->append("\"clinic_id\":\"");
  out->append(model_.ClinicId(item.venue));
  out->append("\",\"temp_c\":");
  AppendUint(item.temp_tenths / 10, out);
  out->push_back('.');
  out->push_back(static_cast<char>('0' + item.temp_tenths % 10));
  out->append(",\"symptoms\":[");
  bool first = true;
  for (int i = 0; i < 7; ++i) {
    if (!(item.symptoms & (1u << i))) continue;
    out->append(first ? "\"" : ",\"");
    out->append(kSymptoms[i]);
    out->push_back('"');
    first = false;
  }
  out->append("],\"community_id\":\"");
  out->append(model_.CommunityId(model_.CommunityOf(person)));
  out->append("\"}");
}

void EventFormatter::Person(uint32_t person, const PersonProfile& profile,
                            std::string* out) const {
  out->clear();
  out->append("{\"type\":\"person\",\"event_id\":\"reg");
  AppendUint(person, out);
  out->append("\",\"ts\":\"");
  AppendTs(0, out);
  out->append("\",\"person_id\":\"P");
  AppendUint(person, out);
  out->append("\",\"community_id\":\"");
  out->append(model_.CommunityId(profile.community));
  out->append("\",\"occupation\":\"");
  out->append(OccupationName(profile.occupation));
  out->append("\"}");
}

void EventFormatter::RiskArea(TimestampMs ts, uint32_t listing,
                              const RiskListing& l, bool delisting,
                              std::string* out) const {
  out->clear();
  out->append("{\"type\":\"risk_area\",\"event_id\":\"");
  out->append(delisting ? RiskSchedule::DelistingEventId(listing)
                        : RiskSchedule::ListingEventId(listing));
  out->append("\",\"ts\":\"");
  out->append(FormatRfc3339(ts, tz_offset_minutes_));
  out->append("\",\"region\":\"");
  out->append(l.region);
  out->append("\",\"level\":\"");
  out->append(delisting ? "low" : RiskLevelName(l.level));
  out->append("\"}");
}

}  // namespace epistream
