// Process-wide logging setup (spdlog, to stderr).
//
// Rule: never log person ids, nor any message payload that may hold one
// (raw events, alerts, dead-letter bytes). Log counts, topics, partitions,
// offsets, durations and reason codes instead; an operator reading the log
// must learn what the engine did without learning who was involved. The same
// rule holds for metric labels (see engine/pipeline_probe.h).
//
// Use the spdlog free functions (spdlog::info(...), spdlog::warn(...)) after
// InitLogging(); before it, spdlog's built-in default logger is used.
#pragma once

#include <string_view>

namespace epistream {

// True for the accepted level names: trace, debug, info, warn, error,
// critical, off (also "warning" for warn).
bool IsLogLevel(std::string_view level);

// Installs the default logger: stderr (coloured when it is a terminal),
// lines like "2022-09-20 08:15:03.123 I message" (local wall clock, level
// letter). An unknown level falls back to "info" with a warning (config
// validation rejects it earlier). May be called again to change the level;
// call it at start-up, before other threads log.
void InitLogging(std::string_view level);

}  // namespace epistream
