#include "topologies/alert_sequencer.h"

#include <utility>

namespace epistream {

void AlertSequencer::AddOwn(Alert alert, uint64_t watermarks_queued, Received received) {
  own_.push_back(Own{2 * watermarks_queued, std::move(alert), received});
}

void AlertSequencer::AddCluster(std::vector<SequencedAlert>* alerts) {
  for (SequencedAlert& a : *alerts) cluster_.push_back(std::move(a));
  alerts->clear();
}

Status AlertSequencer::Release(uint64_t done, const EmitFn& emit) {
  const uint64_t bound = 2 * done;
  while (true) {
    const bool own_ready = !own_.empty() && own_.front().key <= bound;
    const bool cluster_ready = !cluster_.empty() && 2 * cluster_.front().seq + 1 <= bound;
    if (!own_ready && !cluster_ready) return Status::Ok();
    // Both ready: the smaller key first (an own alert's key is even, a
    // cluster alert's odd, so they never tie).
    if (own_ready && (!cluster_ready || own_.front().key < 2 * cluster_.front().seq + 1)) {
      Own a = std::move(own_.front());
      own_.pop_front();
      EPI_RETURN_IF_ERROR(emit(a.alert, false, a.received));
    } else {
      SequencedAlert a = std::move(cluster_.front());
      cluster_.pop_front();
      EPI_RETURN_IF_ERROR(emit(a.alert, true, Received{}));
    }
  }
}

}  // namespace epistream
