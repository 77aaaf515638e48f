// The serialisable pieces of the cluster stage: ClusterRecord (the edge
// person stage -> cluster stage), DeltaCounter, CaseWindow with its episode,
// VenueActivity, and the version steps of a growing cluster.
#include "operators/cluster/cluster_record.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/byte_codec.h"
#include "operators/cluster/case_window.h"
#include "operators/cluster/delta_counter.h"
#include "operators/cluster/venue_activity.h"
#include "operators/person_state.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

TEST(ClusterRecordTest, EveryKindRoundTrips) {
  std::vector<ClusterRecord> records;
  ClusterRecord link;
  link.kind = ClusterRecordKind::kFeverLink;
  link.key = "venue-7";
  link.ts = 1663632000123;
  link.person_id = "p1";
  link.event_id = "f1";
  link.clinic_id = "c1";
  link.aux_ts = link.ts - 3 * kDayMs;
  records.push_back(link);
  ClusterRecord community = link;
  community.kind = ClusterRecordKind::kCommunityFever;
  community.key = "comm";
  community.aux_ts = 0;
  records.push_back(community);
  ClusterRecord visit = community;
  visit.kind = ClusterRecordKind::kClinicVisit;
  visit.clinic_id.clear();
  records.push_back(visit);
  ClusterRecord scan;
  scan.kind = ClusterRecordKind::kVenueScan;
  scan.key = "v";
  scan.ts = -5;  // before 1970 is still a time
  records.push_back(scan);
  for (auto kind :
       {ClusterRecordKind::kVenueVisitors, ClusterRecordKind::kCommunitySeen,
        ClusterRecordKind::kCommunityRegistered,
        ClusterRecordKind::kCityCount}) {
    ClusterRecord d;
    d.kind = kind;
    d.key = kind == ClusterRecordKind::kCityCount ? "fever_case" : "k";
    d.ts = 1663632000000 + 14 * kDayMs + 1;
    d.delta = -1;
    records.push_back(d);
  }
  std::string bytes;
  for (const ClusterRecord& r : records) {
    r.Encode(&bytes);
    ClusterRecord back;
    ASSERT_OK(back.Decode(bytes));
    EXPECT_TRUE(back == r) << static_cast<int>(r.kind);
    bytes.push_back('x');
    EXPECT_FALSE(back.Decode(bytes).ok());
    bytes.resize(bytes.size() - 2);
    EXPECT_FALSE(back.Decode(bytes).ok());
  }
  {
    // A whole, valid record but for its kind byte (after the version).
    ClusterRecord scan;
    scan.kind = ClusterRecordKind::kVenueScan;
    scan.key = "rst-1";
    scan.ts = 1663603200000;
    std::string bytes;
    scan.Encode(&bytes);
    ASSERT_OK(ClusterRecord().Decode(bytes));
    bytes[1] = static_cast<char>(static_cast<uint8_t>(ClusterRecordKind::kVenueDayLink) + 1);
    EXPECT_FALSE(ClusterRecord().Decode(bytes).ok()) << "unknown kind";
  }
  EXPECT_FALSE(ClusterRecord().Decode(std::string("\x07", 1)).ok())
      << "unknown version";
}

TEST(ClusterRecordTest, CounterNames) {
  for (int i = 0; i < kNumCityCounters; ++i) {
    CityCounter c;
    ASSERT_TRUE(
        ParseCityCounter(CityCounterName(static_cast<CityCounter>(i)), &c));
    EXPECT_EQ(static_cast<int>(c), i);
  }
  CityCounter c;
  EXPECT_FALSE(ParseCityCounter("bogus", &c));
}

TEST(ClusterRecordTest, BufferReusesSlotsAndResetsFields) {
  ClusterRecordBuffer buf;
  ClusterRecord& a = buf.Add();
  a.kind = ClusterRecordKind::kFeverLink;
  a.person_id = "someone";
  a.delta = 4;
  buf.Clear();
  EXPECT_TRUE(buf.empty());
  ClusterRecord& b = buf.Add();
  EXPECT_EQ(b.kind, ClusterRecordKind::kVenueScan);
  EXPECT_TRUE(b.person_id.empty());
  EXPECT_EQ(b.delta, 0);
  EXPECT_EQ(buf.size(), 1u);
}

