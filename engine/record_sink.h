// RecordSink: where a stage's output records go (alerts, dead letters):
// a Kafka topic (engine/kafka_producer.h) or a JSON Lines file (file_sink.h).
//
// Threading: called from the stage thread only.
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"

namespace epistream {

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Queues one record; may buffer.
  virtual Status Write(std::string_view key, std::string_view value) = 0;
  // Makes every queued record durable/visible; errors of earlier writes
  // surface here at the latest.
  virtual Status Flush() = 0;
  // Opaque position after the last flushed record, stored with each
  // checkpoint so a restart can discard output written after it (exactly-once
  // output). Empty when the sink cannot do that.
  virtual std::string Position() const { return {}; }
};

}  // namespace epistream
