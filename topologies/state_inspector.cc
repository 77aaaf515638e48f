#include "topologies/state_inspector.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>

#include "engine/byte_codec.h"
#include "engine/json_writer.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "operators/person_cache.h"
#include "operators/person_state.h"

namespace epistream {
namespace {

// Input partitions probed for a person (Kafka topics rarely have more).
constexpr int kMaxPartitions = 1024;

void WriteState(const std::string& person, int partition, const PersonState& s, int tz) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("person_id", person);
  w.Field("partition", partition);
  w.Field("last_ts", FormatRfc3339(s.last_ts, tz));
  w.Key("entries");
  w.BeginArray();
  for (const EntryRecord& e : s.entries) {
    w.BeginObject();
    w.Field("event_id", e.event_id);
    w.Field("ts", FormatRfc3339(e.ts, tz));
    w.Field("hub_id", e.hub_id);
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
  std::printf("%s\n", out.c_str());
}

}  // namespace

int RunStateInspector(const std::string& db_dir, const std::string& person, bool digest) {
  auto store = RocksKvStore::OpenReadOnly(db_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "epistream state: %s\n", store.status().ToString().c_str());
    return 1;
  }
  if (digest) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    uint64_t keys = 0;
    const std::string sink_prefix = state_keys::Meta("sink:");
    Status st = (*store)->Scan("", "", [&](std::string_view k, std::string_view v) {
      if (k.substr(0, sink_prefix.size()) == sink_prefix) return true;
      const uint64_t lens[2] = {k.size(), v.size()};
      EVP_DigestUpdate(ctx, lens, sizeof lens);
      EVP_DigestUpdate(ctx, k.data(), k.size());
      EVP_DigestUpdate(ctx, v.data(), v.size());
      ++keys;
      return true;
    });
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    if (!st.ok()) {
      std::fprintf(stderr, "epistream state: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("keys=%llu sha256=", static_cast<unsigned long long>(keys));
    for (unsigned int i = 0; i < len; ++i) std::printf("%02x", md[i]);
    std::printf("\n");
    return 0;
  }
  if (person.empty()) {
    // No person: the checkpointed input positions, one "source partition next_offset" a line.
    const std::string prefix(1, state_keys::kOffset);
    Status st = (*store)->Scan(prefix, PrefixEnd(prefix), [](std::string_view k, std::string_view v) {
      const size_t nul = k.find('\0');
      if (nul == std::string_view::npos || k.size() < nul + 5 || v.size() != 8) return true;
      ByteReader kr(k.substr(nul + 1));
      ByteReader vr(v);
      const uint32_t partition = kr.BigEndian32();
      const uint64_t next = vr.BigEndian64();
      std::printf("%.*s %u %llu\n", static_cast<int>(nul - 1), k.data() + 1, partition,
                  static_cast<unsigned long long>(next));
      return true;
    });
    if (!st.ok()) {
      std::fprintf(stderr, "epistream state: %s\n", st.ToString().c_str());
      return 1;
    }
    return 0;
  }
  if (false) {
    return 2;
  }
  for (int p = 0; p < kMaxPartitions; ++p) {
    std::string value;
    bool found = false;
    Status st = (*store)->Get(PersonCache::StateKey(static_cast<uint16_t>(p), person), &value, &found);
    if (!st.ok()) {
      std::fprintf(stderr, "epistream state: %s\n", st.ToString().c_str());
      return 1;
    }
    if (!found) continue;
    PersonState s;
    st = s.Decode(value);
    if (!st.ok()) {
      std::fprintf(stderr, "epistream state: %s\n", st.ToString().c_str());
      return 1;
    }
    WriteState(person, p, s, 8 * 60);
    return 0;
  }
  std::fprintf(stderr, "epistream state: no state for that person\n");
  return 1;
}

}  // namespace epistream
