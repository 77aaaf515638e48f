// `epistream demo`: everything on one machine with no setup: the embedded
// broker, a synthetic city streamed into it at a time-compressed pace, the
// engine on Kafka, a live terminal summary and /metrics.
#pragma once

#include <cstdint>

namespace epistream {

struct DemoOptions {
  // Stop after this many seconds with exit 0; 0 = until Ctrl-C. Default: 0
  int duration_s = 0;
  // Persons in the synthetic city. Default: 20000
  uint64_t persons = 20000;
  // Port of /metrics. Default: 9464
  int metrics_port = 9464;
};

int RunDemo(const DemoOptions& opts);

}  // namespace epistream
