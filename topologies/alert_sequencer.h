// AlertSequencer: puts the alerts of the person stage (made on the stage
// thread) and of a ClusterWorker (made on its thread) back into the order
// the single-threaded pipeline emits them in.
//
// The key: an own alert made after n watermarks were queued to the worker
// sorts as 2n; a cluster alert of queued watermark w sorts as 2w + 1. Equal
// keys keep their arrival order. An alert is final once nothing with a
// smaller key can still come: when the worker has applied `done`
// watermarks, every alert with key <= 2 * done.
//
// Threading: one thread (the pipeline's stage thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "engine/status.h"
#include "operators/alert.h"
#include "operators/cluster/cluster_worker.h"

namespace epistream {

class AlertSequencer {
 public:
  using Received = std::chrono::steady_clock::time_point;
  // emit(alert, cluster, received): cluster is true for the worker's alerts;
  // received is when the own alert's input was consumed (unset for cluster
  // alerts).
  using EmitFn = std::function<Status(const Alert& alert, bool cluster, Received received)>;

  // An own alert, made after `watermarks_queued` watermarks were queued.
  void AddOwn(Alert alert, uint64_t watermarks_queued, Received received);
  // The worker's alerts, in the order it made them.
  void AddCluster(std::vector<SequencedAlert>* alerts);
  // Emits, in order, every alert that is final once the worker has applied
  // `done` watermarks; stops at the first failed emit.
  Status Release(uint64_t done, const EmitFn& emit);

  bool empty() const { return own_.empty() && cluster_.empty(); }
  bool has_own() const { return !own_.empty(); }

 private:
  struct Own {
    uint64_t key;
    Alert alert;
    Received received;
  };
  std::deque<Own> own_;
  std::deque<SequencedAlert> cluster_;
};

}  // namespace epistream
