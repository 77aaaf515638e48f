// PipelineRecord: one input record as CityPipeline::OnMessages takes it.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "operators/event.h"

namespace epistream {

struct PipelineRecord {
  std::string_view bytes;
  std::optional<EventType> type;  // the topic's type on Kafka, nullopt for files
  SourcePosition pos;
  // When the record was consumed (event -> alert latency); unset: the time
  // last given to set_receive_time stays.
  std::chrono::steady_clock::time_point received{};
};

}  // namespace epistream
