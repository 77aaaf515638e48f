// ClusterEdge: where the person side's ClusterRecords go when they do not go
// straight into an in-process ClusterStage (CityPipeline::set_cluster_edge):
// in scale-out mode a RepartitionWriter that frames them into the topic
// `epistream.repartition.cluster` (operators/cluster/README.md, "Scale-out").
//
// Call order contract (what makes the remote cluster stage exact): records
// of one input partition in the order the person stage made them; on each
// watermark advance the person timers <= wm have fired and their records
// were passed to OnRecord before OnWatermark(wm).
//
// Threading: every method on the pipeline's stage thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/cluster/cluster_record.h"

namespace epistream {

class ClusterEdge {
 public:
  virtual ~ClusterEdge() = default;
  // One record made by input partition `upstream`.
  virtual Status OnRecord(uint16_t upstream, const ClusterRecord& r) = 0;
  // The person side's watermark reached `wm` (see the order contract).
  virtual Status OnWatermark(TimestampMs wm) = 0;
  // epi.persons moved a person between communities (a global table every
  // instance reads in full: the cluster stages of this instance follow it).
  virtual Status OnRegistration(std::string_view before,
                                std::string_view after) = 0;
  // Before the checkpoint's commit: stage the edge's own state (sequence
  // counters) and make every frame sent so far durable.
  virtual Status Flush() = 0;
};

}  // namespace epistream
