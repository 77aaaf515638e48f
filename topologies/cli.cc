#include "topologies/cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/city/city_generator.h"
#include "engine/broker_command.h"
#include "engine/logging.h"
#include "topologies/app_config.h"
#include "topologies/cluster_side.h"
#include "topologies/demo_runner.h"
#include "topologies/file_runner.h"
#include "topologies/kafka_runner.h"
#include "topologies/state_inspector.h"

namespace epistream {
namespace {

// Loads --config (or the defaults) for `run` and `demo`; exit code 2 on error.
bool LoadConfigOrDefaults(const std::string& path, AppConfig* out) {
  if (path.empty()) {
    *out = AppConfig();
    return true;
  }
  Result<AppConfig> cfg = LoadAppConfig(path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "epistream: %s\n", cfg.status().message().c_str());
    return false;
  }
  *out = std::move(cfg).value();
  return true;
}

std::vector<std::string> ContractTopics(const TopicsConfig& t) {
  return {t.scans, t.transport, t.fever, t.risk_areas, t.persons,
          t.alerts_person, t.alerts_cluster, t.deadletter};
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"epistream: epidemic early-warning stream processing"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();

  // run
  CLI::App* run = app.add_subcommand("run", "Run the engine on Kafka, or on files with --input");
  std::string config_path, brokers, group, state_dir, input, alerts, deadletter;
  int metrics_port = -1;
  uint64_t batch_size = 0, stop_after = 0;
  run->add_option("--config", config_path, "YAML config file")->check(CLI::ExistingFile);
  run->add_option("--brokers", brokers, "Kafka bootstrap servers (overrides kafka.brokers)");
  run->add_option("--group", group, "consumer group id (overrides kafka.group)");
  run->add_option("--state", state_dir, "state directory (overrides state.dir)");
  run->add_option("--metrics-port", metrics_port, "port of /metrics; 0 disables")->check(CLI::Range(0, 65535));
  run->add_option("--input", input, "JSON Lines input file ('-' = stdin): file mode");
  run->add_option("--alerts", alerts, "alerts output file in file mode ('-' = stdout)");
  run->add_option("--deadletter", deadletter, "dead letters output file (default beside alerts)");
  run->add_option("--batch-size", batch_size, "events per checkpoint in file mode");
  run->add_option("--stop-after", stop_after, "file mode: checkpoint and stop after N input lines");
  bool scale_out = false, repartition = false;
  run->add_flag("--scale-out", scale_out,
                "several instances share --group: changelog, restore on rebalance");
  run->add_flag("--repartition", repartition,
                "cluster stage input through the repartition topic (with --scale-out): city-wide cluster alerts when several instances share --group");
  int repartition_partitions = -1;
  run->add_option("--repartition-partitions", repartition_partitions,
                  "partitions of the repartition topic when it is created (with --repartition; "
                  "overrides scale_out.repartition_partitions; 0 = min(input partitions, 6))")
      ->check(CLI::Range(0, 65535));

  // demo
  CLI::App* demo = app.add_subcommand("demo", "Everything on one machine: broker, city, engine");
  DemoOptions demo_opts;
  demo->add_option("--duration", demo_opts.duration_s, "stop after this many seconds (exit 0)");
  demo->add_option("--persons", demo_opts.persons, "size of the synthetic city")->capture_default_str();
  demo->add_option("--metrics-port", demo_opts.metrics_port, "port of /metrics")->capture_default_str();

  // gen
  CLI::App* gen = app.add_subcommand("gen", "Generate a synthetic city: events plus ground truth");
  CityConfig city;
  std::string gen_out = "-", gen_truth;
  gen->add_option("--persons", city.persons, "number of persons")->capture_default_str();
  gen->add_option("--days", city.days, "days of events")->capture_default_str();
  gen->add_option("--seed", city.seed, "random seed (same seed, same bytes)")->capture_default_str();
  gen->add_option("--start", city.start_date, "first day (YYYY-MM-DD, local)")->capture_default_str();
  gen->add_option("--out", gen_out, "events JSON Lines ('-' = stdout)")->capture_default_str();
  gen->add_option("--truth", gen_truth, "ground-truth JSON file");

  // broker
  CLI::App* broker = app.add_subcommand("broker", "The embedded Kafka-protocol broker alone");
  int partitions = 4;
  broker->add_option("--partitions", partitions, "partitions per topic")->capture_default_str()->check(CLI::Range(1, 256));
  int broker_repartition = 0;
  broker->add_option("--repartition-partitions", broker_repartition,
                     "partitions of epistream.repartition.cluster and epistream.changelog.cluster "
                     "(0 = min(--partitions, 6), as the engine would create them)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  std::vector<std::string> extra_topics;
  broker->add_option("--topic", extra_topics,
                     "another topic to create with the same partition count (repeatable; the "
                     "scale-out changelogs and the repartition topic are created by default: "
                     "this broker has no CreateTopics)");

  // check-config
  CLI::App* check = app.add_subcommand("check-config", "Validate a config file");
  std::string check_path;
  check->add_option("file", check_path, "YAML config file")->required();

  // state
  CLI::App* state = app.add_subcommand("state", "Inspect the state of a person (read-only)");
  std::string db_dir, person;
  state->add_option("--db", db_dir, "state directory")->required();
  state->add_option("--person", person, "person id (without it: the checkpointed input offsets)");
  bool digest = false;
  state->add_flag("--digest", digest, "print a digest of the whole state instead");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  InitLogging(log_level);

  if (*check) return RunCheckConfig(check_path);
  if (*state) return RunStateInspector(db_dir, person, digest);
  if (*broker) {
    std::vector<BrokerTopic> topics;
    for (std::string& t : ContractTopics(TopicsConfig())) topics.push_back({std::move(t), partitions});
    topics.push_back({ScaleOutConfig().changelog_topic, partitions});
    // --repartition's topics too, with the count the engine would create
    // them with (this broker has no CreateTopics and would auto-create
    // them with 4): Q, independent of the input partitions.
    const int q = RepartitionPartitionsFor(broker_repartition, partitions);
    topics.push_back({std::string(kRepartitionClusterTopic), q});
    topics.push_back({std::string(kClusterChangelogTopic), q});
    for (const std::string& t : extra_topics) {
      if (std::none_of(topics.begin(), topics.end(),
                       [&](const BrokerTopic& b) { return b.name == t; })) {
        topics.push_back({t, partitions});
      }
    }
    return RunBrokerCommand(topics);
  }
  if (*gen) {
    Status st = GenerateCityToFiles(city, gen_out, gen_truth);
    if (!st.ok()) {
      std::fprintf(stderr, "epistream gen: %s\n", st.ToString().c_str());
      return 1;
    }
    return 0;
  }
  if (*demo) return RunDemo(demo_opts);

  AppConfig cfg;
  if (!LoadConfigOrDefaults(config_path, &cfg)) return 2;
  if (!state_dir.empty()) cfg.engine.state.dir = state_dir;
  if (!brokers.empty()) cfg.engine.kafka.brokers = brokers;
  if (!group.empty()) cfg.engine.kafka.group = group;
  if (metrics_port >= 0) cfg.engine.metrics.port = metrics_port;
  if (!input.empty()) {
    if (alerts.empty()) {
      std::fprintf(stderr, "epistream run: --input needs --alerts\n");
      return 2;
    }
    FileRunOptions opts;
    opts.input = input;
    opts.alerts = alerts;
    opts.deadletter = deadletter;
    opts.state_dir = cfg.engine.state.dir;
    opts.batch_size = batch_size;
    opts.stop_after = stop_after;
    opts.engine = cfg.engine;
    opts.rules = cfg.rules;
    return RunFileMode(opts);
  }
  // The flags switch on what the config file's scale_out section may not.
  ScaleOutConfig scale = cfg.engine.scale_out;
  scale.enabled = scale.enabled || scale_out;
  scale.repartition = scale.repartition || repartition;
  if (scale.repartition && !scale.enabled) {
    std::fprintf(stderr, "epistream run: --repartition needs --scale-out (or scale_out.enabled)\n");
    return 2;
  }
  if (repartition_partitions >= 0) {
    if (!scale.repartition) {
      std::fprintf(stderr,
                   "epistream run: --repartition-partitions needs --repartition (or "
                   "scale_out.repartition)\n");
      return 2;
    }
    scale.repartition_partitions = repartition_partitions;
  }
  return RunKafkaMode(cfg, scale);
}

}  // namespace epistream
