// `epistream run` against Kafka (CONTRACT.md section 6).
#pragma once

#include "topologies/app_config.h"

namespace epistream {

// Returns the process exit code: 0 ok (stopped by SIGINT/SIGTERM), 1 runtime
// failure, 2 config error.
int RunKafkaMode(const AppConfig& cfg, const ScaleOutConfig& scale_out = {});

}  // namespace epistream
