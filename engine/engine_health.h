// EngineHealth: what /readyz reports, set by the engine loop and read by the
// HTTP server (engine/http_server.h).
//
// The engine is ready when all three hold:
//   1. the global tables were read to their end (set_tables_loaded),
//   2. at least one input partition is assigned (set_assigned_partitions;
//      an instance in a group with more instances than partitions is idle
//      and reported not ready, so a load balancer skips it),
//   3. the loop made progress within max_stall (MarkProgress, called on each
//      iteration; a loop stuck in a produce to an unreachable broker or in a
//      stalled disk write stops calling it).
//
// Threading: every method is thread-safe (relaxed atomics; the three facts
// are read independently, so a reader may see one update before another,
// which only delays or advances readiness by one loop iteration).
// Lifecycle: owned by MetricsRegistry, so it lives as long as the server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "engine/event_time.h"

namespace epistream {

class EngineHealth {
 public:
  using Clock = std::chrono::steady_clock;

  struct Readiness {
    bool ready = false;
    std::string reason;  // why not ready; "ready" when ready
  };

  // Longest time without MarkProgress() before the engine is not ready.
  void set_max_stall(DurationMs max_stall) {
    max_stall_ms_.store(max_stall, std::memory_order_relaxed);
  }
  void set_tables_loaded(bool loaded) {
    tables_loaded_.store(loaded, std::memory_order_relaxed);
  }
  void set_assigned_partitions(int64_t partitions) {
    assigned_.store(partitions, std::memory_order_relaxed);
  }
  // The loop completed an iteration at `now`.
  void MarkProgress(Clock::time_point now = Clock::now()) {
    last_progress_ns_.store(now.time_since_epoch().count(),
                            std::memory_order_relaxed);
  }

  // Readiness as of `now`.
  Readiness Check(Clock::time_point now = Clock::now()) const;

 private:
  std::atomic<bool> tables_loaded_{false};
  std::atomic<int64_t> assigned_{0};
  std::atomic<Clock::rep> last_progress_ns_{0};  // 0: never
  std::atomic<DurationMs> max_stall_ms_{30 * kSecondMs};
};

}  // namespace epistream
