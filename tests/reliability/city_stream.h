// CityStream: a generated city as Kafka records plus the alerts an
// uninterrupted run must give, for the tests that disturb a Kafka-mode engine
// (broker faults, crash loops) and compare its output with file mode's.
// Header-only (tests/<folder>/ builds only *_test.cc files); used by
// tests/reliability/broker_fault_test.cc and tests/integration/crash_loop_test.cc.
//
// The records are the city's events keyed as producers in the field key them
// (person id; region for risk areas), followed by one sentinel event per
// event topic and partition three days after the city's end, so every input
// partition moves the watermark past every timer, as file mode's end of
// input does. The expected alerts come from `epistream run --input` on the
// same events (sentinels included).
//
// Threading: test-thread only; ProduceRecords may run on a helper thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/city/city_generator.h"
#include "engine/byte_codec.h"
#include "engine/embedded_broker.h"
#include "engine/event_time.h"
#include "engine/rocks_kv_store.h"
#include "engine/state_keys.h"
#include "engine/table_reader.h"
#include "operators/cluster/case_window.h"
#include "operators/cluster/cluster_stage.h"
#include "tests/testing/scenario.h"

namespace epistream::testing {

inline const std::vector<std::string>& ContractTopics() {
  static const std::vector<std::string> kTopics = {
      "epi.scans",      "epi.transport",     "epi.fever",          "epi.risk_areas",
      "epi.persons",    "epi.alerts.person", "epi.alerts.cluster", "epi.deadletter"};
  return kTopics;
}

struct StreamRecord {
  std::string topic;
  std::string key;
  int32_t partition = RD_KAFKA_PARTITION_UA;  // explicit for sentinels
  std::string value;
};

struct CityStream {
  std::vector<StreamRecord> records;
  std::vector<std::string> expected;  // file mode's alerts, emitted_at removed, sorted
  size_t expected_deadletters = 0;    // file mode's dead letters
};

// The string value of "key" in a flat JSON line (enough for generated events).
inline std::string JsonField(std::string_view line, std::string_view key) {
  const std::string pat = "\"" + std::string(key) + "\":\"";
  const size_t at = line.find(pat);
  if (at == std::string_view::npos) return {};
  const size_t start = at + pat.size();
  return std::string(line.substr(start, line.find('"', start) - start));
}

// Generates `city` into dir, adds the sentinels for `partitions` partitions
// and runs file mode for the expected alerts.
inline Status BuildCityStream(const CityConfig& city, int partitions, const std::string& dir,
                              CityStream* out) {
  const std::string events = dir + "/city.jsonl";
  EPI_RETURN_IF_ERROR(GenerateCityToFiles(city, events, dir + "/truth.json"));
  static const std::map<std::string, std::string> kTopicOf = {
      {"scan", "epi.scans"},           {"transport", "epi.transport"}, {"fever", "epi.fever"},
      {"risk_area", "epi.risk_areas"}, {"person", "epi.persons"}};
  TimestampMs max_ts = 0;
  std::string file_input;
  for (const std::string& line : ReadLines(events)) {
    const std::string type = JsonField(line, "type");
    auto topic = kTopicOf.find(type);
    if (topic == kTopicOf.end()) return Status::InvalidArgument("unknown type in " + line);
    out->records.push_back(StreamRecord{
        topic->second, type == "risk_area" ? JsonField(line, "region") : JsonField(line, "person_id"),
        RD_KAFKA_PARTITION_UA, line});
    if (auto ts = ParseRfc3339(JsonField(line, "ts"))) max_ts = std::max(max_ts, *ts);
    file_input += line;
    file_input += '\n';
  }
  const std::string sentinel_ts = FormatRfc3339(max_ts + 3 * kDayMs, 480);
  static const char* kTypes[] = {"scan", "transport", "fever"};
  static const char* kTopics[] = {"epi.scans", "epi.transport", "epi.fever"};
  for (int t = 0; t < 3; ++t) {
    for (int p = 0; p < partitions; ++p) {
      const std::string person = "sentinel-" + std::to_string(t) + "-" + std::to_string(p);
      std::string v = "{\"event_id\":\"" + person + "\",\"ts\":\"" + sentinel_ts +
                      "\",\"person_id\":\"" + person + "\",";
      if (t == 0) v += "\"venue_id\":\"v-sentinel\",\"code_color\":\"green\"}";
      if (t == 1) v += "\"hub_id\":\"h-sentinel\",\"mode\":\"rail\",\"origin_region\":\"99\"}";
      if (t == 2) v += "\"clinic_id\":\"c-sentinel\",\"temp_c\":36.8}";
      file_input += "{\"type\":\"" + std::string(kTypes[t]) + "\"," + v.substr(1) + "\n";
      out->records.push_back(StreamRecord{kTopics[t], person, p, v});
    }
  }
  if (!WriteFile(dir + "/file_input.jsonl", file_input)) return Status::IoError("write input");
  auto run = RunProcess({EngineBinary(), "run", "--input", dir + "/file_input.jsonl", "--alerts",
                         dir + "/expected.jsonl", "--deadletter", dir + "/expected.dead.jsonl"},
                        dir + "/file_run.log", 600);
  if (run.exit_code != 0) return Status::Internal("file mode failed: " + run.Describe());
  for (const std::string& a : ReadLines(dir + "/expected.jsonl")) {
    out->expected.push_back(WithoutEmittedAt(a));
  }
  std::sort(out->expected.begin(), out->expected.end());
  out->expected_deadletters = ReadLines(dir + "/expected.dead.jsonl").size();
  return Status::Ok();
}

inline Status CreateContractTopics(EmbeddedBroker* broker, int partitions) {
  for (const std::string& t : ContractTopics()) {
    EPI_RETURN_IF_ERROR(broker->CreateTopic(t, partitions));
  }
  return Status::Ok();
}

// Produces records [begin, end) with a plain idempotent librdkafka producer
// (murmur2_random: Java-compatible key partitioning; lz4, so a partition of
// the mock broker keeps about 105-120k city events, ~43-49 B each stored, in
// its 5 MiB: tests/kafka/city_ring_capacity_test.cc), spread evenly over
// `spread` (0: at once). Waits for every delivery (a broker outage only
// delays it), then fails unless every partition it wrote still starts at
// offset 0: the mock broker drops the oldest batches of a full partition
// without an error, and a consumer group would then start at the new log
// start and silently miss them (as bench/e2e KafkaLoader::Verify checks).
inline Status ProduceRecords(const std::string& brokers, const std::vector<StreamRecord>& records,
                             std::chrono::milliseconds spread, size_t begin = 0,
                             size_t end = SIZE_MAX) {
  end = std::min(end, records.size());
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::map<std::string, std::string> props = {{"bootstrap.servers", brokers},
                                                    {"partitioner", "murmur2_random"},
                                                    {"enable.idempotence", "true"},
                                                    {"compression.type", "lz4"},
                                                    {"message.timeout.ms", "300000"},
                                                    {"linger.ms", "20"},
                                                    // Outages are injected on purpose.
                                                    {"log_level", "2"}};
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument(err);
    }
  }
  // Delivery reports run on this thread (in poll and flush).
  struct Deliveries {
    int failed = 0;
    std::set<std::pair<std::string, int32_t>> written;  // (topic, partition)
  } deliveries;
  rd_kafka_conf_set_opaque(conf, &deliveries);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* d = static_cast<Deliveries*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++d->failed;
    } else {
      d->written.emplace(rd_kafka_topic_name(m->rkt), m->partition);
    }
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) return Status::Internal(err);
  const auto start = std::chrono::steady_clock::now();
  const size_t n = end - begin;
  Status st;
  for (size_t i = begin; i < end && st.ok(); ++i) {
    const StreamRecord& r = records[i];
    if (spread.count() > 0 && (i - begin) % 200 == 0) {
      std::this_thread::sleep_until(start + spread * (i - begin) / n);
    }
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(r.topic.c_str()), RD_KAFKA_V_PARTITION(r.partition),
                RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
                RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 10);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) st = Status::Internal(rd_kafka_err2str(e));
    rd_kafka_poll(rk, 0);
  }
  const rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 300000);
  if (st.ok() && fe != RD_KAFKA_RESP_ERR_NO_ERROR) {
    st = Status::Internal("flush: " + std::string(rd_kafka_err2str(fe)));
  }
  if (st.ok() && deliveries.failed > 0) {
    st = Status::Internal(std::to_string(deliveries.failed) + " deliveries failed");
  }
  // Checked with this producer, before it is destroyed: the data must still
  // be there for the engine under test to read.
  for (auto it = deliveries.written.begin(); st.ok() && it != deliveries.written.end(); ++it) {
    const std::string where = it->first + " [" + std::to_string(it->second) + "]";
    int64_t low = -1;
    int64_t high = -1;
    rd_kafka_resp_err_t we = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a transient broker error is retried
      we = rd_kafka_query_watermark_offsets(rk, it->first.c_str(), it->second, &low, &high, 10000);
      if (we == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    }
    if (we != RD_KAFKA_RESP_ERR_NO_ERROR) {
      st = Status::Internal("watermarks of " + where + ": " + rd_kafka_err2str(we));
    } else if (low != 0) {
      st = Status::OutOfRange(where + " starts at offset " + std::to_string(low) + " of " +
                              std::to_string(high) +
                              ": the mock broker dropped its oldest records (a partition keeps "
                              "about 105-120k city events); use more partitions or fewer events");
    }
  }
  rd_kafka_destroy(rk);
  return st;
}

