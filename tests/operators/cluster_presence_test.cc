// Presence spans give exact distinct counts: the +1/-1 deltas they emit,
// summed up to any time a the watermark has reached, equal the number of
// subjects with an occurrence in [a - W, a], for occurrences arriving in any
// order the lateness allows. Checked against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "operators/cluster/delta_counter.h"
#include "operators/cluster/presence_span.h"

namespace epistream {
namespace {

constexpr DurationMs kWindow = 100;

TEST(PresenceSpanTest, RepeatVisitsEmitNothingUntilTheSpanCloses) {
  std::vector<PresenceSpan> spans;
  std::vector<StampedDelta> d;
  EXPECT_EQ(AddOccurrence(&spans, 0, "v", 10, kWindow, &d), 10 + kWindow + 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].ts, 10);
  EXPECT_EQ(d[0].delta, 1);
  d.clear();
  EXPECT_EQ(AddOccurrence(&spans, 0, "v", 50, kWindow, &d), 151);
  EXPECT_EQ(AddOccurrence(&spans, 0, "v", 40, kWindow, &d), 151);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(spans.size(), 1u);
  // Another key and another track are other subjects.
  AddOccurrence(&spans, 0, "w", 50, kWindow, &d);
  AddOccurrence(&spans, 1, "v", 50, kWindow, &d);
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(spans.size(), 3u);
  d.clear();
  std::vector<std::pair<std::string, TimestampMs>> closed;
  const auto window = [](uint8_t) { return kWindow; };
  const TimestampMs next = CloseDueSpans(
      &spans, 151, window, [&](const PresenceSpan& s, TimestampMs end) {
        closed.emplace_back(s.key, end);
      });
  EXPECT_EQ(closed, (std::vector<std::pair<std::string, TimestampMs>>{
                        {"v", 151}, {"w", 151}, {"v", 151}}));
  EXPECT_EQ(next, kNoPresenceTimer);
  PruneClosedSpans(&spans, 150, window);
  EXPECT_EQ(spans.size(), 3u);
  PruneClosedSpans(&spans, 151, window);
  EXPECT_TRUE(spans.empty());
}

TEST(PresenceSpanTest, LateOccurrenceReopensAClosedSpan) {
  std::vector<PresenceSpan> spans;
  std::vector<StampedDelta> d;
  AddOccurrence(&spans, 0, "", 0, kWindow, &d);
  CloseDueSpans(
      &spans, 101, [](uint8_t) { return kWindow; },
      [&](const PresenceSpan&, TimestampMs end) {
        d.push_back({end, -1});
      });
  // An occurrence at 95 (late, within lateness) extends the coverage to 195:
  // the -1 at 101 is undone.
  const TimestampMs end = AddOccurrence(&spans, 0, "", 95, kWindow, &d);
  EXPECT_EQ(end, 196);
  DeltaCounter c;
  for (const StampedDelta& x : d) c.Add(x.ts, x.delta);
  EXPECT_EQ(c.ValueAt(150), 1);
  EXPECT_EQ(c.ValueAt(196), 1) << "not closed yet";
  EXPECT_FALSE(spans[0].closed);
}

// A random stream per subject, delivered in an order with bounded disorder;
// after every event the watermark moves and due spans close.
void RunRandom(uint64_t seed, DurationMs out_of_order, DurationMs lateness) {
  std::mt19937_64 rng(seed);
  const std::vector<std::string> keys = {"a", "b", "c"};
  // Occurrences: bursts and gaps longer than the window.
  std::vector<std::pair<TimestampMs, std::string>> events;
  for (const std::string& k : keys) {
    TimestampMs t = static_cast<TimestampMs>(rng() % 50);
    while (t < 2000) {
      events.emplace_back(t, k);
      t += rng() % 4 == 0 ? 80 + static_cast<TimestampMs>(rng() % 150)
                          : static_cast<TimestampMs>(rng() % 30);
    }
  }
  std::sort(events.begin(), events.end());
  // Disorder: each event's arrival key = ts + random delay up to 2x the
  // allowed disorder, so some arrive too late and are dropped.
  std::vector<std::pair<TimestampMs, size_t>> arrival;
  for (size_t i = 0; i < events.size(); ++i) {
    arrival.emplace_back(
        events[i].first + static_cast<TimestampMs>(
                              rng() % (2 * (out_of_order + lateness) + 1)),
        i);
  }
  std::sort(arrival.begin(), arrival.end());

  std::vector<PresenceSpan> spans;
  std::map<std::string, DeltaCounter> counters;
  std::map<std::string, std::vector<TimestampMs>> accepted;
  std::vector<StampedDelta> d;
  TimestampMs max_seen = kMinTimestamp, wm = kMinTimestamp;
  TimestampMs timer = kNoPresenceTimer;
  const auto window = [](uint8_t) { return kWindow; };
  int checks = 0;
  for (const auto& [arrive, idx] : arrival) {
    const auto& [ts, key] = events[idx];
    if (wm != kMinTimestamp && ts < wm - lateness) continue;  // too late
    accepted[key].push_back(ts);
    d.clear();
    timer = std::min(timer, AddOccurrence(&spans, 0, key, ts, kWindow, &d));
    for (const StampedDelta& x : d) counters[key].Add(x.ts, x.delta);
    max_seen = std::max(max_seen, ts);
    wm = std::max(wm, max_seen - out_of_order);
    if (timer <= wm) {
      timer = CloseDueSpans(&spans, wm, window,
                            [&](const PresenceSpan& s, TimestampMs end) {
                              counters[s.key].Add(end, -1);
                            });
    }
    PruneClosedSpans(&spans, wm - lateness, window);
    // Every time an evaluation may still ask about: [wm - lateness, wm].
    for (TimestampMs a = wm - lateness; a <= wm;
         a += 1 + static_cast<TimestampMs>(rng() % 7)) {
      for (const std::string& k : keys) {
        const auto& occ = accepted[k];
        const int64_t brute = std::any_of(occ.begin(), occ.end(),
                                          [&](TimestampMs t) {
                                            return t <= a && t >= a - kWindow;
                                          })
                                  ? 1
                                  : 0;
        ASSERT_EQ(counters[k].ValueAt(a), brute)
            << "seed " << seed << " key " << k << " a=" << a << " wm=" << wm;
        ++checks;
      }
    }
  }
  EXPECT_GT(checks, 200);
  EXPECT_LE(spans.size(), 9u) << "closed spans are pruned";
}

TEST(PresenceSpanTest, ExactUnderDisorderAgainstBruteForce) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    ASSERT_NO_FATAL_FAILURE(RunRandom(seed, 5, 20));
    ASSERT_NO_FATAL_FAILURE(RunRandom(seed + 1000, 0, 0));
    ASSERT_NO_FATAL_FAILURE(
        RunRandom(seed + 2000, 30, 60));  // disorder near the window
  }
}

}  // namespace
}  // namespace epistream
