// One behaviour suite over both KvStore implementations (typed tests), then
// the RocksDB-only guarantees: durability, atomic checkpoints, the read-only
// view and errors as Status.
#include "engine/kv_store.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/status.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/mem_kv_store.h"
#include "engine/rocks_kv_store.h"
#include "engine/rocksdb_status.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"
#include "tests/testing/small_rocks.h"

namespace epistream {
namespace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

using ::epistream::testing::TempDir;

// "k<i>" (appended: GCC 12 warns falsely on "k" + std::to_string(i)).
std::string NumKey(int i) {
  std::string key = "k";
  key += std::to_string(i);
  return key;
}

using testing::SmallStateConfig;

KeyValues ScanAll(KvStore& store, std::string_view begin,
                  std::string_view end) {
  KeyValues out;
  Status st =
      store.Scan(begin, end, [&out](std::string_view k, std::string_view v) {
        out.emplace_back(k, v);
        return true;
      });
  EXPECT_OK(st);
  return out;
}

// "" when absent, so expectations read as one comparison.
std::string GetOr(KvStore& store, std::string_view key,
                  std::string_view absent = "<absent>") {
  std::string value;
  bool found = false;
  Status st = store.Get(key, &value, &found);
  EXPECT_OK(st);
  return found ? value : std::string(absent);
}

template <typename Store>
class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Store, RocksKvStore>) {
      ASSERT_FALSE(dir_.path().empty());
      auto opened = RocksKvStore::Open(dir_.path() + "/db", SmallStateConfig());
      ASSERT_OK(opened.status());
      store_ = std::move(opened).value();
    } else {
      store_ = std::make_unique<Store>();
    }
  }
  void TearDown() override { store_.reset(); }  // before dir_ goes

  KvStore& store() { return *store_; }

  // Commits a..d = 1..4.
  void CommitAbcd() {
    store().Put("a", "1");
    store().Put("b", "2");
    store().Put("c", "3");
    store().Put("d", "4");
    ASSERT_OK(store().Commit());
  }

  TempDir dir_;
  std::unique_ptr<KvStore> store_;
};

using StoreTypes = ::testing::Types<MemKvStore, RocksKvStore>;
TYPED_TEST_SUITE(KvStoreTest, StoreTypes);

TYPED_TEST(KvStoreTest, GetMissingIsOkAndNotFound) {
  std::string value = "untouched";
  bool found = true;
  ASSERT_OK(this->store().Get("nope", &value, &found));
  EXPECT_FALSE(found);
  EXPECT_EQ(value, "untouched");
}

TYPED_TEST(KvStoreTest, PutGetDelete) {
  this->store().Put("k", "v1");
  ASSERT_OK(this->store().Commit());
  EXPECT_EQ(GetOr(this->store(), "k"), "v1");
  this->store().Put("k", "v2");
  ASSERT_OK(this->store().Commit());
  EXPECT_EQ(GetOr(this->store(), "k"), "v2");
  this->store().Delete("k");
  ASSERT_OK(this->store().Commit());
  EXPECT_EQ(GetOr(this->store(), "k"), "<absent>");
}

TYPED_TEST(KvStoreTest, ReadsSeeStagedWritesBeforeCommit) {
  this->store().Put("k", "committed");
  ASSERT_OK(this->store().Commit());
  this->store().Put("k", "staged");
  this->store().Put("new", "x");
  EXPECT_EQ(GetOr(this->store(), "k"), "staged");
  EXPECT_EQ(GetOr(this->store(), "new"), "x");
  this->store().Delete("k");
  EXPECT_EQ(GetOr(this->store(), "k"), "<absent>");
  this->store().Put("k", "again");  // a later write beats the staged delete
  EXPECT_EQ(GetOr(this->store(), "k"), "again");
}