TEST(DeltaCounterTest, ValueCountsStampsAtOrBefore) {
  DeltaCounter c;
  c.Add(100, 1);
  c.Add(300, -1);
  c.Add(50, 2);  // out of order
  c.Add(200, 1);
  c.Add(200, -1);  // cancels: no entry left
  EXPECT_EQ(c.pending(), 3u);
  EXPECT_EQ(c.ValueAt(49), 0);
  EXPECT_EQ(c.ValueAt(50), 2);
  EXPECT_EQ(c.ValueAt(100), 3);
  EXPECT_EQ(c.ValueAt(299), 3);
  EXPECT_EQ(c.ValueAt(300), 2);
  c.Compact(101);
  EXPECT_EQ(c.pending(), 1u);
  EXPECT_EQ(c.ValueAt(150), 3);
  EXPECT_EQ(c.ValueAt(300), 2);
  std::string bytes;
  ByteWriter w(&bytes);
  c.Encode(&w);
  DeltaCounter back;
  ByteReader r(bytes);
  ASSERT_TRUE(back.Decode(&r));
  EXPECT_TRUE(r.done());
  EXPECT_TRUE(back == c);
  c.Add(300, 1);
  c.Compact(1000);
  c.Add(2000, -3);
  c.Add(2000, 3);
  EXPECT_EQ(c.ValueAt(5000), 3);
  EXPECT_FALSE(c.Empty());
}

TEST(CaseWindowTest, CasesAreDistinctPersonsInTheWindow) {
  CaseWindow w;
  auto link = [](const char* person, const char* event, TimestampMs ts) {
    return CaseLink{person, event, "c1", ts, ts - 10};
  };
  EXPECT_TRUE(w.AddLink(link("b", "f2", 200)));
  EXPECT_TRUE(w.AddLink(link("a", "f1", 100)));
  EXPECT_TRUE(w.AddLink(link("a", "f3", 300)));  // a's second fever visit
  EXPECT_TRUE(w.AddLink(link("c", "f4", 400)));
  EXPECT_FALSE(w.AddLink(link("a", "f1", 100))) << "a repeat is not a new link";
  TimestampMs latest = 0;
  std::vector<const CaseLink*> cases = w.CasesIn(100, 300, &latest);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0]->person_id, "a");
  EXPECT_EQ(cases[0]->event_id, "f1");  // the earliest visit
  EXPECT_EQ(cases[1]->person_id, "b");
  EXPECT_EQ(latest, 300);
  cases = w.CasesIn(101, 400, &latest);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0]->person_id, "b");
  EXPECT_EQ(cases[1]->event_id, "f3");
  EXPECT_TRUE(w.CasesIn(401, 500, &latest).empty());
  EXPECT_EQ(latest, kMinTimestamp);
}

TEST(CaseWindowTest, RoundTripsWithEpisodeAndPrunes) {
  CaseWindow w;
  w.AddLink(CaseLink{"a", "f1", "c1", 1000, 900});
  w.AddLink(CaseLink{"b", "f2", "c2", 2000, 1500});
  w.population.Add(500, 12);
  w.registered = 40;
  w.has_episode = true;
  w.episode.cluster_id = "venue-0123456789abcdef";
  w.episode.started_at = 2000;
  w.episode.version = 2;
  w.episode.reported_count = 4;
  w.episode.first_ts = 1000;
  w.episode.last_ts = 2000;
  EXPECT_TRUE(w.episode.AddMember(w.links[1]));
  EXPECT_TRUE(w.episode.AddMember(w.links[0]));
  EXPECT_FALSE(w.episode.AddMember(w.links[0]));
  ASSERT_EQ(w.episode.members.size(), 2u);
  EXPECT_EQ(w.episode.members[0].person_id, "a")
      << "members in fever-time order";
  std::string bytes;
  w.Encode(&bytes);
  CaseWindow back;
  ASSERT_OK(back.Decode(bytes));
  std::string again;
  back.Encode(&again);
  EXPECT_EQ(bytes, again);
  EXPECT_EQ(back.episode.members[1].scan_ts, 1500);
  EXPECT_EQ(back.registered, 40);
  back.Prune(1500, 1999, 600);
  EXPECT_EQ(back.links.size(), 1u);
  EXPECT_TRUE(back.has_episode);
  EXPECT_EQ(back.population.ValueAt(600), 12);
  back.Prune(3000, 2001, 600);
  EXPECT_TRUE(back.links.empty());
  EXPECT_FALSE(back.has_episode);
  back.registered = 0;
  back.population = DeltaCounter();
  EXPECT_TRUE(back.Empty());
  bytes.pop_back();
  EXPECT_FALSE(back.Decode(bytes).ok());
}

