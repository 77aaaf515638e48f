#include "topologies/signals.h"

#include <pthread.h>

#include <csignal>
#include <thread>

namespace epistream {

void StopOnSignals(std::function<void()> on_stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, on_stop = std::move(on_stop)]() mutable {
    int sig = 0;
    sigwait(&set, &sig);
    on_stop();
  }).detach();
}

}  // namespace epistream