TYPED_TEST(KvStoreTest, ScanMergesStagedOverCommittedInOrder) {
  this->CommitAbcd();
  this->store().Put("b", "2'");    // overwrite a committed key
  this->store().Put("bb", "new");  // new key between committed ones
  this->store().Delete("c");       // hide a committed key
  this->store().Put("0", "before-range");
  this->store().Put("e", "at-end");  // end is exclusive
  EXPECT_EQ(ScanAll(this->store(), "a", "e"),
            (KeyValues{{"a", "1"}, {"b", "2'"}, {"bb", "new"}, {"d", "4"}}));
  ASSERT_OK(this->store().Commit());
  EXPECT_EQ(ScanAll(this->store(), "a", "e"),
            (KeyValues{{"a", "1"}, {"b", "2'"}, {"bb", "new"}, {"d", "4"}}));
}

TYPED_TEST(KvStoreTest, ScanStopsWhenFnReturnsFalse) {
  this->CommitAbcd();
  this->store().Put("a1", "staged");
  std::vector<std::string> seen;
  ASSERT_OK(this->store().Scan("a", "z",
                               [&seen](std::string_view k, std::string_view) {
                                 seen.emplace_back(k);
                                 return seen.size() < 3;
                               }));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "a1", "b"}));
}

TYPED_TEST(KvStoreTest, ScanWithPrefixEnd) {
  const std::string ff2 = "\xff\xff";
  for (const std::string& k :
       {std::string("p1"), std::string("p1/a"), std::string("p1/\xff"),
        std::string("p10"), std::string("p2/a"), ff2 + "x"}) {
    this->store().Put(k, "c");
  }
  ASSERT_OK(this->store().Commit());
  this->store().Put("p1/b", "s");
  this->store().Put("p1\xff", "s");  // sorts after every "p1/..." key
  EXPECT_EQ(ScanAll(this->store(), "p1/", PrefixEnd("p1/")),
            (KeyValues{{"p1/a", "c"}, {"p1/b", "s"}, {"p1/\xff", "c"}}));
  // An all-0xff prefix has no end: PrefixEnd is "", meaning unbounded.
  ASSERT_EQ(PrefixEnd(ff2), "");
  EXPECT_EQ(ScanAll(this->store(), ff2, PrefixEnd(ff2)),
            (KeyValues{{ff2 + "x", "c"}}));
}

TYPED_TEST(KvStoreTest, DeleteRangeCoversCommittedAndStaged) {
  this->CommitAbcd();
  this->store().Put("bb", "staged");
  ASSERT_OK(this->store().DeleteRange("b", "d"));
  EXPECT_EQ(ScanAll(this->store(), "", ""),
            (KeyValues{{"a", "1"}, {"d", "4"}}));
  EXPECT_EQ(GetOr(this->store(), "b"), "<absent>");
  this->store().Put("c", "after");  // writes after the range delete still land
  ASSERT_OK(this->store().Commit());
  EXPECT_EQ(ScanAll(this->store(), "", ""),
            (KeyValues{{"a", "1"}, {"c", "after"}, {"d", "4"}}));
}

TYPED_TEST(KvStoreTest, HotKeyOverwrittenManyTimesLosesNoUpdate) {
  constexpr int kUpdates = 5000;
  for (int i = 0; i < kUpdates; ++i) {
    const std::string current = GetOr(this->store(), "counter", "0");
    this->store().Put("counter", std::to_string(std::stoi(current) + 1));
    if (i == kUpdates / 2) ASSERT_OK(this->store().Commit());
  }
  EXPECT_EQ(GetOr(this->store(), "counter"), std::to_string(kUpdates));
  ASSERT_OK(this->store().Commit());
  EXPECT_EQ(GetOr(this->store(), "counter"), std::to_string(kUpdates));
  EXPECT_EQ(ScanAll(this->store(), "", "").size(), 1u);
}

