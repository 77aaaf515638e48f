#include "topologies/state_queries.h"

#include <utility>

#include "engine/json_writer.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "operators/person_cache.h"
#include "operators/person_state.h"

namespace epistream {
namespace {

HttpResponse JsonResponse(int status, std::string body) {
  body.push_back('\n');
  return HttpResponse{status, "application/json", std::move(body)};
}

HttpResponse Error(int status, std::string_view message) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("error", message);
  w.EndObject();
  return JsonResponse(status, std::move(out));
}

// The cluster stage's tables: 'G' 'C' + kind letter + key.
struct ClusterTable {
  char sub;
  const char* kind;
};
constexpr ClusterTable kClusterTables[] = {
    {'V', "venue"}, {'K', "community"}, {'L', "clinic"}};

}  // namespace

StateQueries::StateQueries(std::string state_dir, int tz_offset_minutes)
    : state_dir_(std::move(state_dir)), tz_offset_minutes_(tz_offset_minutes) {}

StateQueries::~StateQueries() = default;

Status StateQueries::Refresh() {
  if (store_ != nullptr) {
    if (store_->CatchUp().ok()) return Status::Ok();
    // The primary may have deleted files the secondary was following
    // (compaction, WAL recycling): open a fresh view instead.
    store_.reset();
  }
  auto store = RocksKvStore::OpenReadOnly(state_dir_);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  return Status::Ok();  // just opened: already current
}

HttpResponse StateQueries::Person(std::string_view person_id) {
  if (person_id.empty() || person_id.size() > 64) {
    return Error(400, "person id must be 1..64 characters");
  }
  if (Status st = Refresh(); !st.ok()) {
    return Error(503, "state not readable yet: " + st.message());
  }
  std::string value;
  for (int p = 0; p < kMaxPartitions; ++p) {
    bool found = false;
    Status st =
        store_->Get(PersonCache::StateKey(static_cast<uint16_t>(p), person_id),
                    &value, &found);
    if (!st.ok()) return Error(500, "state read failed: " + st.message());
    if (!found) continue;
    PersonState state;
    st = state.Decode(value);
    if (!st.ok()) return Error(500, "state decode failed: " + st.message());
    return JsonResponse(200,
                        PersonJson(person_id, p, state, tz_offset_minutes_));
  }
  return Error(404, "no state for that person");
}

HttpResponse StateQueries::Clusters() {
  if (Status st = Refresh(); !st.ok()) {
    return Error(503, "state not readable yet: " + st.message());
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("clusters");
  w.BeginArray();
  size_t n = 0;
  bool truncated = false;
  for (const ClusterTable& t : kClusterTables) {
    const std::string prefix =
        state_keys::Global('C', std::string_view(&t.sub, 1));
    Status st = store_->Scan(prefix, PrefixEnd(prefix),
                             [&](std::string_view key, std::string_view) {
                               if (n == kMaxClusters) {
                                 truncated = true;
                                 return false;
                               }
                               ++n;
                               w.BeginObject();
                               w.Field("kind", t.kind);
                               w.Field("id", key.substr(prefix.size()));
                               w.EndObject();
                               return true;
                             });
    if (!st.ok()) return Error(500, "state read failed: " + st.message());
  }
  w.EndArray();
  w.Key("truncated");
  w.Bool(truncated);
  w.EndObject();
  return JsonResponse(200, std::move(out));
}

std::string StateQueries::PersonJson(std::string_view person_id, int partition,
                                     const PersonState& s, int tz) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("person_id", person_id);
  w.Field("partition", partition);
  w.Field("last_ts", FormatRfc3339(s.last_ts, tz));
  w.Key("entries");
  w.BeginArray();
  for (const EntryRecord& e : s.entries) {
    w.BeginObject();
    w.Field("event_id", e.event_id);
    w.Field("ts", FormatRfc3339(e.ts, tz));
    w.Field("hub_id", e.hub_id);
    w.Field("mode", TransportModeName(e.mode));
    w.Field("category", TravelCategoryName(e.category));
    w.Key("regions");
    w.BeginArray();
    for (const std::string& r : e.regions) w.String(r);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("exposures");
  w.BeginArray();
  for (const ExposureRecord& x : s.exposures) {
    w.BeginObject();
    w.Field("area", x.area);
    w.Field("level", RiskLevelName(x.level));
    w.Field("entry_event_id", x.entry_event_id);
    w.Field("entry_ts", FormatRfc3339(x.entry_ts, tz));
    w.Field("listing_event_id", x.listing_event_id);
    w.EndObject();
  }
  w.EndArray();
  w.Key("trail");
  w.BeginArray();
  for (const VisitRecord& v : s.trail) {
    w.BeginObject();
    w.Field("venue_id", v.venue_id);
    w.Field("kind", VenueKindName(v.kind));
    w.Field("ts", FormatRfc3339(v.ts, tz));
    w.EndObject();
  }
  w.EndArray();
  w.Key("fevers");
  w.BeginArray();
  for (const FeverRecord& f : s.fevers) {
    w.BeginObject();
    w.Field("event_id", f.event_id);
    w.Field("clinic_id", f.clinic_id);
    w.Field("ts", FormatRfc3339(f.ts, tz));
    w.Field("temp_c", f.temp_c);
    w.EndObject();
  }
  w.EndArray();
  w.Key("tests");
  w.BeginArray();
  for (TimestampMs t : s.tests) w.String(FormatRfc3339(t, tz));
  w.EndArray();
  w.Key("quarantines");
  w.BeginArray();
  for (const QuarantineRecord& q : s.quarantines) {
    w.BeginObject();
    w.Field("start", FormatRfc3339(q.start, tz));
    w.Field("end", FormatRfc3339(q.end, tz));
    w.Field("entry_event_id", q.entry_event_id);
    w.EndObject();
  }
  w.EndArray();
  w.Field("seen_event_ids", static_cast<int64_t>(s.seen.size()));
  w.EndObject();
  return out;
}

}  // namespace epistream