TEST(CaseWindowTest, VersionSteps) {
  std::vector<uint64_t> steps;
  uint64_t s = 0;
  for (int i = 0; i < 12; ++i) {
    s = NextVersionStep(s);
    steps.push_back(s);
  }
  EXPECT_EQ(steps, (std::vector<uint64_t>{3, 4, 5, 6, 8, 10, 15, 23, 35, 53, 80,
                                          120}));
  EXPECT_EQ(NextVersionStep(7), 8u);
  EXPECT_EQ(NextVersionStep(16), 23u);
}

TEST(VenueActivityTest, RoundTrips) {
  VenueActivity a;
  a.spans.push_back(PresenceSpan{"", 100, 500, 0, true});
  a.spans.push_back(PresenceSpan{"", 90000, 90000, 0, false});
  a.timer = 90000 + kDayMs;
  std::string bytes;
  a.Encode(&bytes);
  VenueActivity back;
  ASSERT_OK(back.Decode(bytes));
  EXPECT_EQ(back.timer, a.timer);
  ASSERT_EQ(back.spans.size(), 2u);
  EXPECT_EQ(back.spans[0].last, 500);
  EXPECT_TRUE(back.spans[0].closed);
  EXPECT_FALSE(back.spans[1].closed);
  EXPECT_FALSE(back.Empty());
  EXPECT_TRUE(VenueActivity().Empty());
}

// Person states written before the presence spans existed (version 1) still
// decode, and the spans round-trip in the current version.
TEST(PersonStatePresenceTest, VersionOneStillDecodesAndSpansRoundTrip) {
  PersonState s;
  s.last_ts = 1663632000000;
  s.trail.push_back({s.last_ts - 5000, "v1", VenueKind::kRestaurant});
  s.fevers.push_back({s.last_ts, "f1", "c1", 38.5, false});
  s.seen.push_back({42, s.last_ts});
  // Version 1, written out field by field: strings in place, no spans and
  // no presence timer at the end.
  std::string v1;
  ByteWriter w(&v1);
  w.U8(1);
  w.SignedVarint(s.last_ts);
  w.Varint(0);  // entries
  w.Varint(0);  // exposures
  w.Varint(1);  // trail
  w.SignedVarint(5000);
  w.Str("v1");
  w.U8(static_cast<uint8_t>(VenueKind::kRestaurant));
  w.Varint(1);  // fevers
  w.SignedVarint(0);
  w.Str("f1");
  w.Str("c1");
  w.Double(38.5);
  w.U8(0);
  w.Varint(0);  // tests
  w.Varint(0);  // quarantines
  w.Varint(0);  // day flags
  w.Varint(1);  // seen
  w.BigEndian64(42);
  w.SignedVarint(0);
  PersonState back;
  ASSERT_OK(back.Decode(v1));
  std::string again;
  back.Encode(&again);
  std::string current;
  s.Encode(&current);
  EXPECT_EQ(again, current);

  s.presence.push_back(
      PresenceSpan{"v1", s.last_ts - 5000, s.last_ts - 5000, 4, false});
  s.presence.push_back(PresenceSpan{"", s.last_ts - 9 * kDayMs,
                                    s.last_ts - 8 * kDayMs, 0, true});
  s.presence_timer = s.last_ts + 3 * kDayMs;
  s.Encode(&current);
  ASSERT_OK(back.Decode(current));
  ASSERT_EQ(back.presence.size(), 2u);
  EXPECT_EQ(back.presence[0].key, "v1");
  EXPECT_EQ(back.presence[0].track, 4);
  EXPECT_EQ(back.presence[1].start, s.last_ts - 9 * kDayMs);
  EXPECT_EQ(back.presence[1].last, s.last_ts - 8 * kDayMs);
  EXPECT_TRUE(back.presence[1].closed);
  EXPECT_EQ(back.presence_timer, s.presence_timer);
  EXPECT_FALSE(back.Empty());
  current[0] = 4;  // no such version yet
  EXPECT_FALSE(back.Decode(current).ok());
}

}  // namespace
}  // namespace epistream