TYPED_TEST(KvStoreTest, StagedBytesGrowsWithWritesAndResetsAtCommit) {
  EXPECT_EQ(this->store().StagedBytes(), 0u);
  this->store().Put("key", std::string(100, 'v'));
  const size_t after_put = this->store().StagedBytes();
  EXPECT_GE(after_put, 103u);
  this->store().Put("key", std::string(100, 'w'));  // overwrites still cost
  EXPECT_GE(this->store().StagedBytes(), after_put + 103);
  const size_t before_delete = this->store().StagedBytes();
  this->store().Delete("other");
  EXPECT_GT(this->store().StagedBytes(), before_delete);
  ASSERT_OK(this->store().Commit());
  EXPECT_EQ(this->store().StagedBytes(), 0u);
}

TYPED_TEST(KvStoreTest, ApproximateSizeCountsCommittedData) {
  const uint64_t empty = this->store().ApproximateSizeBytes();
  for (int i = 0; i < 2000; ++i)
    this->store().Put(NumKey(i), std::string(500, 'x'));
  EXPECT_EQ(this->store().ApproximateSizeBytes(),
            empty);  // staged data is not counted
  ASSERT_OK(this->store().Commit());
  EXPECT_GE(this->store().ApproximateSizeBytes(), empty + 1'000'000);
}

// ---- Reads off the owner thread (MultiGetCommitted / UnchangedSince) ----

// MultiGetCommitted of `keys` as "key=value" / "key-" lines.
std::vector<std::string> ReadCommitted(KvStore& store,
                                       const std::vector<std::string_view>& keys) {
  std::vector<std::string> values;
  std::vector<uint8_t> found;
  EXPECT_OK(store.MultiGetCommitted(keys, &values, &found));
  std::vector<std::string> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out.push_back(std::string(keys[i]) + (found[i] ? "=" + values[i] : "-"));
  }
  return out;
}

TYPED_TEST(KvStoreTest, ConcurrentReadsSeeCommittedDataOnly) {
  ASSERT_TRUE(this->store().SupportsConcurrentReads());
  this->CommitAbcd();
  this->store().Put("a", "staged");
  this->store().Delete("b");
  this->store().Put("e", "new");
  EXPECT_EQ(ReadCommitted(this->store(), {"a", "b", "e", "z"}),
            (std::vector<std::string>{"a=1", "b=2", "e-", "z-"}));
}

TYPED_TEST(KvStoreTest, StagedWriteMakesAReadValueStale) {
  this->CommitAbcd();
  const uint64_t v = this->store().CommittedVersion();
  EXPECT_TRUE(this->store().UnchangedSince("a", v));
  EXPECT_TRUE(this->store().UnchangedSince("absent", v));
  this->store().Put("a", "2");
  this->store().Delete("b");
  this->store().PutForCommit("c", "9");
  this->store().DeleteForCommit("d");
  for (const char* k : {"a", "b", "c", "d"}) {
    EXPECT_FALSE(this->store().UnchangedSince(k, v)) << k;
  }
  EXPECT_TRUE(this->store().UnchangedSince("absent", v));
}

TYPED_TEST(KvStoreTest, CommitAfterTheReadMakesItsKeysStale) {
  this->CommitAbcd();
  const uint64_t v = this->store().CommittedVersion();
  this->store().PutForCommit("a", "2");
  this->store().Put("e", "5");
  ASSERT_OK(this->store().Commit());
  EXPECT_GT(this->store().CommittedVersion(), v);
  EXPECT_FALSE(this->store().UnchangedSince("a", v));
  EXPECT_FALSE(this->store().UnchangedSince("e", v));
  // A read after the commit is current again.
  const uint64_t after = this->store().CommittedVersion();
  EXPECT_TRUE(this->store().UnchangedSince("a", after));
  EXPECT_EQ(ReadCommitted(this->store(), {"a", "e"}),
            (std::vector<std::string>{"a=2", "e=5"}));
  if constexpr (std::is_same_v<TypeParam, MemKvStore>) {
    // Exact per key: an untouched key read before the commit is still current.
    EXPECT_TRUE(this->store().UnchangedSince("b", v));
  }
}

