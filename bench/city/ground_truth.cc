#include "bench/city/ground_truth.h"

#include <algorithm>
#include <functional>

#include "bench/city/city_ids.h"
#include "bench/city/city_model.h"
#include "bench/city/risk_schedule.h"
#include "engine/json_writer.h"

namespace epistream {
namespace {

// Writes lists one element per line, so the file diffs and greps well.
class TruthWriter {
 public:
  TruthWriter(std::string* out, int tz) : out_(out), tz_(tz) {}

  std::string Ts(TimestampMs ts) const { return FormatRfc3339(ts, tz_); }
  static std::string Id(const EventRef& r) {
    return EventId(r.type, r.day, r.person, r.seq);
  }

  // "name":[\n{...},\n{...}\n]
  template <typename T>
  void List(std::string_view name, const std::vector<T>& items,
            const std::function<void(const T&, JsonWriter*)>& write) {
    Key(name);
    out_->append("[");
    for (size_t i = 0; i < items.size(); ++i) {
      out_->append(i == 0 ? "\n" : ",\n");
      JsonWriter w(out_);
      write(items[i], &w);
    }
    out_->append(items.empty() ? "]" : "\n]");
  }
  void Object(std::string_view name,
              const std::function<void(JsonWriter*)>& write) {
    Key(name);
    JsonWriter w(out_);
    write(&w);
  }
  void Begin() { out_->append("{"); }
  void End() { out_->append("\n}\n"); }

