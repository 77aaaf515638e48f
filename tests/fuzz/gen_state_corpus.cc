// Writes the seed corpus of state_fuzzer: valid encodings of person states,
// watermark trackers and risk-area histories, each prefixed with the selector
// byte state_fuzzer.cc reads (0 person, 1 watermark, 2 risk areas).
// Usage: gen_state_corpus DIR   (run.sh builds and runs it before fuzzing).
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/engine_config.h"
#include "engine/mem_kv_store.h"
#include "engine/state_keys.h"
#include "engine/watermark_tracker.h"
#include "operators/person_state.h"
#include "operators/risk_area_table.h"

namespace {

using namespace epistream;  // NOLINT: a tool, not library code

constexpr TimestampMs kT0 = 1663632000000;  // 2022-09-20T00:00:00Z

bool Write(const std::string& dir, const std::string& name, char selector, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.put(selector);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

PersonState FullPerson() {
  PersonState s;
  s.last_ts = kT0 + 3 * kDayMs;
  EntryRecord e;
  e.ts = kT0;
  e.event_id = "t-1";
  e.hub_id = "hub-7";
  e.mode = TransportMode::kAir;
  e.category = TravelCategory::kInboundReleased;
  e.regions = {"420106", "US", "4201"};
  s.entries.push_back(e);
  s.exposures.push_back({"420106", kT0, "t-1", RiskLevel::kHigh, "ra-1", kT0 - kDayMs});
  s.trail.push_back({kT0 + kHourMs, "venue-3", VenueKind::kMarket});
  s.trail.push_back({kT0 + 2 * kHourMs, "venue-4", VenueKind::kTestSite});
  s.fevers.push_back({kT0 + 2 * kDayMs, "f-1", "clinic-1", 38.6, true});
  s.tests.push_back(kT0 + 5 * kHourMs);
  s.quarantines.push_back({kT0, kT0 + 14 * kDayMs, "t-1"});
  s.day_flags.push_back({19255, kFlagBreach | kFlagCodeRed});
  s.seen.push_back({EventIdHash(EventType::kScan, "s-1"), kT0});
  s.seen.push_back({EventIdHash(EventType::kFever, "f-1"), kT0 + 2 * kDayMs});
  // A span keyed by a trail venue (one string table entry for both) and a
  // closed city-wide one. person_full_v2 (checked in, not written here) is
  // this person without spans in the version 2 layout.
  s.presence.push_back({"venue-3", kT0 + kHourMs, kT0 + kHourMs, 4, false});
  s.presence.push_back({"", kT0, kT0 + 2 * kDayMs, 0, true});
  s.presence_timer = kT0 + 16 * kDayMs;
  return s;
}

// The history value RiskAreaTable::Apply stages for `records`.
std::string AreaHistory(const std::vector<std::pair<TimestampMs, RiskLevel>>& records) {
  MemKvStore store;
  RiskAreaTable table(&store);
  int n = 0;
  for (const auto& [ts, level] : records) {
    Event rec;
    rec.type = EventType::kRiskArea;
    rec.event_id = "ra-" + std::to_string(++n);
    rec.region = "420106";
    rec.ts = ts;
    rec.has_ts = true;
    rec.level = level;
    table.Apply(rec);
  }
  std::string value;
  bool found = false;
  if (!store.Get(state_keys::Global('A', "420106"), &value, &found).ok() || !found) return {};
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  std::string bytes;
  PersonState empty;
  empty.last_ts = kT0;
  empty.Encode(&bytes);
  ok &= Write(dir, "person_empty", 0, bytes);
  bytes.clear();
  FullPerson().Encode(&bytes);
  ok &= Write(dir, "person_full", 0, bytes);

  WatermarkConfig cfg;
  WatermarkTracker fresh(cfg);
  ok &= Write(dir, "watermark_fresh", 1, fresh.Encode());
  WatermarkTracker busy(cfg);
  for (int p = 0; p < 4; ++p) {
    busy.Assign(p, 0);
    busy.Observe(p, kT0 + p * kMinuteMs, 0);
  }
  busy.Update(0);
  busy.AdvanceTo(kT0 + kHourMs);
  ok &= Write(dir, "watermark_busy", 1, busy.Encode());

  // Risk areas: selector 2, then the region-choice byte (1 = "420106").
  const std::string listed = AreaHistory({{kT0, RiskLevel::kHigh}});
  const std::string history = AreaHistory(
      {{kT0, RiskLevel::kMedium}, {kT0 + kDayMs, RiskLevel::kHigh}, {kT0 + 5 * kDayMs, RiskLevel::kLow}});
  ok &= !listed.empty() && !history.empty();
  ok &= Write(dir, "areas_listed", 2, std::string(1, '\x01') + listed);
  ok &= Write(dir, "areas_history", 2, std::string(1, '\x01') + history);
  if (!ok) {
    std::fprintf(stderr, "gen_state_corpus: cannot write to %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