TYPED_TEST(KvStoreTest, MultiGetFromAnotherThreadDuringCommits) {
  // Each commit rewrites every key with the commit's number: a concurrent
  // read sees, per key, a committed number at least the version taken
  // before it (never older data, never a staged value).
  constexpr int kKeys = 64;
  constexpr int kCommits = 200;
  std::vector<std::string> names;
  for (int i = 0; i < kKeys; ++i) names.push_back(NumKey(1000 + i));  // sorted
  const std::vector<std::string_view> keys(names.begin(), names.end());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    std::vector<std::string> values;
    std::vector<uint8_t> found;
    while (!done.load()) {
      const uint64_t before = this->store().CommittedVersion();
      if (!this->store().MultiGetCommitted(keys, &values, &found).ok()) ++bad;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (!found[i]) {
          if (before > 0) ++bad;
        } else if (values[i] == "staged" || std::stoull(values[i]) < before) {
          ++bad;
        }
      }
      ++reads;
    }
  });
  for (int c = 1; c <= kCommits; ++c) {
    const uint64_t next = this->store().CommittedVersion() + 1;
    for (const std::string& k : names) this->store().Put(k, "staged");
    for (const std::string& k : names) this->store().Put(k, std::to_string(next));
    ASSERT_OK(this->store().Commit());
  }
  while (reads.load() < 3) std::this_thread::yield();
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(ReadCommitted(this->store(), {keys[0]}),
            std::vector<std::string>{names[0] + "=" +
                                     std::to_string(this->store().CommittedVersion())});
}

// ---- RocksDB only ----

// Fails every write to a WAL file ("*.log") while `fail` is set: a full or
// broken disk at the moment of a checkpoint.
class FailingWalEnv : public rocksdb::EnvWrapper {
 public:
  FailingWalEnv() : EnvWrapper(rocksdb::Env::Default()) {}
  const char* Name() const override { return "FailingWalEnv"; }

  rocksdb::Status NewWritableFile(const std::string& name,
                                  std::unique_ptr<rocksdb::WritableFile>* file,
                                  const rocksdb::EnvOptions& options) override {
    rocksdb::Status s = EnvWrapper::NewWritableFile(name, file, options);
    if (s.ok() && name.ends_with(".log")) {
      *file = std::make_unique<FailingFile>(std::move(*file), &fail);
    }
    return s;
  }

  std::atomic<bool> fail{false};

 private:
  class FailingFile : public rocksdb::WritableFileWrapper {
   public:
    FailingFile(std::unique_ptr<rocksdb::WritableFile> file,
                const std::atomic<bool>* fail)
        : WritableFileWrapper(file.get()),
          file_(std::move(file)),
          fail_(fail) {}
    rocksdb::Status Append(const rocksdb::Slice& data) override {
      if (*fail_) return rocksdb::Status::IOError("injected WAL write failure");
      return WritableFileWrapper::Append(data);
    }
    rocksdb::Status Append(const rocksdb::Slice& data,
                           const rocksdb::DataVerificationInfo& info) override {
      if (*fail_) return rocksdb::Status::IOError("injected WAL write failure");
      return WritableFileWrapper::Append(data, info);
    }

   private:
    std::unique_ptr<rocksdb::WritableFile> file_;
    const std::atomic<bool>* fail_;
  };
};

class RocksKvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string db() const { return dir_.path() + "/db"; }
  std::unique_ptr<RocksKvStore> OpenOrDie() { return testing::OpenSmallRocks(db()); }
  TempDir dir_;
};

TEST_F(RocksKvStoreTest, CommittedDataSurvivesReopen) {
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 100; ++i) store->Put(NumKey(i), std::to_string(i * i));
    ASSERT_OK(store->Commit());
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ScanAll(*store, "", "").size(), 100u);
  EXPECT_EQ(GetOr(*store, "k42"), "1764");
}

