// Changelog writer and restorer against the embedded broker: staged writes
// are captured and routed by partition, a restore equals the source state
// (tombstones included), an interrupted checkpoint is dropped, a current
// local copy reads nothing.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "engine/byte_codec.h"
#include "engine/changelog_restorer.h"
#include "engine/changelog_writer.h"
#include "engine/embedded_broker.h"
#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/shared_broker_test.h"
#include "tests/testing/scenario.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

using testing::Num;

// 'P' + be16(p) keys go to changelog partition p; everything else stays out.
int32_t Route(std::string_view key) {
  if (key.size() < 3 || key[0] != state_keys::kPartitioned) return -1;
  return (static_cast<uint8_t>(key[1]) << 8) | static_cast<uint8_t>(key[2]);
}

std::map<std::string, std::string> Dump(KvStore* store, uint16_t partition) {
  std::map<std::string, std::string> out;
  const std::string prefix = state_keys::PartitionPrefix(partition);
  EXPECT_OK(store->Scan(prefix, PrefixEnd(prefix),
                        [&](std::string_view k, std::string_view v) {
                          out.emplace(k, v);
                          return true;
                        }));
  return out;
}

// What a writer that dies mid-checkpoint leaves: tagged writes, no marker.
void ProduceUnmarked(const std::string& brokers, const std::string& topic,
                     int32_t partition,
                     const std::map<std::string, std::string>& writes,
                     uint64_t writer, uint64_t seq) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err,
                              sizeof err),
            RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  std::string tag;
  ByteWriter w(&tag);
  w.BigEndian64(writer);
  w.BigEndian64(seq);
  for (const auto& [k, v] : writes) {
    ASSERT_EQ(
        rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic.c_str()),
            RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(k.data(), k.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
            RD_KAFKA_V_HEADER(kChangelogHeader, tag.data(), 16),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
        RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

class ChangelogTest : public testing::SharedBrokerTest {
 protected:
  ChangelogOptions Options(const std::string& topic) const {
    ChangelogOptions o;
    o.brokers = broker_->bootstrap_servers();
    o.topic = topic;
    o.timeout_ms = 10000;
    return o;
  }
};

TEST_F(ChangelogTest, RestoreEqualsSourceIncludingTombstones) {
  ASSERT_OK(broker_->CreateTopic("cl.restore", 4));
  auto writer = ChangelogWriter::Create(Options("cl.restore"));
  ASSERT_OK(writer.status());
  auto parts = (*writer)->EnsureTopic(4);
  ASSERT_OK(parts.status());
  EXPECT_EQ(*parts, 4);

  MemKvStore source;
  for (int i = 0; i < 50; ++i) {
    source.Put(state_keys::Partitioned(1, 'S', Num("person", i)), Num("v", i));
    source.Put(state_keys::Partitioned(2, 'S', Num("other", i)), "w");
  }
  source.Put(state_keys::Global('P', "registry"),
             "global: not in any changelog");
  auto marks = (*writer)->WriteCheckpoint(source, Route, {1, 2}, 1);
  ASSERT_OK(marks.status());
  ASSERT_OK(source.Commit());
  EXPECT_EQ((*writer)->records_written(), 100u + 2u);  // writes + two markers

  // Second checkpoint: an update, a delete (tombstone), a new key.
  source.Put(state_keys::Partitioned(1, 'S', "person3"), "v3-updated");
  source.Delete(state_keys::Partitioned(1, 'S', "person4"));
  source.Put(state_keys::Partitioned(1, 'T', "timer"), "t");
  auto marks2 = (*writer)->WriteCheckpoint(source, Route, {1, 2}, 2);
  ASSERT_OK(marks2.status());
  ASSERT_OK(source.Commit());
  EXPECT_GT(marks2->at(1).end_offset, marks->at(1).end_offset);
  EXPECT_EQ(marks2->at(1).seq, 2u);

  auto restorer = ChangelogRestorer::Create(Options("cl.restore"));
  ASSERT_OK(restorer.status());
  // From the beginning into an empty store: equal to the source's partition.
  MemKvStore target;
  auto r = (*restorer)->Restore(1, std::nullopt, &target);
  ASSERT_OK(r.status());
  ASSERT_OK(target.Commit());
  EXPECT_FALSE(r->current);
  EXPECT_EQ(r->checkpoints, 2u);
  EXPECT_EQ(r->records, 50u + 3u);
  EXPECT_EQ(r->dropped, 0u);
  EXPECT_EQ(r->mark.end_offset, marks2->at(1).end_offset);
  EXPECT_EQ(Dump(&target, 1), Dump(&source, 1));
  EXPECT_EQ(Dump(&target, 1).count(state_keys::Partitioned(1, 'S', "person4")),
            0u);
  EXPECT_TRUE(Dump(&target, 2).empty())
      << "only the asked partition is restored";

  // Incrementally, from the first checkpoint's mark: the delete reaches a
  // copy that still has the key.
  MemKvStore stale;
  auto r1 = (*restorer)->Restore(1, std::nullopt, &stale);
  ASSERT_OK(r1.status());
  ASSERT_OK(stale.Commit());
  stale.Put(state_keys::Partitioned(1, 'S', "person4"),
            "v4");  // as after checkpoint 1
  ASSERT_OK(stale.Commit());
  auto r2 = (*restorer)->Restore(1, marks->at(1), &stale);
  ASSERT_OK(r2.status());
  ASSERT_OK(stale.Commit());
  EXPECT_EQ(r2->checkpoints, 1u);
  EXPECT_EQ(r2->records, 3u);
  EXPECT_EQ(Dump(&stale, 1), Dump(&source, 1));

  // A current local copy reads nothing.
  auto r3 = (*restorer)->Restore(1, marks2->at(1), &stale);
  ASSERT_OK(r3.status());
  EXPECT_TRUE(r3->current);
  EXPECT_EQ(r3->records, 0u);
}

TEST_F(ChangelogTest, InterruptedCheckpointIsDropped) {
  ASSERT_OK(broker_->CreateTopic("cl.interrupted", 4));
  MemKvStore source;
  {
    auto writer = ChangelogWriter::Create(Options("cl.interrupted"));
    ASSERT_OK(writer.status());
    source.Put(state_keys::Partitioned(0, 'S', "a"), "1");
    ASSERT_OK((*writer)->WriteCheckpoint(source, Route, {0}, 1).status());
    ASSERT_OK(source.Commit());
  }
  // A writer that dies after producing its writes, before the marker: its
  // records are in the topic with a tag no marker will ever close (the same
  // sequence number the next owner uses: only the writer id tells them apart).
  ASSERT_NO_FATAL_FAILURE(ProduceUnmarked(
      broker_->bootstrap_servers(), "cl.interrupted", 0,
      {{state_keys::Partitioned(0, 'S', "a"), "uncommitted"},
       {state_keys::Partitioned(0, 'S', "ghost"), "uncommitted"}},
      12345, 2));
  // A new owner (another writer id) writes a complete checkpoint after them.
  auto next = ChangelogWriter::Create(Options("cl.interrupted"));
  ASSERT_OK(next.status());
  source.Put(state_keys::Partitioned(0, 'S', "b"), "2");
  ASSERT_OK((*next)->WriteCheckpoint(source, Route, {0}, 2).status());
  ASSERT_OK(source.Commit());

  auto restorer = ChangelogRestorer::Create(Options("cl.interrupted"));
  ASSERT_OK(restorer.status());
  MemKvStore target;
  auto r = (*restorer)->Restore(0, std::nullopt, &target);
  ASSERT_OK(r.status());
  ASSERT_OK(target.Commit());
  EXPECT_EQ(r->dropped, 2u);
  EXPECT_EQ(r->checkpoints, 2u);
  EXPECT_EQ(Dump(&target, 0), Dump(&source, 0));

  // Records after the last marker (a checkpoint cut short now) are dropped too.
  ASSERT_NO_FATAL_FAILURE(ProduceUnmarked(
      broker_->bootstrap_servers(), "cl.interrupted", 0,
      {{state_keys::Partitioned(0, 'S', "late"), "x"}}, 777, 9));
  MemKvStore again;
  auto r2 = (*restorer)->Restore(0, std::nullopt, &again);
  ASSERT_OK(r2.status());
  ASSERT_OK(again.Commit());
  EXPECT_EQ(r2->dropped, 3u);
  EXPECT_EQ(Dump(&again, 0), Dump(&source, 0));
}

TEST_F(ChangelogTest, TopicIsCreatedWhenMissing) {
  auto writer = ChangelogWriter::Create(Options("cl.created"));
  ASSERT_OK(writer.status());
  auto parts = (*writer)->EnsureTopic(3);
  ASSERT_OK(parts.status());
  EXPECT_GE(*parts, 3);
  // More partitions than the topic has is an error, not a silent mismatch.
  EXPECT_EQ((*writer)->EnsureTopic(*parts + 1).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ChangelogStagedTest, RocksStoreVisitsStagedWritesInCallOrder) {
  ::epistream::testing::TempDir dir;
  auto store = RocksKvStore::Open(dir.path() + "/db", StateConfig{});
  ASSERT_OK(store.status());
  KvStore& s = **store;
  s.Put("a", "1");
  s.PutForCommit("b", "2");
  s.Delete("c");
  s.DeleteForCommit("d");
  s.Put("a", "3");
  std::vector<std::string> seen;
  ASSERT_OK(s.ForEachStaged([&](std::string_view k, const std::string_view* v) {
    std::string entry(k);
    entry.push_back('=');
    entry.append(v != nullptr ? *v : std::string_view("<del>"));
    seen.push_back(std::move(entry));
  }));
  // Indexed writes first, then the plain ones (PutForCommit's contract:
  // per key, still call order).
  EXPECT_EQ(seen, (std::vector<std::string>{"a=1", "c=<del>", "a=3", "b=2",
                                            "d=<del>"}));
  ASSERT_OK(s.Commit());
  seen.clear();
  ASSERT_OK(s.ForEachStaged([&](std::string_view k, const std::string_view*) {
    seen.emplace_back(k);
  }));
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace epistream
