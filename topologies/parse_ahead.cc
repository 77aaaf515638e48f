#include "topologies/parse_ahead.h"

#include <utility>

namespace epistream {

ParseAhead::ParseAhead(size_t max_message_bytes)
    : parser_(max_message_bytes),
      worker_("epi-parse", [this](ParsedBatch& b) { Parse(b); }) {}

void ParseAhead::Submit(std::span<const PipelineRecord> records) {
  std::unique_ptr<ParsedBatch> b = worker_.NewBatch();
  b->records = records;
  worker_.Submit(std::move(b));
}

void ParseAhead::Recycle(std::unique_ptr<ParsedBatch> batch) {
  if (batch != nullptr) batch->records = {};
  worker_.Recycle(std::move(batch));
}

void ParseAhead::Parse(ParsedBatch& b) {
  // Grows only: the Events of a reused batch keep their strings' capacity.
  if (b.parsed.size() < b.records.size()) b.parsed.resize(b.records.size());
  for (size_t i = 0; i < b.records.size(); ++i) {
    const PipelineRecord& r = b.records[i];
    ParsedRecord& p = b.parsed[i];
    p.reason.clear();
    p.ok = parser_.Parse(r.bytes, r.type, &p.event, &p.reason);
  }
}

}  // namespace epistream
