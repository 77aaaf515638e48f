// ParseAhead: each record's result is what EventParser gives on the calling
// thread (events and dead-letter reasons alike), ranges come back in the
// order submitted, and a reused batch carries nothing over from its last
// use.
#include "topologies/parse_ahead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace epistream {
namespace {

// The fields of an event that a parse sets, as text, for comparisons.
std::string Describe(const Event& e) {
  std::string out = std::string(EventTypeName(e.type)) + "|" + e.event_id + "|" +
                    std::to_string(e.ts) + "|" + e.person_id + "|" + e.venue_id + "|" +
                    e.region + "|" + e.hub_id + "|" + e.origin_region + "|" + e.clinic_id +
                    "|" + std::to_string(e.temp_c) + "|" + e.community_id + "|" +
                    std::to_string(static_cast<int>(e.code_color)) +
                    std::to_string(static_cast<int>(e.venue_kind)) +
                    std::to_string(static_cast<int>(e.mode)) +
                    std::to_string(static_cast<int>(e.category)) +
                    std::to_string(static_cast<int>(e.level)) +
                    std::to_string(static_cast<int>(e.occupation)) + (e.has_ts ? "t" : "f");
  for (const std::string& r : e.trip_regions) out += "|trip:" + r;
  for (const std::string& s : e.symptoms) out += "|sym:" + s;
  return out;
}

std::string Expected(const PipelineRecord& r) {
  EventParser parser(1024);
  Event e;
  std::string reason;
  return parser.Parse(r.bytes, r.type, &e, &reason) ? "ok " + Describe(e) : "dead " + reason;
}

std::string Got(const ParsedRecord& p) {
  return p.ok ? "ok " + Describe(p.event) : "dead " + p.reason;
}

const std::vector<std::string>& Inputs() {
  static const std::vector<std::string> inputs = {
      R"({"type":"scan","event_id":"s1","ts":"2022-09-20T08:00:00+08:00","person_id":"P1","venue_id":"v1","code_color":"green","venue_kind":"market","region":"110105"})",
      R"({"type":"transport","event_id":"t1","ts":1663632000000,"person_id":"P2","hub_id":"h1","mode":"air","origin_region":"310000","trip_regions":["440300","SG"],"category":"inbound_released"})",
      R"({"type":"fever","event_id":"f1","ts":"2022-09-20T09:00:00+08:00","person_id":"P3","clinic_id":"c1","temp_c":38.5,"symptoms":["cough"],"community_id":"k1"})",
      R"({"type":"risk_area","event_id":"r1","ts":"2022-09-20T00:00:00+08:00","region":"440300","level":"high"})",
      R"({"type":"person","person_id":"P4","community_id":"k2","occupation":"cold_chain"})",
      "{not json",
      R"({"type":"scan","event_id":"s2","ts":"2022-09-20T08:00:00+08:00"})",
      R"({"type":"fever","event_id":"f2","ts":"2022-09-20T09:00:00+08:00","person_id":"P3","clinic_id":"c1","temp_c":99})",
      std::string(2000, ' ') + "{}",  // too_large at 1,024 bytes
      "",
  };
  return inputs;
}

TEST(ParseAheadTest, ResultsAreTheInlineParsersInSubmissionOrder) {
  const std::vector<std::string>& inputs = Inputs();
  std::vector<PipelineRecord> records;
  for (int round = 0; round < 7; ++round) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      PipelineRecord r;
      r.bytes = inputs[(i + static_cast<size_t>(round)) % inputs.size()];
      // Kafka records carry their topic's type; the field is then ignored.
      if (round % 2 == 1) r.type = EventType::kScan;
      records.push_back(r);
    }
  }
  ParseAhead ahead(1024);
  const std::span<const PipelineRecord> all(records);
  // Ranges of different sizes, three outstanding at a time.
  const size_t sizes[] = {5, 17, 1, 30, 12, 5};
  size_t submitted = 0;
  size_t taken = 0;
  size_t next_size = 0;
  std::vector<size_t> pending;
  while (taken < records.size()) {
    while (pending.size() < 3 && submitted < records.size()) {
      const size_t n = std::min(sizes[next_size++ % 6], records.size() - submitted);
      ahead.Submit(all.subspan(submitted, n));
      pending.push_back(n);
      submitted += n;
    }
    EXPECT_EQ(ahead.outstanding(), pending.size());
    std::unique_ptr<ParsedBatch> b = ahead.Take();
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(b->records.size(), pending.front());
    ASSERT_GE(b->parsed.size(), b->records.size());
    for (size_t i = 0; i < b->records.size(); ++i) {
      EXPECT_EQ(b->records.data() + i, records.data() + taken + i) << "in order";
      EXPECT_EQ(Got(b->parsed[i]), Expected(records[taken + i])) << "record " << taken + i;
    }
    taken += b->records.size();
    pending.erase(pending.begin());
    ahead.Recycle(std::move(b));
  }
  EXPECT_EQ(ahead.Take(), nullptr);
  EXPECT_GT(ahead.cpu_seconds(), 0.0);
}

TEST(ParseAheadTest, DrainTakesWhatIsOutstanding) {
  std::vector<PipelineRecord> records(50);
  for (size_t i = 0; i < records.size(); ++i) records[i].bytes = Inputs()[i % Inputs().size()];
  ParseAhead ahead(1024);
  ahead.Submit(std::span<const PipelineRecord>(records).subspan(0, 20));
  ahead.Submit(std::span<const PipelineRecord>(records).subspan(20, 30));
  ahead.Drain();
  EXPECT_EQ(ahead.outstanding(), 0u);
  EXPECT_EQ(ahead.Take(), nullptr);
  // The recycled batches serve new ranges with fresh results.
  ahead.Submit(std::span<const PipelineRecord>(records).subspan(5, 1));
  std::unique_ptr<ParsedBatch> b = ahead.Take();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Got(b->parsed[0]), Expected(records[5]));
}

}  // namespace
}  // namespace epistream
