// RocksKvStore's write path: a checkpoint's staged writes (indexed and
// plain, repeated keys, deletes) must leave the DB exactly as applying them
// in call order would, synchronously or on the writer thread, and across a
// reopen; keys of every family and length go through the memtable insert
// hints; a DB written with other RocksDB options (an older release's) opens.
#include "engine/rocks_kv_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/rocksdb_status.h"
#include "engine/state_keys.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"
#include "tests/testing/small_rocks.h"
#include "tests/testing/numbered.h"

namespace epistream {
namespace {

using testing::Num;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

using ::epistream::testing::TempDir;

using testing::SmallStateConfig;

KeyValues ScanAll(KvStore& store) {
  KeyValues out;
  EXPECT_OK(store.Scan("", "", [&out](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  }));
  return out;
}

KeyValues ToKeyValues(const std::map<std::string, std::string>& model) {
  return KeyValues(model.begin(), model.end());
}

// Param: async commit (the writer thread) or not.
class RocksCommitTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string db() const { return dir_.path() + "/db"; }
  std::unique_ptr<RocksKvStore> OpenOrDie() { return testing::OpenSmallRocks(db(), GetParam()); }
  TempDir dir_;
};

TEST_P(RocksCommitTest, LastWriteOfEachKeyWinsInCallOrder) {
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    store->Put("b", "old");
    store->Put("a", "1");
    store->Delete("c");
    store->Put("c", "3");  // a delete then a put: the put
    store->Put("d", "4");
    store->Delete("d");  // a put then a delete: gone
    store->Put("b", "indexed");
    store->PutForCommit("b", "plain");  // plain is after indexed: wins
    store->PutForCommit("e", "5");
    store->DeleteForCommit("a");
    store->PutForCommit("f", "first");
    store->PutForCommit("f", "second");  // twice in the plain batch
    ASSERT_OK(store->Commit());
    ASSERT_OK(store->Sync());
    EXPECT_EQ(
        ScanAll(*store),
        (KeyValues{{"b", "plain"}, {"c", "3"}, {"e", "5"}, {"f", "second"}}));
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(
      ScanAll(*store),
      (KeyValues{{"b", "plain"}, {"c", "3"}, {"e", "5"}, {"f", "second"}}));
}

// Random checkpoints of Put/Delete/PutForCommit/DeleteForCommit over a small
// key space (so keys repeat within a batch and across batches, and the plain
// batch gets indexed by later indexed writes), against a std::map applied in
// call order. Big enough batches to fill several memtables and flush.
TEST_P(RocksCommitTest, RandomCheckpointsMatchAModelAppliedInOrder) {
  std::mt19937 rng(20261129);
  std::map<std::string, std::string> model;
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    for (int checkpoint = 0; checkpoint < 12; ++checkpoint) {
      for (int i = 0; i < 5000; ++i) {
        const std::string key = Num("p", rng() % 3000);
        const uint32_t op = rng() % 10;
        // Values of varying length, some long enough to matter for blocks.
        std::string value = Num("v", checkpoint * 100000 + i);
        value.append(rng() % 300, 'x');
        if (op < 4) {
          store->PutForCommit(key, value);
          model[key] = value;
        } else if (op < 8) {
          store->Put(key, value);
          model[key] = value;
        } else if (op == 8) {
          store->DeleteForCommit(key);
          model.erase(key);
        } else {
          store->Delete(key);
          model.erase(key);
        }
      }
      ASSERT_OK(store->Commit());
      if (checkpoint % 4 == 3) {
        ASSERT_OK(store->Sync());
        ASSERT_EQ(ScanAll(*store), ToKeyValues(model)) << checkpoint;
      }
    }
    ASSERT_OK(store->Sync());
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ScanAll(*store), ToKeyValues(model));
  std::string value;
  bool found = false;
  for (const auto& [k, v] : model) {
    ASSERT_OK(store->Get(k, &value, &found));
    ASSERT_TRUE(found) << k;
    ASSERT_EQ(value, v) << k;
  }
}

// A checkpoint is still all-or-nothing: the last committed one survives a
// store destroyed with further writes staged, repeated keys included.
TEST_P(RocksCommitTest, UncommittedRepeatsAreLostCommittedOnesKept) {
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 3; ++i) store->PutForCommit("s/p1", Num("v", i));
    store->Put("o/0", "100");
    ASSERT_OK(store->Commit());
    ASSERT_OK(store->Sync());
    store->PutForCommit("s/p1", "lost");
    store->Put("o/0", "200");
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ScanAll(*store), (KeyValues{{"o/0", "100"}, {"s/p1", "v2"}}));
}

