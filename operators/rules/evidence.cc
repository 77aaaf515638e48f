#include "engine/json_writer.h"
#include "operators/rules/rule_context.h"

namespace epistream::evidence {
namespace {

// Starts an item: a comma unless it is the first in the array.
JsonWriter Begin(std::string* out) {
  if (!out->empty() && out->back() != '[') out->push_back(',');
  return JsonWriter(out);
}

}  // namespace

void Entry(const EntryRecord& e, int tz, std::string* out) {
  JsonWriter w = Begin(out);
  w.BeginObject();
  w.Field("event_id", e.event_id);
  w.Field("type", "transport");
  w.Field("ts", FormatRfc3339(e.ts, tz));
  w.Field("hub_id", e.hub_id);
  w.Field("mode", TransportModeName(e.mode));
  if (!e.regions.empty()) w.Field("origin_region", e.regions[0]);
  if (e.regions.size() > 1) {
    w.Key("trip_regions");
    w.BeginArray();
    for (size_t i = 1; i < e.regions.size(); ++i) w.String(e.regions[i]);
    w.EndArray();
  }
  w.Field("category", TravelCategoryName(e.category));
  w.EndObject();
}

void Scan(const Event& s, int tz, std::string* out) {
  JsonWriter w = Begin(out);
  w.BeginObject();
  w.Field("event_id", s.event_id);
  w.Field("type", "scan");
  w.Field("ts", FormatRfc3339(s.ts, tz));
  w.Field("venue_id", s.venue_id);
  w.Field("venue_kind", VenueKindName(s.venue_kind));
  w.Field("code_color", CodeColorName(s.code_color));
  w.EndObject();
}

namespace {

// A fever visit, from the event or from the person's state.
void FeverVisit(std::string_view event_id, TimestampMs ts, std::string_view clinic_id,
                double temp_c, int tz, std::string* out) {
  JsonWriter w = Begin(out);
  w.BeginObject();
  w.Field("event_id", event_id);
  w.Field("type", "fever");
  w.Field("ts", FormatRfc3339(ts, tz));
  w.Field("clinic_id", clinic_id);
  w.Field("temp_c", temp_c);
  w.EndObject();
}

}  // namespace

void Fever(const Event& f, int tz, std::string* out) {
  FeverVisit(f.event_id, f.ts, f.clinic_id, f.temp_c, tz, out);
}

void FeverRecord(const struct FeverRecord& f, int tz, std::string* out) {
  FeverVisit(f.event_id, f.ts, f.clinic_id, f.temp_c, tz, out);
}

void Listing(std::string_view area, std::string_view event_id, TimestampMs ts, RiskLevel level,
             int tz, std::string* out) {
  JsonWriter w = Begin(out);
  w.BeginObject();
  w.Field("event_id", event_id);
  w.Field("type", "risk_area");
  w.Field("ts", FormatRfc3339(ts, tz));
  w.Field("region", area);
  w.Field("level", RiskLevelName(level));
  w.EndObject();
}

void Quarantine(const QuarantineRecord& q, int tz, std::string* out) {
  JsonWriter w = Begin(out);
  w.BeginObject();
  w.Field("type", "quarantine");
  w.Field("entry_event_id", q.entry_event_id);
  w.Field("start", FormatRfc3339(q.start, tz));
  w.Field("end", FormatRfc3339(q.end, tz));
  w.EndObject();
}

}  // namespace epistream::evidence
