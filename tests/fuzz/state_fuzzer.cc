// libFuzzer target for the state decoders: bytes read back from RocksDB must
// never crash the engine, whatever a disk, a bug or an old version left there.
//
// The first input byte picks the decoder, the rest is the stored value:
//   0: PersonState::Decode; a decoded state must re-encode to bytes that
//      decode to the same encoding (Encode . Decode is idempotent), and the
//      retention prune must keep it encodable.
//   1: WatermarkTracker::Decode; a decoded tracker must round-trip and answer
//      Update/IsTooLate.
//   2: the risk-area history decoder, through RiskAreaTable::Load on a
//      MemKvStore holding the bytes under a region key (the second byte picks
//      the region code); a loaded table must answer coverage queries.
// Seeds in corpus/state/ are valid encodings made by gen_state_corpus.cc.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine_config.h"
#include "engine/mem_kv_store.h"
#include "engine/state_keys.h"
#include "engine/watermark_tracker.h"
#include "operators/person_state.h"
#include "operators/risk_area_table.h"

namespace {

using namespace epistream;  // NOLINT: a fuzz target, not library code

void Check(bool ok) {
  if (!ok) std::abort();
}

// The largest event time the parser accepts (9999-12-31T23:59:59.999Z).
constexpr TimestampMs kMaxEventTs = 253402300799999;

// The harness's own arithmetic must not be the undefined behaviour found.
TimestampMs SaturatingSub(TimestampMs a, DurationMs b) {
  TimestampMs r = 0;
  return __builtin_sub_overflow(a, b, &r) ? INT64_MIN : r;
}

void FuzzPersonState(std::string_view bytes) {
  PersonState s;
  if (!s.Decode(bytes).ok()) {
    Check(s.Empty());  // a failed decode leaves an empty state
    return;
  }
  std::string once;
  s.Encode(&once);
  PersonState again;
  Check(again.Decode(once).ok());
  std::string twice;
  again.Encode(&twice);
  Check(once == twice);
  // Retention and dedupe on decoded (possibly absurd) values.
  again.HasExposure("42");
  again.MarkSeen(0x1234, again.last_ts);
  again.TestAndSetDayFlag(0, kFlagBreach);
  again.Prune(SaturatingSub(again.last_ts, 21 * kDayMs), SaturatingSub(again.last_ts, 7 * kDayMs));
  std::string pruned;
  again.Encode(&pruned);
  PersonState third;
  Check(third.Decode(pruned).ok());
}

void FuzzWatermark(std::string_view bytes) {
  WatermarkConfig cfg;
  WatermarkTracker t(cfg);
  if (!t.Decode(bytes).ok()) return;
  // As CityPipeline::OnMessage does right after a restart: before Update.
  t.IsTooLate(0);
  t.IsTooLate(kMaxEventTs);
  const std::string once = t.Encode();
  WatermarkTracker u(cfg);
  Check(u.Decode(once).ok());
  Check(u.Encode() == once);
  u.Assign(0, 0);
  u.Observe(0, 1663632000000, 0);
  u.Update(1000);
  // Callers pass parsed event times: [0, 9999-12-31].
  u.IsTooLate(0);
  u.IsTooLate(kMaxEventTs);
  u.AdvanceTo(u.max_seen());
  u.Update(1 << 30);
}

void FuzzRiskAreas(std::string_view bytes) {
  static const char* kCodes[] = {"42", "420106", "4201", "US", "110101001001", "9"};
  const char* code = kCodes[bytes.empty() ? 0 : static_cast<uint8_t>(bytes[0]) % 6];
  if (!bytes.empty()) bytes.remove_prefix(1);
  MemKvStore store;
  store.Put(state_keys::Global('A', code), bytes);
  store.Put(state_keys::Global('A', "31"), std::string("\x01\x00", 2));  // valid, empty
  if (!store.Commit().ok()) return;
  RiskAreaTable table(&store);
  if (!table.Load().ok()) return;
  std::vector<Coverage> out;
  for (TimestampMs t : {int64_t{0}, int64_t{1663632000000}, kMaxEventTs}) {
    table.Covering("4201060001", t, 14 * kDayMs, &out);
    table.Covering(code, t, 14 * kDayMs, &out);
    Coverage c;
    table.CoverageOf(code, t, 14 * kDayMs, &c);
    ListingInterval li;
    table.IntervalAt(code, t, &li);
  }
  // Applying a record on top of a loaded history keeps it usable.
  Event rec;
  rec.type = EventType::kRiskArea;
  rec.event_id = "fuzz-listing";
  rec.region = code;
  rec.level = RiskLevel::kHigh;
  rec.ts = 1663632000000;
  rec.has_ts = true;
  table.Apply(rec);
  table.Covering("4201060001", rec.ts, 14 * kDayMs, &out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzPersonState(bytes);
      break;
    case 1:
      FuzzWatermark(bytes);
      break;
    default:
      FuzzRiskAreas(bytes);
      break;
  }
  return 0;
}
