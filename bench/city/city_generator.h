// The synthetic city behind `epistream gen` (CONTRACT.md section 6): a
// deterministic, time-ordered JSON Lines stream of `risk_area`, `person`,
// `scan`, `transport` and `fever` records, plus a ground-truth JSON document
// naming what a detector should find (GroundTruth).
//
// Streaming: the generator produces one time slice of one day at a time
// (1..24 slices per day, CityConfig::max_slice_events), sorts it, hands it
// line by line to the sink and forgets it. Memory is the city's structure
// (venues, communities), a small special state for the persons travelling,
// quarantined or ill (PersonSpecial), and one slice; it does not grow with
// the number of days or events. Same config and seed: byte-identical output.
//
//   CityConfig config;
//   config.persons = 1'000'000;
//   EPI_RETURN_IF_ERROR(GenerateCityToFiles(config, "city.jsonl",
//   "truth.json"));
//
// Threading: single-threaded; the sink is called on the caller's thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "bench/city/city_config.h"
#include "bench/city/ground_truth.h"
#include "engine/status.h"

namespace epistream {

// Receives one line at a time, without the trailing newline. A non-ok status
// stops the generation and is returned.
using CityLineSink = std::function<Status(std::string_view line)>;

// Generates the city: every line goes to `emit_line` in time order; the
// ground truth document is stored in *ground_truth_json (if not null) and the
// counts in *stats (if not null). InvalidArgument for a bad config.
Status GenerateCity(const CityConfig& config, const CityLineSink& emit_line,
                    std::string* ground_truth_json, CityStats* stats = nullptr);

// The same into files: events to `events_path` ("-" = stdout), one line each;
// the ground truth to `truth_path` (skipped if empty). IoError on write
// failure.
Status GenerateCityToFiles(const CityConfig& config,
                           const std::string& events_path,
                           const std::string& truth_path,
                           CityStats* stats = nullptr);

}  // namespace epistream
