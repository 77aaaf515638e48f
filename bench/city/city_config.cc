#include "bench/city/city_config.h"

#include <string>

#include "engine/event_time.h"

namespace epistream {
namespace {

Status Bad(const char* field, const std::string& why) {
  return Status::InvalidArgument(std::string("city config: ") + field + " " +
                                 why);
}

bool Probability(double p) { return p >= 0.0 && p <= 1.0; }

}  // namespace

CityConfig CityConfig::Sample() {
  CityConfig c;
  c.persons = 2000;
  c.days = 10;
  c.seed = 1;
  c.activity_scale = 0.12;
  c.trip_rate = 0.01;
  c.inbound_arrival_rate = 0.0005;
  c.arrival_test_compliance = 0.7;
  c.inbound_break_rate = 0.3;
  c.high_risk_break_rate = 0.2;
  c.returnee_infection_rate_listed = 0.25;
  c.risk_listings_per_day = 3;
  c.fever_rate_per_100k = 150;
  c.key_worker_fever_factor = 3;
  c.venue_outbreaks = 1;
  c.outbreak_min_secondary = 4;
  c.outbreak_index_fever_prob = 1;
  c.outbreak_venue_min_visitors = 6;
  c.community_outbreaks = 1;
  return c;
}

Status CityConfig::Validate() const {
  if (persons < 1 || persons > 100'000'000)
    return Bad("persons", "must be in 1..100000000");
  if (days < 1 || days > 3660) return Bad("days", "must be in 1..3660");
  if (start_date.size() != 10 || !ParseRfc3339(start_date + "T00:00:00Z")) {
    return Bad("start_date",
               "must be a date YYYY-MM-DD, got '" + start_date + "'");
  }
  if (tz_offset_minutes < -14 * 60 || tz_offset_minutes > 14 * 60) {
    return Bad("tz_offset_minutes", "must be in -840..840");
  }
  if (!(activity_scale >= 0 && activity_scale <= 4))
    return Bad("activity_scale", "must be in 0..4");
  const struct {
    const char* name;
    double value;
  } kProbabilities[] = {
      {"routine_test_rate", routine_test_rate},
      {"random_yellow_rate", random_yellow_rate},
      {"random_red_rate", random_red_rate},
      {"trip_rate", trip_rate},
      {"inbound_arrival_rate", inbound_arrival_rate},
      {"arrival_test_compliance", arrival_test_compliance},
      {"inbound_test_compliance", inbound_test_compliance},
      {"inbound_break_rate", inbound_break_rate},
      {"high_risk_break_rate", high_risk_break_rate},
      {"returnee_infection_rate_listed", returnee_infection_rate_listed},
      {"returnee_infection_rate", returnee_infection_rate},
      {"risk_high_share", risk_high_share},
      {"outbreak_attack_rate", outbreak_attack_rate},
      {"outbreak_index_fever_prob", outbreak_index_fever_prob},
      {"malformed_fraction", malformed_fraction},
      {"duplicate_fraction", duplicate_fraction},
  };
  for (const auto& p : kProbabilities) {
    if (!Probability(p.value)) return Bad(p.name, "must be in 0..1");
  }
  if (random_yellow_rate + random_red_rate > 1) {
    return Bad("random_yellow_rate", "plus random_red_rate must be at most 1");
  }
  if (trip_rate * 4.3 > 1) return Bad("trip_rate", "must be at most 0.23");
  if (inbound_arrival_rate * days > 1)
    return Bad("inbound_arrival_rate", "times days must be at most 1");
  if (!(risk_listings_per_day >= 0 && risk_listings_per_day <= 50)) {
    return Bad("risk_listings_per_day", "must be in 0..50");
  }
  if (medium_risk_code_days < 0 || medium_risk_code_days > 30) {
    return Bad("medium_risk_code_days", "must be in 0..30");
  }
  if (high_risk_quarantine_days < 0 || high_risk_quarantine_days > 30) {
    return Bad("high_risk_quarantine_days", "must be in 0..30");
  }
  if (inbound_quarantine_days < 0 || inbound_quarantine_days > 30) {
    return Bad("inbound_quarantine_days", "must be in 0..30");
  }
  if (!(fever_rate_per_100k >= 0 && fever_rate_per_100k <= 10000)) {
    return Bad("fever_rate_per_100k", "must be in 0..10000");
  }
  if (!(fever_seasonality >= 0 && fever_seasonality <= 1))
    return Bad("fever_seasonality", "must be in 0..1");
  if (!(key_worker_fever_factor >= 0 && key_worker_fever_factor <= 100)) {
    return Bad("key_worker_fever_factor", "must be in 0..100");
  }
  if (venue_outbreaks < 0 || venue_outbreaks > 10000)
    return Bad("venue_outbreaks", "must be in 0..10000");
  if (outbreak_min_secondary < 0 || outbreak_min_secondary > 1000) {
    return Bad("outbreak_min_secondary", "must be in 0..1000");
  }
  if (outbreak_venue_min_visitors < 0 ||
      outbreak_venue_max_visitors < outbreak_venue_min_visitors) {
    return Bad("outbreak_venue_min_visitors",
               "must be >= 0 and <= outbreak_venue_max_visitors");
  }
  if (community_outbreaks < 0 || community_outbreaks > 10000) {
    return Bad("community_outbreaks", "must be in 0..10000");
  }
  if (community_outbreak_cases < 0 || community_outbreak_cases > 1000) {
    return Bad("community_outbreak_cases", "must be in 0..1000");
  }
  if (community_outbreak_spread_days < 1 ||
      community_outbreak_spread_days > 30) {
    return Bad("community_outbreak_spread_days", "must be in 1..30");
  }
  if (max_slice_events < 1000)
    return Bad("max_slice_events", "must be at least 1000");
  return Status::Ok();
}

}  // namespace epistream
