// Process resource gauges sampled from /proc/self (Linux).
//
// Gauges: epistream_process_resident_memory_bytes,
// epistream_process_cpu_seconds (user + system), epistream_process_open_fds,
// epistream_process_threads. They change only when Sample() is called, e.g.
// once per checkpoint or once a second from the engine's housekeeping; a sample
// reads three small /proc files (tens of microseconds), so never call it per
// event.
//
// Threading: Sample() from one thread at a time; scrapes are always safe.
// Lifecycle: construct after the MetricsRegistry, destroy before it.
#pragma once

#include "engine/metrics_registry.h"
#include "engine/status.h"

namespace prometheus {
class Gauge;
}  // namespace prometheus

namespace epistream {

class ProcessProbe {
 public:
  explicit ProcessProbe(MetricsRegistry& metrics);
  ProcessProbe(const ProcessProbe&) = delete;
  ProcessProbe& operator=(const ProcessProbe&) = delete;

  // Reads /proc/self and updates the gauges. An IoError when /proc is not
  // readable (the gauges keep their previous values).
  Status Sample();

 private:
  prometheus::Gauge* resident_memory_;
  prometheus::Gauge* cpu_seconds_;
  prometheus::Gauge* open_fds_;
  prometheus::Gauge* threads_;
};

}  // namespace epistream
