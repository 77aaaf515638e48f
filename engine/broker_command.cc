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
  if (partitions < 1) {
    std::fprintf(stderr, "epistream broker: --partitions must be >= 1\n");
    return 2;
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
      Status st = (*broker)->CreateTopic(topics[i], partitions);
      if (!st.ok()) {
        std::fprintf(stderr, "epistream broker: %s\n", st.ToString().c_str());
        rc = 1;
      }
    }
    if (rc == 0) {
      std::printf("bootstrap.servers=%s\n",
                  (*broker)->bootstrap_servers().c_str());
      std::fflush(stdout);
      std::fprintf(stderr,
                   "epistream broker: %zu topics with %d partitions; "
                   "Ctrl-C to stop\n",
                   topics.size(), partitions);
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
