#include "operators/cluster/cluster_alert.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "engine/json_writer.h"

namespace epistream {
namespace {

constexpr size_t kMaxMembers = 100;
constexpr size_t kMaxEvidence = 20;

std::string_view SubjectName(ClusterSubject s) {
  switch (s) {
    case ClusterSubject::kVenue:
      return "venue";
    case ClusterSubject::kCommunity:
      return "community";
    case ClusterSubject::kClinic:
      return "clinic";
  }
  return "venue";
}

void FeverItem(const CaseLink& m, int tz, JsonWriter* w) {
  w->BeginObject();
  w->Field("event_id", m.event_id);
  w->Field("type", "fever");
  w->Field("ts", FormatRfc3339(m.fever_ts, tz));
  w->Field("person_id", m.person_id);
  w->Field("clinic_id", m.clinic_id);
  w->EndObject();
}

// A venue scan is known by its venue, person and time (the person stage
// keeps no scan event ids in its trail).
void ScanItem(const CaseLink& m, std::string_view venue, int tz,
              JsonWriter* w) {
  w->BeginObject();
  w->Field("type", "scan");
  w->Field("ts", FormatRfc3339(m.scan_ts, tz));
  w->Field("person_id", m.person_id);
  w->Field("venue_id", venue);
  w->EndObject();
}

std::string FormatDays(DurationMs d) {
  if (d % kDayMs == 0) return fmt::format("{} days", d / kDayMs);
  return fmt::format("{:.1f} days", static_cast<double>(d) / kDayMs);
}

}  // namespace

std::string_view ClusterSubjectField(ClusterSubject s) {
  switch (s) {
    case ClusterSubject::kVenue:
      return "venue_id";
    case ClusterSubject::kCommunity:
      return "community_id";
    case ClusterSubject::kClinic:
      return "clinic_id";
  }
  return "venue_id";
}

std::string MakeClusterId(ClusterSubject subject, std::string_view key,
                          TimestampMs start) {
  const std::string hash =
      MakeAlertId(SubjectName(subject), key, std::to_string(start));
  return std::string(SubjectName(subject)) + "-" + hash.substr(0, 16);
}

Alert FeverClusterAlert(ClusterSubject subject, std::string_view key,
                        const ClusterEpisode& episode, const ClusterTest& test,
                        DurationMs case_window, TimestampMs ts, int tz) {
  Alert a;
  a.rule = kFeverClusterRule;
  a.severity = kSeverityCritical;
  a.cluster_id = episode.cluster_id;
  a.version = episode.version;
  a.ts = ts;
  a.alert_id =
      MakeAlertId(a.rule, episode.cluster_id, std::to_string(episode.version));

  JsonWriter c(&a.cluster_json);
  c.BeginObject();
  c.Field("cluster_id", episode.cluster_id);
  c.Field(ClusterSubjectField(subject), key);
  c.Field("member_count", static_cast<int64_t>(episode.members.size()));
  c.Key("members");
  c.BeginArray();
  for (size_t i = 0; i < episode.members.size() && i < kMaxMembers; ++i) {
    c.String(episode.members[i].person_id);
  }
  c.EndArray();
  c.Field("first_ts", FormatRfc3339(episode.first_ts, tz));
  c.Field("last_ts", FormatRfc3339(episode.last_ts, tz));
  c.Field("statistic", static_cast<int64_t>(test.cases));
  c.Field("expected", test.expected);
  c.Field("p_value", test.p_value);
  c.Field("population", test.population);
  c.Field("fever_rate", test.fever_rate);
  c.Field("tests", test.tests);
  c.Field("threshold", test.threshold);
  c.EndObject();

  JsonWriter e(&a.evidence_json);
  e.BeginArray();
  size_t items = 0;
  for (const CaseLink& m : episode.members) {
    if (items >= kMaxEvidence) break;
    FeverItem(m, tz, &e);
    ++items;
    if (subject == ClusterSubject::kVenue && items < kMaxEvidence) {
      ScanItem(m, key, tz, &e);
      ++items;
    }
  }
  e.EndArray();

  const std::string window = FormatDays(case_window);
  if (subject == ClusterSubject::kVenue) {
    a.explanation = fmt::format(
        "{} persons with fever visits within {} after scanning at venue {}; "
        "{:.3g} expected among "
        "its {:.0f} visitors at the city fever rate {:.3g}; p = {:.3g} < "
        "{:.3g} (alpha over {} "
        "venues); cluster of {} members, version {}",
        test.cases, window, key, test.expected, test.population,
        test.fever_rate, test.p_value, test.threshold, test.tests,
        episode.members.size(), episode.version);
  } else {
    a.explanation = fmt::format(
        "{} persons of community {} with fever visits within {}; {:.3g} "
        "expected among its {:.0f} "
        "residents at the city fever rate {:.3g}; p = {:.3g} < {:.3g} (alpha "
        "over {} "
        "communities); cluster of {} members, version {}",
        test.cases, key, window, test.expected, test.population,
        test.fever_rate, test.p_value, test.threshold, test.tests,
        episode.members.size(), episode.version);
  }
  return a;
}

Alert ClinicSurgeAlert(std::string_view clinic, const ClinicDay& day,
                       const EarsC2Result& ears, TimestampMs ts, int tz) {
  Alert a;
  a.rule = kClinicSurgeRule;
  a.severity = kSeverityWarning;
  const std::string date = FormatLocalDate(day.day);
  a.cluster_id = MakeClusterId(ClusterSubject::kClinic, clinic,
                               LocalDayStart(day.day, tz));
  a.version = 1;
  a.ts = ts;
  a.alert_id = MakeAlertId(a.rule, a.cluster_id, "1");

  // Members: distinct persons of the day's visits, in visit order.
  std::vector<std::string_view> members;
  for (const ClinicVisit& v : day.first_visits) {
    if (std::find(members.begin(), members.end(), v.person_id) ==
        members.end()) {
      members.push_back(v.person_id);
    }
  }
  JsonWriter c(&a.cluster_json);
  c.BeginObject();
  c.Field("cluster_id", a.cluster_id);
  c.Field("clinic_id", clinic);
  c.Field("member_count", static_cast<int64_t>(day.visits));
  c.Key("members");
  c.BeginArray();
  for (std::string_view m : members) c.String(m);
  c.EndArray();
  c.Field("first_ts",
          FormatRfc3339(
              day.first_visits.empty() ? ts : day.first_visits.front().ts, tz));
  c.Field("last_ts",
          FormatRfc3339(
              day.first_visits.empty() ? ts : day.first_visits.back().ts, tz));
  c.Field("statistic", static_cast<int64_t>(ears.visits));
  c.Field("expected", ears.mean);
  c.Key("p_value");
  c.Null();
  c.Field("day", date);
  c.Field("baseline_sd", ears.sd);
  c.Field("threshold", ears.threshold);
  c.EndObject();

  JsonWriter e(&a.evidence_json);
  e.BeginArray();
  for (size_t i = 0; i < day.first_visits.size() && i < kMaxEvidence; ++i) {
    const ClinicVisit& v = day.first_visits[i];
    e.BeginObject();
    e.Field("event_id", v.event_id);
    e.Field("type", "fever");
    e.Field("ts", FormatRfc3339(v.ts, tz));
    e.Field("person_id", v.person_id);
    e.Field("clinic_id", clinic);
    e.EndObject();
  }
  e.EndArray();
  a.explanation = fmt::format(
      "{} fever visits at clinic {} on {}, above the {} threshold {:.2f} "
      "(baseline mean "
      "{:.2f}, sd {:.2f})",
      ears.visits, clinic, date, SurgeMethodName(ears.method), ears.threshold,
      ears.mean, ears.sd);
  return a;
}

}  // namespace epistream
