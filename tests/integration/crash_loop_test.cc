// Crash loop (issue #7): the engine is SIGKILLed again and again at random
// (seeded) moments while it works through a generated city in a broker that
// runs in its own process (`epistream broker`). At the end, against an
// uninterrupted Kafka-mode run over the same topics (its own group, state and
// alert topics, run alongside):
//  - the alerts are identical: same ids and bytes (cluster alerts by id),
//    none missing, none doubled, none extra; dead letters as many as file
//    mode's;
//  - the final state is identical key by key (`epistream state --digest` of
//    both printed), leaving out the cluster stage's venue-activity records
//    and timers, its community and venue windows compared as pruned to the
//    final horizon (see below).
// File mode's alerts on the same events are compared and printed too.
//
// Kill points: half the kills land at a uniformly random moment after the
// process starts (often during start-up: table load, sink recovery, group
// join), half at a random moment after the engine has put out new alerts
// (between output and the checkpoint covering it: the case exactly-once
// output must get right). Checkpoints every 300 events, so most kills also
// land between two checkpoints with state work to throw away.
//
// The input is produced before the first start (catch-up, the restart case
// after an outage). With EPISTREAM_CRASH_LIVE_S=N it is produced over N s
// while the engine runs and is killed instead; the alerts must still be
// equal, but the state digest is then not comparable: at the live edge the
// order in which a person's events from different topics are applied
// depends on fetch timing (EventTimeMerger's "caught up" is a snapshot), and
// the person state's encoding keeps insertion order (seen event ids, fever
// visits), so two uninterrupted live runs can differ byte-wise too.
//
// Size and seed come from the environment so bench/crash/run.sh can run the
// same code at full size (EPISTREAM_CRASH_PERSONS, _DAYS, _KILLS, _LIVE_S,
// _PARTITIONS, _SEED; _CHECKPOINT_MS for experiments); the defaults are the
// CI size (<= 90 s on 2 loaded cores).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "engine/state_keys.h"
#include "tests/reliability/city_stream.h"
#include "tests/reliability/reliability_util.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/child_process.h"

namespace epistream {
namespace {

using ::epistream::testing::ChildProcess;
using ::epistream::testing::CityStream;
using ::epistream::testing::TempDir;
using Clock = std::chrono::steady_clock;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

struct LoopConfig {
  int persons = EnvInt("EPISTREAM_CRASH_PERSONS", 7000);
  int days = EnvInt("EPISTREAM_CRASH_DAYS", 8);
  int kills = EnvInt("EPISTREAM_CRASH_KILLS", 20);
  int live_s = EnvInt("EPISTREAM_CRASH_LIVE_S", 0);
  int partitions = EnvInt("EPISTREAM_CRASH_PARTITIONS", 4);
  int seed = EnvInt("EPISTREAM_CRASH_SEED", 20221129);
};

// Engine config: frequent checkpoints (each kill loses little work, so the
// loop makes progress) and a short session timeout (a killed member leaves
// the group quickly, so a restart is assigned its partitions soon).
// EPISTREAM_CRASH_CHECKPOINT_MS replaces the 1 s interval (a short one moves
// checkpoints with the wall clock, as load does).
std::string EngineYaml() {
  return "checkpoint:\n  interval: " + std::to_string(EnvInt("EPISTREAM_CRASH_CHECKPOINT_MS", 1000)) +
         "ms\n  max_events: 300\n"
         "kafka:\n  properties:\n    session.timeout.ms: \"3500\"\n"
         "    heartbeat.interval.ms: \"300\"\n";
}

class CrashLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The test's own readers would log every injected fault and auto-create.
    spdlog::set_level(spdlog::level::err);
    dir_ = new TempDir();
    stream_ = new CityStream();
    CityConfig city = CityConfig::Sample();
    city.seed = static_cast<uint64_t>(cfg_.seed);
    city.persons = static_cast<uint64_t>(cfg_.persons);
    city.days = cfg_.days;
    ASSERT_OK(::epistream::testing::BuildCityStream(city, cfg_.partitions, dir_->path(), stream_));
    ASSERT_GT(stream_->expected.size(), 20u) << "the city should raise alerts";
    std::string ref_yaml = EngineYaml();
    ref_yaml += "topics:\n  alerts_person: ref.alerts.person\n  alerts_cluster: ref.alerts.cluster\n"
                "  deadletter: ref.deadletter\n";
    ASSERT_TRUE(::epistream::testing::WriteFile(dir_->File("engine.yaml"), EngineYaml()));
    ASSERT_TRUE(::epistream::testing::WriteFile(dir_->File("ref.yaml"), ref_yaml));
  }
  static void TearDownTestSuite() {
    delete stream_;
    delete dir_;
  }

