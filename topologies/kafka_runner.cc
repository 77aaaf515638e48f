#include "topologies/kafka_runner.h"

#include <cstdio>

namespace epistream {

int RunKafkaMode(const AppConfig& cfg) {
  (void)cfg;
  std::fprintf(stderr, "epistream run: Kafka mode is not built yet; use --input\n");
  return 1;
}

}  // namespace epistream