// The end offset (high watermark) of partitions 0..partitions-1 of each topic.
inline Result<std::map<std::pair<std::string, int32_t>, int64_t>> EndOffsets(
    const std::string& brokers, const std::vector<std::string>& topics, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(err);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) return Status::Internal(err);
  std::map<std::pair<std::string, int32_t>, int64_t> out;
  Status st;
  for (const std::string& topic : topics) {
    for (int32_t p = 0; p < partitions && st.ok(); ++p) {
      int64_t low = -1, high = -1;
      rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
      for (int attempt = 0; attempt < 3; ++attempt) {
        e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      }
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        st = Status::Internal("watermarks of " + topic + ": " + rd_kafka_err2str(e));
      }
      out[{topic, p}] = high;
    }
  }
  rd_kafka_destroy(rk);
  if (!st.ok()) return st;
  return out;
}

// Waits until the engine writing `state_dir` has checkpointed every input
// position of `ends` (the input offsets it stores with its state, read from a
// secondary instance while it runs). An engine can have put out every alert
// long before it has applied its input's last records (the crash loop's
// sentinels move the watermark, fire no alert): stopped before, its final
// state is that of an earlier watermark (issue #7). Empty on success, else
// what is still behind.
inline std::string AwaitStateOffsets(const std::string& state_dir,
                                     const std::map<std::pair<std::string, int32_t>, int64_t>& ends,
                                     std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string behind;
  for (;;) {
    behind.clear();
    auto store = RocksKvStore::OpenReadOnly(state_dir);
    if (!store.ok()) {
      behind = store.status().ToString();
    } else {
      for (const auto& [tp, end] : ends) {
        std::string v;
        bool found = false;
        Status st = (*store)->Get(state_keys::Offset(tp.first, tp.second), &v, &found);
        int64_t next = 0;
        if (st.ok() && found) {
          ByteReader r(v);
          next = static_cast<int64_t>(r.BigEndian64());
          if (!r.ok()) next = -1;
        }
        if (!st.ok() || next < end) {
          behind += " " + tp.first + "/" + std::to_string(tp.second) + " at " +
                    std::to_string(next) + " of " + std::to_string(end);
        }
      }
    }
    if (behind.empty() || std::chrono::steady_clock::now() >= deadline) return behind;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// Every record value of `topics` now (emitted_at removed from alerts), sorted.
inline Result<std::vector<std::string>> ReadValues(const std::string& brokers,
                                                   const std::vector<std::string>& topics,
                                                   bool strip_emitted_at = true) {
  TableReaderOptions opts;
  opts.brokers = brokers;
  opts.topics = topics;
  auto reader = TableReader::Open(opts);
  if (!reader.ok()) return reader.status();
  std::vector<std::string> out;
  EPI_RETURN_IF_ERROR((*reader)->ReadToEnd(
      [&](const KafkaMessage& m) {
        const std::string v(m.value);
        out.push_back(strip_emitted_at ? WithoutEmittedAt(v) : v);
        return Status::Ok();
      },
      60000));
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::string> AlertTopics(const std::string& prefix = "epi") {
  return {prefix + ".alerts.person", prefix + ".alerts.cluster"};
}

// Waits until `topics` hold at least `n` records and have not grown for
// `quiet`; returns what they hold then (or at the timeout).
inline std::vector<std::string> AwaitValues(const std::string& brokers,
                                            const std::vector<std::string>& topics, size_t n,
                                            std::chrono::seconds timeout,
                                            std::chrono::milliseconds quiet = std::chrono::seconds(3)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> got;
  size_t last = SIZE_MAX;
  auto stable_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = ReadValues(brokers, topics);
    if (r.ok()) {
      got = std::move(r).value();
    } else if (std::chrono::steady_clock::now() + std::chrono::seconds(1) > deadline) {
      std::fprintf(stderr, "AwaitValues: %s\n", r.status().ToString().c_str());
    }
    if (got.size() != last) {
      last = got.size();
      stable_since = std::chrono::steady_clock::now();
    } else if (got.size() >= n && std::chrono::steady_clock::now() - stable_since > quiet) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return got;
}

// How a Kafka run's alerts differ from the uninterrupted run's. Person alerts
// are compared byte for byte; cluster alerts (fever_cluster, clinic_surge) by
// identity (alert_id = cluster_id and version): their statistics read
// city-wide aggregates fed by every partition, which Kafka mode may see at a
// slightly different moment than file mode.
struct AlertDiff {
  std::vector<std::string> missing;  // expected, not there
  std::vector<std::string> extra;    // there, not expected
  std::vector<std::string> doubled;  // alert ids there more than once
  size_t expected = 0;
  size_t got = 0;

  bool equal() const { return missing.empty() && extra.empty() && doubled.empty(); }
  std::string Describe() const {
    std::string out = "expected=" + std::to_string(expected) + " got=" + std::to_string(got) +
                      " missing=" + std::to_string(missing.size()) +
                      " extra=" + std::to_string(extra.size()) +
                      " doubled=" + std::to_string(doubled.size()) + "\n";
    for (size_t i = 0; i < missing.size() && i < 5; ++i) out += "missing: " + missing[i].substr(0, 700) + "\n";
    for (size_t i = 0; i < extra.size() && i < 5; ++i) out += "extra:   " + extra[i].substr(0, 700) + "\n";
    for (size_t i = 0; i < doubled.size() && i < 5; ++i) out += "doubled: " + doubled[i] + "\n";
    return out;
  }
};

inline std::string AlertIdentity(const std::string& alert) {
  return alert.substr(0, alert.find("\",\"rule\""));
}

inline AlertDiff CompareAlerts(const std::vector<std::string>& expected,
                               const std::vector<std::string>& got) {
  auto project = [](const std::vector<std::string>& alerts) {
    std::vector<std::string> out;
    for (const std::string& a : alerts) {
      const bool cluster = a.find("\"rule\":\"fever_cluster\"") != std::string::npos ||
                           a.find("\"rule\":\"clinic_surge\"") != std::string::npos;
      out.push_back(cluster ? AlertIdentity(a) : a);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  AlertDiff d;
  d.expected = expected.size();
  d.got = got.size();
  std::map<std::string, int> ids;
  for (const std::string& g : got) ++ids[AlertIdentity(g)];
  for (const auto& [id, n] : ids) {
    if (n > 1) d.doubled.push_back(id + " x" + std::to_string(n));
  }
  const std::vector<std::string> want = project(expected);
  std::vector<std::string> have = project(got);
  have.erase(std::unique(have.begin(), have.end()), have.end());  // doubles counted above
  std::set_difference(want.begin(), want.end(), have.begin(), have.end(),
                      std::back_inserter(d.missing));
  std::set_difference(have.begin(), have.end(), want.begin(), want.end(),
                      std::back_inserter(d.extra));
  return d;
}

// `epistream state --db DIR --digest`: "keys=N sha256=HEX", or "" on failure.
inline std::string StateDigest(const std::string& state_dir, const std::string& log_path) {
  auto r = RunProcess({EngineBinary(), "state", "--db", state_dir, "--digest"}, log_path, 120);
  if (r.exit_code != 0) return {};
  const size_t at = r.output.find("keys=");
  if (at == std::string::npos) return {};
  return r.output.substr(at, r.output.find('\n', at) - at);
}

// The cluster stage's windows (G C K communities, G C V venues) in canonical
// form: what an evaluation at or after the stage's horizon can still read.
//
// Why: a window is pruned at the horizon of the moment it is written (a
// checkpoint's Flush while it is dirty, or a sweep's first checkpoint), so its
// bytes depend on where checkpoints fell: population deltas stamped before
// that horizon are folded into the base, and a window whose population folded
// to zero (no links, no registered persons, no episode) is deleted. A crash
// loop checkpoints at other watermarks than an uninterrupted run (each life
// counts its 300 events from its restart; the 1 s interval follows the wall
// clock), so e.g. a community whose last visitor left between the two runs'
// last checkpoint horizons is a base+delta in one state and folded (or gone)
// in the other (state_canon_test). Every read of a window filters by time
// at or after the horizon (ClusterStage::PruneCommunity / PruneVenue say
// so), so pruning both sides to the stage's final horizon, as the stage
// itself would (ClusterStage::PruneCaseWindow, the same function), keeps
// exactly what any later alert can depend on and drops only what none can.
struct StateCanon {
  bool cluster_windows = true;
  ClusterStageOptions cluster;  // the engine's: defaults unless the test's config changes them
};

// Loads `store` into *out, leaving out sink positions and keys starting with
// any of `skip`, with the cluster stage's windows in canonical form (above).
inline Status LoadCanonicalState(KvStore* store, const std::vector<std::string>& skip,
                                 const StateCanon& canon, std::map<std::string, std::string>* out) {
  const std::string sinks = state_keys::Meta("sink:");
  const std::string prefix = ClusterStageKeyPrefix(canon.cluster);
  const std::string communities = prefix + 'K', venues = prefix + 'V';
  TimestampMs watermark = kMinTimestamp;
  std::string wm;
  bool found = false;
  EPI_RETURN_IF_ERROR(store->Get(prefix + 'W', &wm, &found));
  if (found) {
    ByteReader r(wm);
    watermark = r.OrderedI64();
    if (!r.ok()) return Status::Corruption("cluster stage watermark");
  }
  Status st;
  EPI_RETURN_IF_ERROR(store->Scan("", "", [&](std::string_view k, std::string_view v) {
    if (k.substr(0, sinks.size()) == sinks) return true;
    for (const std::string& s : skip) {
      if (k.substr(0, s.size()) == s) return true;
    }
    const bool community = k.substr(0, communities.size()) == communities;
    const bool venue = k.substr(0, venues.size()) == venues;
    if (!canon.cluster_windows || watermark == kMinTimestamp || !(community || venue)) {
      out->emplace(std::string(k), std::string(v));
      return true;
    }
    CaseWindow w;
    st = w.Decode(v);
    if (!st.ok()) return false;
    ClusterStage::PruneCaseWindow(canon.cluster, watermark, community, w);
    if (w.Empty()) return true;  // the stage deletes it at its next write
    std::string bytes;
    w.Encode(&bytes);
    out->emplace(std::string(k), std::move(bytes));
    return true;
  }));
  return st;
}

// Empty if two key -> value maps are equal, else a summary with an example.
inline std::string DescribeStateDiff(const std::map<std::string, std::string>& a,
                                     const std::map<std::string, std::string>& b) {
  size_t only_a = 0, only_b = 0, differ = 0;
  std::string example;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      ++only_a;
    } else if (it->second != v) {
      ++differ;
    } else {
      continue;
    }
    if (example.empty()) example = k;
  }
  for (const auto& [k, v] : b) {
    if (a.count(k) == 0) {
      ++only_b;
      if (example.empty()) example = k;
    }
  }
  if (only_a + only_b + differ == 0) return {};
  std::string printable;
  for (unsigned char c : example) printable += (c >= 32 && c < 127) ? static_cast<char>(c) : '.';
  return std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " keys: " +
         std::to_string(only_a) + " only in the first, " + std::to_string(only_b) +
         " only in the second, " + std::to_string(differ) + " with other values; e.g. " + printable;
}

// Empty if the two state directories hold the same keys and values, leaving
// out sink positions and keys starting with any of `skip`, with the cluster
// stage's windows in canonical form (StateCanon); else a summary.
inline std::string CompareStates(const std::string& a_dir, const std::string& b_dir,
                                 const std::vector<std::string>& skip,
                                 const StateCanon& canon = {}) {
  auto load = [&](const std::string& dir, std::map<std::string, std::string>* out) -> Status {
    auto store = RocksKvStore::OpenReadOnly(dir);
    if (!store.ok()) return store.status();
    return LoadCanonicalState(store->get(), skip, canon, out);
  };
  std::map<std::string, std::string> a, b;
  Status st = load(a_dir, &a);
  if (st.ok()) st = load(b_dir, &b);
  if (!st.ok()) return st.ToString();
  return DescribeStateDiff(a, b);
}

// Counts occurrences of `needle` in `hay`.
inline size_t CountOf(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = 0; (at = hay.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

}  // namespace epistream::testing
