// CityPipeline across a restart: the person stage's retention sweep runs
// when the first watermark after the restart is already in a later sweep
// bucket (event-time day), as it does in an uninterrupted run. Before the
// restored watermark reached the stage (PersonStage::ResumeSweepsAt), that
// first watermark only noted its day: persons past retention and old
// arrival-index entries stayed a day longer, and the stored state after a
// restart differed from the uninterrupted run's.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/mem_kv_store.h"
#include "engine/state_keys.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/generated_city.h"
#include "topologies/city_pipeline.h"

namespace epistream {
namespace {

using testing::LineSink;

std::string ScanLine(const std::string& id, const std::string& person,
                     const std::string& ts) {
  return R"({"type":"scan","event_id":")" + id + R"(","ts":")" + ts +
         R"(","person_id":")" + person +
         R"(","code_color":"green","venue_id":"mkt-1","venue_kind":"market","region":"330109"})";
}

std::string ArrivalLine(const std::string& id, const std::string& person,
                        const std::string& ts) {
  return R"({"type":"transport","event_id":")" + id + R"(","ts":")" + ts +
         R"(","person_id":")" + person +
         R"(","hub_id":"hub-1","mode":"rail","origin_region":"420106","trip_regions":["420106"],"category":"domestic"})";
}

struct StoredState {
  std::map<std::string, std::string> persons;  // state key -> bytes
  size_t index_entries = 0;
};

// p1 arrives on 1 September, p2 scans then too; a checkpoint; with
// `restart`, a new pipeline opens the same store; p2 scans again on 30
// September, 29 days later (retention 21 d): that watermark is in a later
// day, so a sweep deletes p1's arrival-index entry. (p1's state goes either
// way: its presence timer fires at that watermark and prunes it to nothing.)
StoredState RunAcrossRetention(bool restart) {
  MemKvStore store;
  LineSink alerts;
  LineSink dead;
  const EngineConfig engine;
  auto pipeline = std::make_unique<CityPipeline>(
      engine, RulesConfig(), &store, &alerts, &alerts, &dead, nullptr);
  EXPECT_OK(pipeline->Open());
  EXPECT_OK(pipeline->AddPartition(0, std::nullopt, 0));
  int64_t position = 0;
  auto feed = [&](const std::vector<std::string>& lines) {
    std::vector<PipelineRecord> records;
    for (const std::string& l : lines) {
      records.push_back(
          {l, std::nullopt, SourcePosition{"file", 0, position++}});
    }
    EXPECT_OK(pipeline->OnMessages(records, 0));
    EXPECT_OK(pipeline->Checkpoint());
  };
  feed({ArrivalLine("t1", "P1", "2022-09-01T08:00:00+08:00"),
        ScanLine("s2", "P2", "2022-09-01T10:00:00+08:00"),
        ScanLine("s3", "P2", "2022-09-01T18:00:00+08:00")});
  if (restart) {
    pipeline.reset();
    pipeline = std::make_unique<CityPipeline>(engine, RulesConfig(), &store,
                                              &alerts, &alerts, &dead, nullptr);
    EXPECT_OK(pipeline->Open());
    EXPECT_OK(pipeline->AddPartition(0, std::nullopt, 0));
  }
  feed({ScanLine("s4", "P2", "2022-09-30T10:00:00+08:00"),
        ScanLine("s5", "P2", "2022-09-30T12:00:00+08:00")});
  EXPECT_TRUE(dead.lines.empty()) << dead.lines.front();
  StoredState out;
  const std::string sp = state_keys::PartitionPrefix(0, 'S');
  EXPECT_OK(store.Scan(sp, PrefixEnd(sp),
                       [&](std::string_view k, std::string_view v) {
                         out.persons.emplace(std::string(k), std::string(v));
                         return true;
                       }));
  const std::string ip = state_keys::PartitionPrefix(0, 'R');
  EXPECT_OK(
      store.Scan(ip, PrefixEnd(ip), [&](std::string_view, std::string_view) {
        ++out.index_entries;
        return true;
      }));
  return out;
}

TEST(RestartSweepTest, FirstWatermarkInALaterDayStillSweeps) {
  const StoredState uninterrupted = RunAcrossRetention(false);
  const StoredState restarted = RunAcrossRetention(true);
  // The uninterrupted run swept: only p2 is left, and no index entry.
  EXPECT_EQ(uninterrupted.persons.size(), 1u);
  EXPECT_EQ(uninterrupted.index_entries, 0u);
  EXPECT_EQ(restarted.persons.size(), 1u)
      << "the restarted pipeline skipped the sweep";
  EXPECT_EQ(restarted.index_entries, 0u);
  EXPECT_TRUE(restarted.persons == uninterrupted.persons);
}

}  // namespace
}  // namespace epistream