 private:
  void Key(std::string_view name) {
    out_->append(first_ ? "\n\"" : ",\n\"");
    first_ = false;
    out_->append(name);
    out_->append("\":");
  }
  std::string* out_;
  int tz_;
  bool first_ = true;
};

template <typename T, typename Key>
std::vector<T> SortedBy(const std::vector<T>& v, Key key) {
  std::vector<T> s = v;
  std::stable_sort(s.begin(), s.end(),
                   [&](const T& a, const T& b) { return key(a) < key(b); });
  return s;
}

}  // namespace

std::string GroundTruth::ToJson(const CityConfig& config,
                                const CityModel& model,
                                const RiskSchedule& risk,
                                const CityStats& stats) const {
  std::string out;
  TruthWriter tw(&out, config.tz_offset_minutes);
  const auto id = [](const EventRef& r) { return TruthWriter::Id(r); };
  const auto ts = [&tw](TimestampMs t) { return tw.Ts(t); };
  const int64_t start_day = [&] {
    const auto t = ParseRfc3339(config.start_date + "T00:00:00Z");
    return t ? *t / kDayMs : 0;
  }();
  tw.Begin();

  tw.Object("generator", [&](JsonWriter* w) {
    w->BeginObject();
    w->Field("name", "epistream-city");
    w->Field("version", 1);
    w->Key("config");
    w->BeginObject();
    w->Field("persons", static_cast<int64_t>(config.persons));
    w->Field("days", config.days);
    w->Field("seed", static_cast<int64_t>(config.seed));
    w->Field("start_date", config.start_date);
    w->Field("tz_offset_minutes", config.tz_offset_minutes);
    w->Field("activity_scale", config.activity_scale);
    w->Field("routine_test_rate", config.routine_test_rate);
    w->Field("random_yellow_rate", config.random_yellow_rate);
    w->Field("random_red_rate", config.random_red_rate);
    w->Field("trip_rate", config.trip_rate);
    w->Field("inbound_arrival_rate", config.inbound_arrival_rate);
    w->Field("arrival_test_compliance", config.arrival_test_compliance);
    w->Field("inbound_test_compliance", config.inbound_test_compliance);
    w->Field("inbound_break_rate", config.inbound_break_rate);
    w->Field("high_risk_break_rate", config.high_risk_break_rate);
    w->Field("returnee_infection_rate_listed",
             config.returnee_infection_rate_listed);
    w->Field("returnee_infection_rate", config.returnee_infection_rate);
    w->Field("risk_listings_per_day", config.risk_listings_per_day);
    w->Field("risk_high_share", config.risk_high_share);
    w->Field("fever_rate_per_100k", config.fever_rate_per_100k);
    w->Field("fever_seasonality", config.fever_seasonality);
    w->Field("key_worker_fever_factor", config.key_worker_fever_factor);
    w->Field("venue_outbreaks", config.venue_outbreaks);
    w->Field("outbreak_attack_rate", config.outbreak_attack_rate);
    w->Field("community_outbreaks", config.community_outbreaks);
    w->Field("community_outbreak_cases", config.community_outbreak_cases);
    w->Field("malformed_fraction", config.malformed_fraction);
    w->Field("duplicate_fraction", config.duplicate_fraction);
    w->EndObject();
    w->EndObject();
  });

  tw.Object("summary", [&](JsonWriter* w) {
    w->BeginObject();
    w->Field("lines", static_cast<int64_t>(stats.lines));
    w->Field("events", static_cast<int64_t>(stats.events()));
    w->Field("scans", static_cast<int64_t>(stats.scans));
    w->Field("transports", static_cast<int64_t>(stats.transports));
    w->Field("fevers", static_cast<int64_t>(stats.fevers));
    w->Field("risk_area_records", static_cast<int64_t>(stats.risk_records));
    w->Field("person_records", static_cast<int64_t>(stats.person_records));
    w->Field("malformed_lines", static_cast<int64_t>(stats.malformed_lines));
    w->Field("duplicate_lines", static_cast<int64_t>(stats.duplicate_lines));
    w->Field("yellow_scans", static_cast<int64_t>(stats.yellow_scans));
    w->Field("red_scans", static_cast<int64_t>(stats.red_scans));
    w->Field("abnormal_code_warnings",
             static_cast<int64_t>(stats.abnormal_code_warnings));
    w->Field("abnormal_code_criticals",
             static_cast<int64_t>(stats.abnormal_code_criticals));
    w->Field("communities", static_cast<int64_t>(model.communities()));
    w->Field("venues", static_cast<int64_t>(model.venue_count()));
    w->Field("first_ts", ts(stats.first_ts));
    w->Field("last_ts", ts(stats.last_ts));
    w->EndObject();
  });

  tw.List<RiskListing>(
      "risk_areas", risk.listings(), [&](const RiskListing& l, JsonWriter* w) {
        const auto i = static_cast<uint32_t>(&l - risk.listings().data());
        w->BeginObject();
        w->Field("region", l.region);
        w->Field("level", RiskLevelName(l.level));
        w->Field("listed_event_id", RiskSchedule::ListingEventId(i));
        w->Field("listed_at", ts(l.listed_at));
        w->Key("delisted_event_id");
        if (l.delisted_at == kNeverMs)
          w->Null();
        else
          w->String(RiskSchedule::DelistingEventId(i));
        w->Key("delisted_at");
        if (l.delisted_at == kNeverMs)
          w->Null();
        else
          w->String(ts(l.delisted_at));
        w->EndObject();
      });

  const auto returnees_sorted = SortedBy(returnees, [](const ReturneeFact& f) {
    return std::pair(f.entry.ts, f.entry.person);
  });
  tw.List<ReturneeFact>(
      "returnees", returnees_sorted, [&](const ReturneeFact& f, JsonWriter* w) {
        w->BeginObject();
        w->Field("person_id", PersonId(f.entry.person));
        w->Field("entry_event_id", id(f.entry));
        w->Field("entry_ts", ts(f.entry.ts));
        w->Field("origin_region", f.origin_region);
        w->Key("trip_regions");
        w->BeginArray();
        for (const std::string& r : f.trip_regions) w->String(r);
        w->EndArray();
        w->Field("category", TravelCategoryName(f.category));
        w->Key("listings");
        w->BeginArray();
        for (uint32_t li : f.listings) {
          const RiskListing& l = risk.listings()[li];
          w->BeginObject();
          w->Field("region", l.region);
          w->Field("level", RiskLevelName(l.level));
          w->Field("listing_event_id", RiskSchedule::ListingEventId(li));
          w->Field("listed_at", ts(l.listed_at));
          w->Key("retroactive");
          w->Bool(l.listed_at > f.entry.ts);
          w->EndObject();
        }
        w->EndArray();
        w->Key("tested_within_24h");
        w->Bool(f.tested);
        w->Key("test_event_id");
        if (f.tested)
          w->String(id(f.test));
        else
          w->Null();
        w->EndObject();
      });

  std::vector<ReturneeFact> untested;
  for (const ReturneeFact& f : returnees_sorted) {
    if (!f.tested) untested.push_back(f);
  }
  tw.List<ReturneeFact>("untested_returnees", untested,
                        [&](const ReturneeFact& f, JsonWriter* w) {
                          const TimestampMs deadline =
                              f.entry.ts + 24 * kHourMs;
                          w->BeginObject();
                          w->Field("person_id", PersonId(f.entry.person));
                          w->Field("entry_event_id", id(f.entry));
                          w->Field("entry_ts", ts(f.entry.ts));
                          w->Field("deadline", ts(deadline));
                          // At the end of a file the watermark stops at the
                          // last ts: later deadlines never fire.
                          w->Key("due_before_end");
                          w->Bool(deadline <= stats.last_ts);
                          w->EndObject();
                        });

  tw.List<BreachFact>(
      "quarantine_breakers",
      SortedBy(breakers,
               [](const BreachFact& f) {
                 return std::pair(f.entry.ts, f.entry.person);
               }),
      [&](const BreachFact& f, JsonWriter* w) {
        w->BeginObject();
        w->Field("person_id", PersonId(f.entry.person));
        w->Field("entry_event_id", id(f.entry));
        w->Field("reason",
                 f.inbound ? "inbound_released" : "high_risk_returnee");
        w->Field("quarantine_from", ts(f.quarantine_from));
        w->Field("quarantine_until", ts(f.quarantine_until));
        w->Key("breach_scans");
        w->BeginArray();
        for (const auto& [scan, venue] : f.breaches) {
          w->BeginObject();
          w->Field("event_id", id(scan));
          w->Field("ts", ts(scan.ts));
          w->Field("venue_id", model.VenueId(venue));
          w->Field("venue_kind", VenueKindName(model.venue(venue).kind));
          w->EndObject();
        }
        w->EndArray();
        w->EndObject();
      });

  tw.List<FeverReturneeFact>(
      "fever_returnees",
      SortedBy(fever_returnees,
               [](const FeverReturneeFact& f) {
                 return std::pair(f.fever.ts, f.fever.person);
               }),
      [&](const FeverReturneeFact& f, JsonWriter* w) {
        w->BeginObject();
        w->Field("person_id", PersonId(f.fever.person));
        w->Field("fever_event_id", id(f.fever));
        w->Field("fever_ts", ts(f.fever.ts));
        w->Field("entry_event_id", id(f.entry));
        w->Field("entry_ts", ts(f.entry.ts));
        w->Field("listing_event_id", RiskSchedule::ListingEventId(f.listing));
        w->Field("region", risk.listings()[f.listing].region);
        w->EndObject();
      });

  tw.List<KeyWorkerFeverFact>(
      "key_worker_fevers",
      SortedBy(key_worker_fevers,
               [](const KeyWorkerFeverFact& f) {
                 return std::pair(f.fever.ts, f.fever.person);
               }),
      [&](const KeyWorkerFeverFact& f, JsonWriter* w) {
        w->BeginObject();
        w->Field("person_id", PersonId(f.fever.person));
        w->Field("occupation", OccupationName(f.occupation));
        w->Field("fever_event_id", id(f.fever));
        w->Field("fever_ts", ts(f.fever.ts));
        w->EndObject();
      });

  const auto write_case = [&](const OutbreakCase& c, JsonWriter* w) {
    w->BeginObject();
    w->Field("person_id", PersonId(c.person));
    w->Field("scan_event_id", id(c.scan));
    w->Field("scan_ts", ts(c.scan.ts));
    w->Key("fever_event_id");
    if (c.has_fever)
      w->String(id(c.fever));
    else
      w->Null();
    w->Key("fever_ts");
    if (c.has_fever)
      w->String(ts(c.fever.ts));
    else
      w->Null();
    w->EndObject();
  };
  tw.List<VenueOutbreakFact>(
      "venue_outbreaks", venue_outbreaks,
      [&](const VenueOutbreakFact& f, JsonWriter* w) {
        w->BeginObject();
        w->Field("venue_id", model.VenueId(f.venue));
        w->Field("venue_kind", VenueKindName(model.venue(f.venue).kind));
        w->Field("day", FormatLocalDate(start_day + f.day));
        w->Field("visitors", static_cast<int64_t>(f.visitors));
        int with_fever = f.index.has_fever ? 1 : 0;
        for (const OutbreakCase& c : f.secondary) with_fever += c.has_fever;
        w->Field("cases_with_fever", with_fever);
        w->Key("index");
        write_case(f.index, w);
        w->Key("secondary");
        w->BeginArray();
        for (const OutbreakCase& c : f.secondary) write_case(c, w);
        w->EndArray();
        w->EndObject();
      });

  tw.List<CommunityOutbreakFact>(
      "community_outbreaks", community_outbreaks,
      [&](const CommunityOutbreakFact& f, JsonWriter* w) {
        w->BeginObject();
        w->Field("community_id", model.CommunityId(f.community));
        w->Field("population",
                 static_cast<int64_t>(model.CommunitySize(f.community)));
        w->Field("first_day", FormatLocalDate(start_day + f.day));
        w->Key("cases");
        w->BeginArray();
        for (const EventRef& e : f.fevers) {
          w->BeginObject();
          w->Field("person_id", PersonId(e.person));
          w->Field("fever_event_id", id(e));
          w->Field("fever_ts", ts(e.ts));
          w->EndObject();
        }
        w->EndArray();
        w->EndObject();
      });

  tw.List<DelistedArrivalFact>(
      "arrivals_after_delisting",
      SortedBy(delisted_arrivals,
               [](const DelistedArrivalFact& f) {
                 return std::pair(f.entry.ts, f.entry.person);
               }),
      [&](const DelistedArrivalFact& f, JsonWriter* w) {
        const RiskListing& l = risk.listings()[f.listing];
        w->BeginObject();
        w->Field("person_id", PersonId(f.entry.person));
        w->Field("entry_event_id", id(f.entry));
        w->Field("entry_ts", ts(f.entry.ts));
        w->Field("region", l.region);
        w->Field("listing_event_id", RiskSchedule::ListingEventId(f.listing));
        w->Field("delisted_at", ts(l.delisted_at));
        w->EndObject();
      });

  tw.List<MalformedFact>("malformed_lines", malformed,
                         [&](const MalformedFact& f, JsonWriter* w) {
                           w->BeginObject();
                           w->Field("line", static_cast<int64_t>(f.line));
                           w->Field("expected_reason", f.reason);
                           w->EndObject();
                         });

  tw.End();
  return out;
}

}  // namespace epistream