// The memtable insert hint is per key family ('P' + partition + sub, 'G' +
// sub, else the first byte): keys shorter than a family prefix, the empty
// key and keys of every family, interleaved and rewritten over several
// checkpoints and memtable flushes, read back exactly.
TEST_P(RocksCommitTest, KeysOfEveryFamilyAndLengthReadBack) {
  std::vector<std::string> keys = {"", "P", "G", "O", "M", "\xff"};
  keys.push_back(std::string("P\0", 2));
  keys.push_back(std::string("P\0\1", 3));
  keys.push_back(state_keys::PartitionPrefix(1));
  for (int p = 0; p < 3; ++p) {
    for (char sub : {'S', 'T', 'R', 'W'}) {
      keys.push_back(state_keys::PartitionPrefix(p, sub));
      for (int i = 0; i < 40; ++i) {
        keys.push_back(state_keys::Partitioned(p, sub, Num("x", i)));
      }
    }
  }
  for (int i = 0; i < 40; ++i) {
    keys.push_back(state_keys::Global('P', Num("p", i)));
    keys.push_back(state_keys::Global('A', Num("r", i)));
    keys.push_back(state_keys::Offset(Num("events", i % 3), i));
    keys.push_back(state_keys::Meta(Num("sink:", i)));
  }
  std::map<std::string, std::string> model;
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    for (int round = 0; round < 6; ++round) {
      for (size_t i = 0; i < keys.size(); ++i) {
        // Forward, then backward, then every other key, ...: families
        // interleave differently each round.
        const size_t k = round % 2 == 0 ? i : keys.size() - 1 - i;
        if ((k + round) % 5 == 0) {
          store->Delete(keys[k]);
          model.erase(keys[k]);
          continue;
        }
        std::string value = Num("v", round);
        value.append(2000, static_cast<char>('a' + round));  // fills memtables
        if (k % 2 == 0) {
          store->PutForCommit(keys[k], value);
        } else {
          store->Put(keys[k], value);
        }
        model[keys[k]] = value;
      }
      ASSERT_OK(store->Commit());
    }
    ASSERT_OK(store->Sync());
    ASSERT_EQ(ScanAll(*store), ToKeyValues(model));
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ScanAll(*store), ToKeyValues(model));
  std::string value;
  bool found = true;
  ASSERT_OK(store->Get("", &value, &found));
  EXPECT_EQ(found, model.count("") == 1);
}

// A state directory written with RocksDB's default options (no L0 rule, no
// insert hints, other compression and memtable sizes: as by an older
// release) opens and reads back, and takes new checkpoints.
TEST(RocksKvStoreOptionsTest, OpensADbWrittenWithOtherOptions) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db_dir = dir.path() + "/db";
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_OK(FromRocks(rocksdb::DB::Open(options, db_dir, &raw), "open"));
    std::unique_ptr<rocksdb::DB> db(raw);
    for (int i = 0; i < 1000; ++i) {
      ASSERT_OK(FromRocks(
          db->Put(rocksdb::WriteOptions(), Num("P\x01S", i), Num("old", i)),
          "put"));
    }
    ASSERT_OK(FromRocks(db->Flush(rocksdb::FlushOptions()), "flush"));
    ASSERT_OK(FromRocks(db->Put(rocksdb::WriteOptions(), "Mlast", "wal only"),
                        "put"));
    ASSERT_OK(FromRocks(db->Close(), "close"));
  }
  auto opened = RocksKvStore::Open(db_dir, SmallStateConfig());
  ASSERT_OK(opened.status());
  std::unique_ptr<RocksKvStore> store = std::move(opened).value();
  std::string value;
  bool found = false;
  ASSERT_OK(store->Get("P\x01S7", &value, &found));
  EXPECT_TRUE(found);
  EXPECT_EQ(value, "old7");
  ASSERT_OK(store->Get("Mlast", &value, &found));
  EXPECT_TRUE(found);
  EXPECT_EQ(value, "wal only");
  store->PutForCommit("P\x01S7", "new");
  ASSERT_OK(store->Commit());
  store.reset();
  opened = RocksKvStore::Open(db_dir, SmallStateConfig());
  ASSERT_OK(opened.status());
  store = std::move(opened).value();
  EXPECT_EQ(ScanAll(*store).size(), 1001u);
  ASSERT_OK(store->Get("P\x01S7", &value, &found));
  EXPECT_EQ(value, "new");
}

INSTANTIATE_TEST_SUITE_P(SyncAndAsync, RocksCommitTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Async" : "Sync";
                         });

// The async commit runs on a thread named epi-commit, niced to at least 10:
// the stage thread, which every arriving event waits for, wins the CPU over
// a commit that nothing waits for until the next checkpoint.
TEST(RocksKvStoreThreadTest, CommitThreadIsNamedAndNiced) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::unique_ptr<RocksKvStore> store = testing::OpenSmallRocks(dir.path() + "/db", true);
  ASSERT_NE(store, nullptr);
  store->Put("k", "v");
  ASSERT_OK(store->Commit());
  ASSERT_OK(store->Sync());
  int found = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "epi-commit") continue;
    ++found;
    // /proc/<tid>/stat: "tid (comm) state ..."; nice is the 19th field,
    // the 17th after the closing parenthesis of the name.
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    for (int i = 0; i < 17; ++i) rest >> field;
    EXPECT_GE(std::stoi(field), 10) << line;
  }
  EXPECT_EQ(found, 1);
}

}  // namespace
}  // namespace epistream
