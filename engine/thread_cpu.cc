#include "engine/thread_cpu.h"

#include <pthread.h>
#include <time.h>

namespace epistream {
namespace {

double ClockSeconds(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

double CurrentThreadCpuSeconds() { return ClockSeconds(CLOCK_THREAD_CPUTIME_ID); }

double ThreadCpuSeconds(const std::thread& thread) {
  clockid_t clock;
  // native_handle() is not const, though reading the handle changes nothing.
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread).native_handle(), &clock) != 0) {
    return 0;
  }
  return ClockSeconds(clock);
}

}  // namespace epistream