TEST_F(RocksKvStoreTest, CheckpointIsAtomicUncommittedWritesAreLost) {
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    store->Put("state/p1", "s1");
    store->Put("offset/events/0", "100");
    ASSERT_OK(store->Commit());
    store->Put("state/p1", "s2");  // the next checkpoint, never committed
    store->Put("state/p2", "s2");
    store->Delete("state/p1x");
    store->Put("offset/events/0", "200");
    EXPECT_GT(store->StagedBytes(), 0u);
  }  // destroyed without Commit: a crash between checkpoints
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ScanAll(*store, "", ""),
            (KeyValues{{"offset/events/0", "100"}, {"state/p1", "s1"}}));
}

TEST_F(RocksKvStoreTest, FailedCommitIsAStatusAndKeepsTheBatchStaged) {
  FailingWalEnv env;
  {
    auto opened = RocksKvStore::Open(db(), SmallStateConfig(), &env);
    ASSERT_OK(opened.status());
    std::unique_ptr<RocksKvStore> store = std::move(opened).value();
    store->Put("offset", "1");
    ASSERT_OK(store->Commit());
    store->Put("offset", "2");
    const size_t staged = store->StagedBytes();
    env.fail = true;
    const Status st = store->Commit();
    EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
    EXPECT_NE(st.message().find("state commit"), std::string::npos)
        << st.ToString();
    EXPECT_NE(st.message().find("injected WAL write failure"),
              std::string::npos)
        << st.ToString();
    EXPECT_EQ(store->StagedBytes(), staged);
    EXPECT_EQ(GetOr(*store, "offset"), "2");  // still staged, still readable
    env.fail = false;
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetOr(*store, "offset"), "1");
}

TEST_F(RocksKvStoreTest, ReadOnlySeesCommittedDataWhileWriterIsOpen) {
  auto writer = OpenOrDie();
  ASSERT_NE(writer, nullptr);
  writer->Put("a", "1");
  ASSERT_OK(writer->Commit());
  writer->Put("b", "staged-only");

  auto opened = RocksKvStore::OpenReadOnly(db());
  ASSERT_OK(opened.status());
  std::unique_ptr<RocksKvStore> reader = std::move(opened).value();
  EXPECT_TRUE(reader->read_only());
  EXPECT_EQ(ScanAll(*reader, "", ""), (KeyValues{{"a", "1"}}));

  ASSERT_OK(writer->Commit());
  EXPECT_EQ(GetOr(*reader, "b"), "<absent>");  // not yet caught up
  ASSERT_OK(reader->CatchUp());
  EXPECT_EQ(GetOr(*reader, "b"), "staged-only");

  reader->Put("c", "refused");
  EXPECT_EQ(GetOr(*reader, "c"), "<absent>");
  EXPECT_EQ(reader->Commit().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->DeleteRange("a", "z").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GetOr(*writer, "c"), "<absent>");
  EXPECT_EQ(GetOr(*reader, "a"), "1");
}

TEST_F(RocksKvStoreTest, ReadOnlyOfMissingDbIsAnError) {
  auto opened = RocksKvStore::OpenReadOnly(dir_.path() + "/missing");
  EXPECT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("missing"), std::string::npos)
      << opened.status().ToString();
}

TEST_F(RocksKvStoreTest, UncreatableDirectoryIsAnIoErrorNotACrash) {
  // Runs as root too: nothing can create a directory under a regular file.
  const std::string file = dir_.path() + "/plain-file";
  std::ofstream(file) << "x";
  auto opened = RocksKvStore::Open(file + "/db", SmallStateConfig());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kIoError)
      << opened.status().ToString();
  EXPECT_NE(opened.status().message().find("open state " + file + "/db"),
            std::string::npos)
      << opened.status().ToString();
}

TEST_F(RocksKvStoreTest, SecondWriterOnSameDbIsRefused) {
  auto first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  auto second = RocksKvStore::Open(db(), SmallStateConfig());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIoError)
      << second.status().ToString();
}

