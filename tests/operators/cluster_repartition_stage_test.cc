// Scale-out prerequisites on the operator side: the cluster stage's key
// prefix (default unchanged, one range per repartition partition) and the
// person stage tagging each ClusterRecord with its input partition.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/mem_kv_store.h"
#include "operators/cluster/cluster_stage.h"
#include "operators/person_registry.h"
#include "operators/person_stage.h"
#include "operators/risk_area_table.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

constexpr TimestampMs kT0 = 1662429600000;  // 2022-09-06T10:00+08:00

void FeedSome(ClusterStage* stage) {
  ClusterRecord r;
  r.kind = ClusterRecordKind::kCityCount;
  r.key = std::string(CityCounterName(CityCounter::kActiveCase));
  r.ts = kT0;
  r.delta = 1;
  ASSERT_OK(stage->OnRecord(r));
  r.kind = ClusterRecordKind::kFeverLink;
  r.key = "venue";
  r.person_id = "p";
  r.event_id = "f";
  r.clinic_id = "c";
  r.aux_ts = kT0 - kHourMs;
  ASSERT_OK(stage->OnRecord(r));
  std::vector<Alert> alerts;
  ASSERT_OK(stage->OnWatermark(kT0 - 1, &alerts));
  ASSERT_OK(stage->Flush());
}

std::set<std::string> KeyPrefixes(MemKvStore* store, size_t n) {
  std::set<std::string> out;
  EXPECT_OK(store->Scan("", "", [&](std::string_view k, std::string_view) {
    out.insert(std::string(k.substr(0, n)));
    return true;
  }));
  return out;
}

TEST(ClusterStagePrefixTest, DefaultKeysStayUnderGC) {
  MemKvStore store;
  ClusterStage stage(ClusterStageOptions(), &store);
  ASSERT_OK(stage.Open());
  FeedSome(&stage);
  ASSERT_OK(store.Commit());
  EXPECT_EQ(stage.key_prefix(), "GC");
  EXPECT_EQ(KeyPrefixes(&store, 2), (std::set<std::string>{"GC"}));
}

TEST(ClusterStagePrefixTest, PartitionsShareOneStoreWithoutMixing) {
  MemKvStore store;
  ClusterStageOptions o1, o2;
  o1.key_prefix = ClusterPartitionKeyPrefix(1);
  o2.key_prefix = ClusterPartitionKeyPrefix(258);
  EXPECT_EQ(o1.key_prefix, std::string("Q\0\1", 3));
  {
    ClusterStage s1(o1, &store);
    ASSERT_OK(s1.Open());
    FeedSome(&s1);
    ASSERT_OK(store.Commit());
  }
  EXPECT_EQ(KeyPrefixes(&store, 3), (std::set<std::string>{o1.key_prefix}));
  ClusterStage s2(o2, &store), again(o1, &store);
  ASSERT_OK(s2.Open());
  ASSERT_OK(again.Open());
  EXPECT_EQ(s2.CityCountAt(CityCounter::kActiveCase, kT0), 0);
  EXPECT_EQ(s2.pending_timers(), 0u);
  EXPECT_EQ(again.CityCountAt(CityCounter::kActiveCase, kT0), 1);
  EXPECT_EQ(again.pending_timers(), 1u);
  EXPECT_EQ(again.watermark(), kT0 - 1);
}

TEST(ClusterRecordSourceTest, PersonStageTagsRecordsWithTheirPartition) {
  MemKvStore store;
  RiskAreaTable areas(&store);
  PersonRegistry registry(&store);
  PersonStage stage(PersonStageOptions(), &store, &areas, &registry);
  ClusterRecordBuffer out;
  stage.set_cluster_output(&out);
  std::vector<Alert> alerts;
  auto scan = [&](const char* id, const char* person, uint16_t p) {
    Event e;
    e.type = EventType::kScan;
    e.event_id = id;
    e.person_id = person;
    e.ts = kT0;
    e.has_ts = true;
    e.venue_id = "v1";
    e.venue_kind = VenueKind::kMall;
    e.code_color = CodeColor::kGreen;
    bool duplicate = false;
    ASSERT_OK(stage.OnEvent(e, p, &duplicate, &alerts));
  };
  scan("s1", "a", 5);
  ASSERT_FALSE(out.empty());
  const size_t from_a = out.size();
  scan("s2", "b", 7);
  ASSERT_GT(out.size(), from_a);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(out.source(i), i < from_a ? 5 : 7) << i;
  // The presence timers' -1s carry the partition of the person they close.
  out.Clear();
  ASSERT_OK(stage.OnWatermark(kT0 + 30 * kDayMs, &alerts));
  std::set<uint16_t> sources;
  int minus = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    sources.insert(out.source(i));
    if (out[i].delta < 0) ++minus;
  }
  EXPECT_GT(minus, 0);
  EXPECT_EQ(sources, (std::set<uint16_t>{5, 7}));
}

}  // namespace
}  // namespace epistream
