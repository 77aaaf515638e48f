// StateQueries (topologies/state_queries.h) over a real RocksDB that a
// writer keeps open, alone and behind the HTTP server's bearer token.
#include "topologies/state_queries.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/engine_config.h"
#include "engine/http_server.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "operators/person_cache.h"
#include "operators/person_state.h"
#include "tests/ops/ops_testing.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"

namespace epistream {
namespace {

constexpr int kTz = 8 * 60;
constexpr TimestampMs kT0 = 1663632903123;  // 2022-09-20T08:15:03.123+08:00

PersonState Returnee(const std::string& entry_id) {
  PersonState s;
  s.last_ts = kT0;
  EntryRecord e;
  e.ts = kT0;
  e.event_id = entry_id;
  e.hub_id = "hub-7";
  e.regions = {"420106", "4201"};
  s.entries.push_back(e);
  ExposureRecord x;
  x.area = "420106";
  x.entry_ts = kT0;
  x.entry_event_id = entry_id;
  x.level = RiskLevel::kHigh;
  s.exposures.push_back(x);
  s.tests.push_back(kT0 + kHourMs);
  return s;
}

class StateQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto store = RocksKvStore::Open(dir_.path() + "/state", StateConfig());
    ASSERT_OK(store.status());
    writer_ = std::move(store).value();
  }
  void PutPerson(uint16_t partition, const std::string& person,
                 const PersonState& s) {
    std::string value;
    s.Encode(&value);
    writer_->Put(PersonCache::StateKey(partition, person), value);
  }

  ::epistream::testing::TempDir dir_;
  std::unique_ptr<RocksKvStore> writer_;  // the engine, as it were
};

TEST_F(StateQueriesTest, PersonStateAsJson) {
  PutPerson(3, "p-1", Returnee("tr-1"));
  ASSERT_OK(writer_->Commit());
  StateQueries q(dir_.path() + "/state", kTz);
  const HttpResponse r = q.Person("p-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body.rfind("{\"person_id\":\"p-1\",\"partition\":3,"
                         "\"last_ts\":\"2022-09-20T08:15:03.123+08:00\",",
                         0),
            0u)
      << r.body;
  EXPECT_NE(r.body.find("\"event_id\":\"tr-1\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"regions\":[\"420106\",\"4201\"]"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"area\":\"420106\",\"level\":\"high\""),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"tests\":[\"2022-09-20T09:15:03.123+08:00\"]"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(q.Person("nobody").status, 404);
  EXPECT_EQ(q.Person("").status, 400);
  EXPECT_EQ(q.Person(std::string(65, 'x')).status, 400);
}

TEST_F(StateQueriesTest, SeesWhatTheWriterCommitsLater) {
  StateQueries q(dir_.path() + "/state", kTz);
  EXPECT_EQ(q.Person("p-2").status, 404);
  PutPerson(0, "p-2", Returnee("tr-2"));
  EXPECT_EQ(q.Person("p-2").status, 404);  // staged, not committed: invisible
  ASSERT_OK(writer_->Commit());
  const HttpResponse r = q.Person("p-2");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"event_id\":\"tr-2\""), std::string::npos) << r.body;
}

TEST_F(StateQueriesTest, ListsClusterKeys) {
  writer_->Put(state_keys::Global('C', "Vvenue-9"), "x");
  writer_->Put(state_keys::Global('C', "Kcommunity-1"), "x");
  writer_->Put(state_keys::Global('C', "Lclinic-2"), "x");
  writer_->Put(state_keys::Global('C', "Xtimer"), "x");  // not a cluster table
  PutPerson(1, "p-3", Returnee("tr-3"));
  ASSERT_OK(writer_->Commit());
  StateQueries q(dir_.path() + "/state", kTz);
  const HttpResponse r = q.Clusters();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      "{\"clusters\":[{\"kind\":\"venue\",\"id\":\"venue-9\"},"
      "{\"kind\":\"community\",\"id\":\"community-1\"},"
      "{\"kind\":\"clinic\",\"id\":\"clinic-2\"}],\"truncated\":false}\n");
}

TEST_F(StateQueriesTest, NoStateYetIsUnavailable) {
  StateQueries q(dir_.path() + "/not-created", kTz);
  EXPECT_EQ(q.Person("p-1").status, 503);
  EXPECT_EQ(q.Clusters().status, 503);
}

TEST_F(StateQueriesTest, ServedBehindTheBearerToken) {
  PutPerson(2, "p-4", Returnee("tr-4"));
  ASSERT_OK(writer_->Commit());
  StateQueries q(dir_.path() + "/state", kTz);
  HttpServer server({[] { return std::string(); }, nullptr, &q, "tok"});
  ASSERT_OK(server.Start("127.0.0.1", 0));
  using ::epistream::testing::Get;
  EXPECT_EQ(Get(server.port(), "/v1/persons/p-4").status, 401);
  const auto r = Get(server.port(), "/v1/persons/p-4", "Bearer tok");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"event_id\":\"tr-4\""), std::string::npos) << r.body;
  EXPECT_EQ(Get(server.port(), "/v1/persons/p-5", "Bearer tok").status, 404);
  EXPECT_EQ(Get(server.port(), "/v1/clusters", "Bearer tok").status, 200);
}

}  // namespace
}  // namespace epistream