TEST_F(RocksKvStoreTest, AsyncCommitKeysStayStaleForReadsBeforeIt) {
  std::unique_ptr<RocksKvStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  store->EnableAsyncCommit();
  for (const char* k : {"a", "b", "c"}) store->Put(k, "1");
  ASSERT_OK(store->Commit());
  ASSERT_OK(store->Sync());
  const uint64_t v = store->CommittedVersion();
  EXPECT_EQ(ReadCommitted(*store, {"a", "b", "c"}),
            (std::vector<std::string>{"a=1", "b=1", "c=1"}));
  // The next checkpoint rewrites a (write-back path) and c (indexed) while a
  // read of version v may be in use: in flight, then applied and synced.
  store->PutForCommit("a", "2");
  store->Put("c", "2");
  ASSERT_OK(store->Commit());
  EXPECT_FALSE(store->UnchangedSince("a", v));
  EXPECT_FALSE(store->UnchangedSince("c", v));
  EXPECT_TRUE(store->UnchangedSince("b", v));
  ASSERT_OK(store->Sync());
  EXPECT_FALSE(store->UnchangedSince("a", v));
  EXPECT_FALSE(store->UnchangedSince("c", v));
  EXPECT_TRUE(store->UnchangedSince("b", v));
  // Two commits after v: the older one's keys are forgotten, so nothing
  // read at v counts as current any more.
  store->Put("d", "1");
  ASSERT_OK(store->Commit());
  ASSERT_OK(store->Sync());
  EXPECT_FALSE(store->UnchangedSince("b", v));
  EXPECT_TRUE(store->UnchangedSince("b", store->CommittedVersion()));
  EXPECT_EQ(ReadCommitted(*store, {"a", "b", "c", "d"}),
            (std::vector<std::string>{"a=2", "b=1", "c=2", "d=1"}));
}

TEST_F(RocksKvStoreTest, StatsReportMetricsProperties) {
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 1000; ++i) store->Put(NumKey(i), std::string(100, 'v'));
  ASSERT_OK(store->Commit());
  const std::map<std::string, uint64_t> stats = store->Stats();
  for (const char* name :
       {"rocksdb.total-sst-files-size", "rocksdb.cur-size-all-mem-tables",
        "rocksdb.block-cache-usage",
        "rocksdb.estimate-pending-compaction-bytes",
        "rocksdb.estimate-num-keys", "rocksdb.actual-delayed-write-rate",
        "rocksdb.is-write-stopped"}) {
    EXPECT_EQ(stats.count(name), 1u) << name;
  }
  EXPECT_EQ(stats.at("rocksdb.estimate-num-keys"), 1000u);
  EXPECT_EQ(stats.at("rocksdb.is-write-stopped"), 0u);
  EXPECT_GT(stats.at("rocksdb.cur-size-all-mem-tables"), 0u);
}

TEST(RocksdbStatusTest, MapsCodesAndKeepsMessageAndContext) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "ctx").ok());
  const Status io =
      FromRocks(rocksdb::Status::IOError("disk gone"), "state commit");
  EXPECT_EQ(io.code(), StatusCode::kIoError);
  EXPECT_EQ(io.message(), "state commit: IO error: disk gone");
  EXPECT_EQ(FromRocks(rocksdb::Status::NoSpace("full"), "c").code(),
            StatusCode::kIoError);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad"), "c").code(),
            StatusCode::kCorruption);
  EXPECT_EQ(FromRocks(rocksdb::Status::NotFound("x"), "c").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(FromRocks(rocksdb::Status::InvalidArgument("x"), "c").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FromRocks(rocksdb::Status::NotSupported("x"), "c").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FromRocks(rocksdb::Status::Busy("x"), "c").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::TryAgain("x"), "c").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::Incomplete("x"), "c").code(),
            StatusCode::kInternal);
}

}  // namespace
}  // namespace epistream