  static std::vector<std::string> EngineArgs(const std::string& brokers, const std::string& config,
                                             const std::string& group, const std::string& state) {
    return {::epistream::testing::EngineBinary(), "run", "--config", config, "--brokers", brokers,
            "--group", group, "--state", state, "--metrics-port", "0"};
  }

  static inline const LoopConfig cfg_{};
  static TempDir* dir_;
  static CityStream* stream_;
};

TempDir* CrashLoopTest::dir_ = nullptr;
CityStream* CrashLoopTest::stream_ = nullptr;

TEST_F(CrashLoopTest, RandomSigkillsLoseAndDoubleNothing) {
  const auto t0 = Clock::now();
  ChildProcess broker;
  ASSERT_TRUE(broker.Start({::epistream::testing::EngineBinary(), "broker", "--partitions",
                            std::to_string(cfg_.partitions)},
                           dir_->File("broker.log")));
  const std::string line = broker.WaitForLine("bootstrap.servers=", std::chrono::seconds(20));
  ASSERT_FALSE(line.empty()) << broker.Log();
  const std::string brokers = line.substr(std::string("bootstrap.servers=").size());

  Status produced;
  std::thread producer([&] {
    produced = ::epistream::testing::ProduceRecords(brokers, stream_->records,
                                                    std::chrono::seconds(cfg_.live_s));
  });
  if (cfg_.live_s == 0) {
    producer.join();
    ASSERT_OK(produced);
  }
  // The uninterrupted reference follows the same input in its own group.
  ChildProcess reference;
  ASSERT_TRUE(reference.Start(
      EngineArgs(brokers, dir_->File("ref.yaml"), "reference", dir_->File("state-ref")),
      dir_->File("ref.log")));

  const std::string state = dir_->File("state-crash");
  const std::string log_path = dir_->File("crash.log");
  std::mt19937 rng(static_cast<uint32_t>(cfg_.seed));
  int killed = 0;
  size_t recoveries = 0;  // lives that found output written after their checkpoint
  double max_gap_s = 0;
  for (int i = 0; i < cfg_.kills; ++i) {
    ChildProcess engine;
    const auto start = Clock::now();
    const std::string life_log = dir_->File("crash-" + std::to_string(i) + ".log");
    ASSERT_TRUE(engine.Start(EngineArgs(brokers, dir_->File("engine.yaml"), "crash", state), life_log));
    if (i % 2 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 3200));
    } else {
      // Once it consumes (partitions assigned, or 8 s), then up to 1.5 s more.
      const auto deadline = Clock::now() + std::chrono::seconds(8);
      std::string life;
      while (Clock::now() < deadline &&
             (!::epistream::testing::ReadFile(life_log, &life) ||
              life.find("assigned ") == std::string::npos)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1500));
    }
    const int code = engine.Stop(SIGKILL, std::chrono::seconds(10));
    ASSERT_EQ(code, 128 + SIGKILL) << "the engine stopped by itself:\n" << engine.Log().substr(0, 4000);
    ++killed;
    std::string life;
    if (::epistream::testing::ReadFile(life_log, &life) && life.find("recovery:") != std::string::npos) {
      ++recoveries;
    }
    max_gap_s = std::max(max_gap_s, std::chrono::duration<double>(Clock::now() - start).count());
  }
  if (cfg_.live_s > 0) {
    producer.join();
    ASSERT_OK(produced);
  }

  ChildProcess engine;
  ASSERT_TRUE(engine.Start(EngineArgs(brokers, dir_->File("engine.yaml"), "crash", state), log_path));
  const std::vector<std::string> got = ::epistream::testing::AwaitValues(
      brokers, ::epistream::testing::AlertTopics(), stream_->expected.size(), std::chrono::seconds(150));
  const std::vector<std::string> ref = ::epistream::testing::AwaitValues(
      brokers, ::epistream::testing::AlertTopics("ref"), stream_->expected.size(),
      std::chrono::seconds(60));
  // Both have applied their whole input (the sentinels included: they fire no
  // alert, so the alerts above can all be out before) and then stopped
  // cleanly (final checkpoint) before their state is compared.
  auto ends = ::epistream::testing::EndOffsets(
      brokers, {"epi.scans", "epi.transport", "epi.fever", "epi.persons", "epi.risk_areas"},
      cfg_.partitions);
  ASSERT_TRUE(ends.ok()) << ends.status().ToString();
  const auto input_wait = Clock::now();
  const std::string behind_at_alerts =
      ::epistream::testing::AwaitStateOffsets(state, *ends, std::chrono::seconds(0));
  EXPECT_EQ(::epistream::testing::AwaitStateOffsets(state, *ends, std::chrono::seconds(60)), "")
      << "the restarted engine did not apply its whole input";
  std::printf("input applied %.1f s after the last alert (behind then:%s)\n",
              std::chrono::duration<double>(Clock::now() - input_wait).count(),
              behind_at_alerts.empty() ? " nothing" : behind_at_alerts.substr(0, 300).c_str());
  EXPECT_EQ(::epistream::testing::AwaitStateOffsets(dir_->File("state-ref"), *ends,
                                                    std::chrono::seconds(60)),
            "")
      << "the reference did not apply its whole input";
  EXPECT_EQ(engine.Stop(SIGTERM, std::chrono::seconds(20)), 0) << engine.Log().substr(0, 4000);
  EXPECT_EQ(reference.Stop(SIGTERM, std::chrono::seconds(20)), 0) << reference.Log().substr(0, 4000);

  // Identical to the uninterrupted Kafka run: same alerts byte for byte
  // (cluster alerts by identity), none missing, none doubled, none extra.
  const ::epistream::testing::AlertDiff diff = ::epistream::testing::CompareAlerts(ref, got);
  EXPECT_TRUE(diff.equal()) << diff.Describe();
  EXPECT_EQ(got.size(), ref.size());
  // File mode on the same events, printed for the record (not asserted: the
  // uninterrupted Kafka run above is the reference). Kafka mode reads the
  // tables to their end before the events, so an alert naming one of two
  // retroactive listings can name the other (same id), and at full size a
  // few alert ids differ in both Kafka runs alike (tests/reliability/README.md).
  const ::epistream::testing::AlertDiff file_diff =
      ::epistream::testing::CompareAlerts(stream_->expected, got);
  std::vector<std::string> file_ids, got_ids, id_only_file, id_only_kafka;
  for (const std::string& a : stream_->expected) file_ids.push_back(::epistream::testing::AlertIdentity(a));
  for (const std::string& a : got) got_ids.push_back(::epistream::testing::AlertIdentity(a));
  std::sort(file_ids.begin(), file_ids.end());
  std::sort(got_ids.begin(), got_ids.end());
  std::set_difference(file_ids.begin(), file_ids.end(), got_ids.begin(), got_ids.end(),
                      std::back_inserter(id_only_file));
  std::set_difference(got_ids.begin(), got_ids.end(), file_ids.begin(), file_ids.end(),
                      std::back_inserter(id_only_kafka));
  std::printf("vs file mode: %zu alerts differ (%zu ids only in file mode, %zu only in Kafka mode)\n",
              file_diff.missing.size(), id_only_file.size(), id_only_kafka.size());
  for (size_t i = 0; i < file_diff.missing.size() && i < 4; ++i) {
    std::printf("  file:  %s\n", file_diff.missing[i].substr(0, 900).c_str());
  }
  for (size_t i = 0; i < file_diff.extra.size() && i < 4; ++i) {
    std::printf("  kafka: %s\n", file_diff.extra[i].substr(0, 900).c_str());
  }
  auto dead = ::epistream::testing::ReadValues(brokers, {"epi.deadletter"}, false);
  ASSERT_TRUE(dead.ok()) << dead.status().ToString();
  EXPECT_EQ(dead->size(), stream_->expected_deadletters);
  for (size_t i = 0; i < dead->size() && i < 3; ++i) {
    std::printf("dead letter: %s\n", (*dead)[i].substr(0, 400).c_str());
  }

  // Final state: `epistream state --digest` of both, printed; compared key by
  // key and byte for byte without the cluster stage's venue-activity records
  // and timers (G C A / G C X): their lazily re-armed close timers depend on
  // how the watermark advanced, which differs between any two Kafka runs
  // (measured: 30 + 30 records, every other key equal). The community and
  // venue windows (G C K / G C V) are compared as pruned to the stage's
  // final horizon (CompareStates, StateCanon): a window is pruned when a
  // checkpoint writes it, so its bytes (deltas folded, a window folded to
  // zero deleted) depend on where this run's checkpoints fell; what an
  // evaluation can still read does not (shown in state_canon_test; both
  // runs end with a sweep at the sentinels, so the bytes are equal too when
  // each applied its whole input, printed below). Issue #7's "GCKc0" diff
  // under load was an engine stopped before its last input (waited for
  // above), not this.
  const std::string digest = ::epistream::testing::StateDigest(state, dir_->File("digest.log"));
  const std::string ref_digest =
      ::epistream::testing::StateDigest(dir_->File("state-ref"), dir_->File("digest-ref.log"));
  EXPECT_FALSE(digest.empty());
  std::string state_diff;
  if (cfg_.live_s == 0) {
    const std::vector<std::string> skip = {state_keys::Global('C', "A"),
                                           state_keys::Global('C', "X")};
    state_diff = ::epistream::testing::CompareStates(state, dir_->File("state-ref"), skip);
    EXPECT_EQ(state_diff, "") << "final state differs from the uninterrupted run's";
    // For the record: the byte-for-byte comparison of the windows too.
    ::epistream::testing::StateCanon blind;
    blind.cluster_windows = false;
    const std::string bytes_diff =
        ::epistream::testing::CompareStates(state, dir_->File("state-ref"), skip, blind);
    std::printf("state bytes (G C K/V not canonical): %s\n",
                bytes_diff.empty() ? "equal" : bytes_diff.c_str());
  }

  std::printf("crash_loop: kills=%d events=%zu alerts %s (vs file mode: %zu differ) "
              "deadletters=%zu/%zu lives_with_suppression=%zu max_life_s=%.1f state %s (ref %s)%s "
              "seconds=%.1f\n",
              killed, stream_->records.size(), diff.Describe().c_str(), file_diff.missing.size(),
              dead->size(), stream_->expected_deadletters, recoveries, max_gap_s, digest.c_str(),
              ref_digest.c_str(), state_diff.empty() ? " equal outside G C A/X (G C K/V canonical)" : " DIFFERENT",
              std::chrono::duration<double>(Clock::now() - t0).count());
  EXPECT_EQ(killed, cfg_.kills);
}

}  // namespace
}  // namespace epistream
