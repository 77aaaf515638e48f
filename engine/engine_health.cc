#include "engine/engine_health.h"

#include <fmt/format.h>

namespace epistream {

EngineHealth::Readiness EngineHealth::Check(Clock::time_point now) const {
  if (!tables_loaded_.load(std::memory_order_relaxed)) {
    return {false, "global tables not loaded yet"};
  }
  if (assigned_.load(std::memory_order_relaxed) <= 0) {
    return {false, "no input partitions assigned"};
  }
  const Clock::rep last = last_progress_ns_.load(std::memory_order_relaxed);
  if (last == 0) return {false, "engine loop has not run yet"};
  const auto since = now - Clock::time_point(Clock::duration(last));
  const auto max_stall =
      std::chrono::milliseconds(max_stall_ms_.load(std::memory_order_relaxed));
  if (since > max_stall) {
    return {false,
            fmt::format(
                "engine loop made no progress for {} s (limit {} s)",
                std::chrono::duration_cast<std::chrono::seconds>(since).count(),
                std::chrono::duration_cast<std::chrono::seconds>(max_stall)
                    .count())};
  }
  return {true, "ready"};
}

}  // namespace epistream
