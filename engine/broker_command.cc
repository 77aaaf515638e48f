#include "engine/broker_command.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "engine/embedded_broker.h"

namespace epistream {

int RunBrokerCommand(int partitions, const std::vector<std::string>& topics) {
  std::vector<BrokerTopic> sized;
  sized.reserve(topics.size());
  for (const std::string& t : topics) sized.push_back({t, partitions});
  if (partitions < 1) {
    std::fprintf(stderr, "epistream broker: --partitions must be >= 1\n");
    return 2;
  }
  return RunBrokerCommand(sized);
}

int RunBrokerCommand(const std::vector<BrokerTopic>& topics) {
  for (const BrokerTopic& t : topics) {
    if (t.partitions < 1) {
      std::fprintf(stderr,
                   "epistream broker: topic %s: partitions must be >= 1\n",
                   t.name.c_str());
      return 2;
    }
  }
  // stdout carries the bootstrap line (and nothing else): logs go to stderr.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "epistream-broker",
      std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  // Block the signals before the broker's threads exist so that they
  // inherit the mask and only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t old_mask;
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask) != 0) {
    std::fprintf(stderr, "epistream broker: cannot block signals\n");
    return 1;
  }
  int rc = 0;
  {
    auto broker = EmbeddedBroker::Start();
    if (!broker.ok()) {
      std::fprintf(stderr, "epistream broker: %s\n",
                   broker.status().ToString().c_str());
      rc = 1;
    }
    for (size_t i = 0; rc == 0 && i < topics.size(); ++i) {
      Status st = (*broker)->CreateTopic(topics[i].name, topics[i].partitions);
      if (!st.ok()) {
        std::fprintf(stderr, "epistream broker: %s\n", st.ToString().c_str());
        rc = 1;
      }
    }
    if (rc == 0) {
      std::printf("bootstrap.servers=%s\n",
                  (*broker)->bootstrap_servers().c_str());
      std::fflush(stdout);
      for (const BrokerTopic& t : topics) {
        std::fprintf(stderr, "epistream broker: topic %s, %d partitions\n",
                     t.name.c_str(), t.partitions);
      }
      std::fprintf(stderr, "epistream broker: %zu topics; Ctrl-C to stop\n",
                   topics.size());
      int sig = 0;
      while (sigwait(&stop_signals, &sig) != 0) {
      }
      std::fprintf(stderr, "epistream broker: signal %d, stopping\n", sig);
    }
  }  // broker destroyed here, before the mask is restored
  // A second Ctrl-C during shutdown must not kill the process on unmasking.
  const timespec no_wait{0, 0};
  while (sigtimedwait(&stop_signals, nullptr, &no_wait) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return rc;
}

}  // namespace epistream
