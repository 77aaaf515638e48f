// `epistream run --input F --alerts F`: the city pipeline on JSON Lines files.
//
// Offsets are 0-based line numbers of the input; a run with --state resumes
// after the last checkpointed line and truncates the alert and dead-letter
// files back to what that checkpoint had written, so a crash and restart
// never duplicates or loses output. At the end of the input the watermark
// advances to the largest ts seen (timers due by then fire).
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine_config.h"
#include "operators/rules_config.h"
#include "topologies/city_pipeline.h"

namespace epistream {

struct FileRunOptions {
  std::string input;        // "-" = stdin
  std::string alerts;       // "-" = stdout
  std::string deadletter;   // default: deadletter.jsonl beside the alerts file
  std::string state_dir;    // empty: a fresh temporary state, removed at exit
  uint64_t batch_size = 0;  // events per checkpoint; 0 = config checkpoint.max_events
  uint64_t stop_after = 0;  // stop (checkpointed) after this many lines; 0 = never
  bool quiet = false;       // no summary on stderr
  PrefetchOptions prefetch; // look-ahead loading of person states
  EngineConfig engine;
  RulesConfig rules;
};

// Returns the process exit code: 0 ok, 1 runtime failure.
int RunFileMode(const FileRunOptions& opts);

}  // namespace epistream
