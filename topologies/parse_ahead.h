// ParseAhead: parses the next records on a helper thread while the stage
// thread applies the ones before (CityPipeline::OnMessages).
//
// Parsing is a pure function of the bytes and the topic's type, so where it
// runs changes no output: the stage thread gets, for each record, exactly
// the Event (or dead-letter reason) its own EventParser would have made.
// It is ~11% of the stage thread's time per event (perf, file mode, 1M
// persons), work the second core can take while the first applies state.
//
// Use (engine/batch_worker.h): Submit a range of records (which must stay
// valid until Taken), Take the oldest range's results back in order,
// Recycle them; Submit and Take are FIFO, every submitted range is Taken
// (Drain on the way out).
//
// Threading: Submit, Take, Recycle, Drain and the destructor on one thread
// (the stage thread); the helper touches a batch only between its Submit and
// its Take.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/batch_worker.h"
#include "operators/event.h"
#include "operators/event_parser.h"
#include "topologies/pipeline_record.h"

namespace epistream {

// One record parsed: the event, or why it is a dead letter.
struct ParsedRecord {
  bool ok = false;
  Event event;         // when ok (reused: strings keep their capacity)
  std::string reason;  // when !ok: the dead-letter reason code
};

struct ParsedBatch {
  std::span<const PipelineRecord> records;  // input, valid until Taken
  std::vector<ParsedRecord> parsed;         // output, parsed[i] for records[i]
};

class ParseAhead {
 public:
  // Starts the helper thread (named epi-parse).
  explicit ParseAhead(size_t max_message_bytes);
  ParseAhead(const ParseAhead&) = delete;
  ParseAhead& operator=(const ParseAhead&) = delete;

  // Queues `records` for parsing.
  void Submit(std::span<const PipelineRecord> records);
  // Waits for the oldest submitted range and returns its results; null if
  // none is outstanding.
  std::unique_ptr<ParsedBatch> Take() { return worker_.Take(); }
  // Gives a taken batch's buffers back for reuse.
  void Recycle(std::unique_ptr<ParsedBatch> batch);
  // Takes and recycles every outstanding batch.
  void Drain() { worker_.Drain(); }
  size_t outstanding() const { return worker_.outstanding(); }
  // CPU time of the helper thread so far (summaries, benches).
  double cpu_seconds() const { return worker_.cpu_seconds(); }

 private:
  // Helper thread: parses one batch.
  void Parse(ParsedBatch& batch);

  EventParser parser_;                // helper thread only
  BatchWorker<ParsedBatch> worker_;  // last: its thread uses parser_
};

}  // namespace epistream
