// ClusterWorker: runs a ClusterStage on a thread of its own, so the person
// stage and the cluster stage apply events on two cores.
//
// The owner (the pipeline's stage thread) queues the calls it would have
// made on the stage, in the same order: records (filled in place in the
// worker's current batch, the buffer the person stage writes to), community
// registrations and watermarks. Every `batch_calls` calls (and at Publish)
// the batch goes to the worker thread, which applies the calls in order;
// Sync waits for it and applies the last, partial batch on the calling
// thread. So the stage sees exactly the calls, in exactly the order, it would
// have seen on the owner thread, and its outputs are the same.
//
// Output order: each queued watermark gets a sequence number (0, 1, ...);
// the alerts it produces come back tagged with it. An alert the owner made
// itself after queueing n watermarks goes after the cluster alerts of
// watermarks < n and before those of watermark n: AlertSequencer
// (topologies/alert_sequencer.h) merges the two on that key, which is the
// order of the single-threaded pipeline.
//
// Errors: the first failed call stops the worker (later calls are dropped)
// and every later Sync / Poll returns that status. No exception leaves the
// worker thread: one is caught and becomes an Internal status.
//
// The stage must be Open()ed, with options.detached (it then touches the
// store on none of the queued calls). Between Sync() and the next queued
// call the worker is idle: the owner may then call the stage directly
// (Flush at a checkpoint), the queue's mutex ordering the memory.
//
// Threading: every method on the owner thread; the worker thread only runs
// the stage.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/event_time.h"
#include "engine/status.h"
#include "operators/alert.h"
#include "operators/cluster/cluster_record.h"
#include "operators/cluster/cluster_stage.h"

namespace epistream {

// An alert of the cluster stage, made while applying queued watermark `seq`.
struct SequencedAlert {
  uint64_t seq = 0;
  Alert alert;
};

class ClusterWorker {
 public:
  // Queued calls per batch handed to the thread. Default: 512
  static constexpr size_t kDefaultBatchCalls = 512;

  // `stage` is borrowed, opened and detached; it must outlive the worker.
  explicit ClusterWorker(ClusterStage* stage, size_t batch_calls = kDefaultBatchCalls);
  // Stops the thread; calls still queued are dropped (the caller Syncs
  // before a checkpoint, so nothing dropped was committed).
  ~ClusterWorker();
  ClusterWorker(const ClusterWorker&) = delete;
  ClusterWorker& operator=(const ClusterWorker&) = delete;

  // Where records go: the person stage appends to this buffer
  // (PersonStage::set_cluster_output). It changes when a batch is handed
  // over: call records() again after every other call.
  ClusterRecordBuffer* records() { return &current_->records; }
  // Call after records were appended to records() (counts them towards the
  // batch size; may hand the batch over).
  void RecordsAdded();
  // ClusterStage::OnRegistration(before, after), queued.
  void QueueRegistration(std::string_view before, std::string_view after);
  // ClusterStage::OnWatermark(wm), queued; its alerts carry the sequence
  // number watermarks_queued() had before this call. A watermark equal to
  // the last one with no record or registration queued since is dropped:
  // the stage would do nothing with it.
  void QueueWatermark(TimestampMs wm);
  // ClusterStage::Flush(), queued: the checkpoint's flush, made on the
  // worker thread while the owner flushes the person stage (the stage's
  // store must then be one the worker may write to: CapturingKvStore).
  void QueueFlush();
  // Watermarks queued so far (the sequence number of the next one).
  uint64_t watermarks_queued() const { return watermarks_queued_; }

  // Hands the current batch to the thread (if it holds anything).
  void Publish();
  // True if the thread made alerts that Poll has not handed out yet.
  bool has_alerts() const { return alerts_ready_.load(std::memory_order_acquire); }
  // Without waiting: appends the alerts made so far to *out (in order) and
  // sets *done to the number of queued watermarks fully applied.
  Status Poll(std::vector<SequencedAlert>* out, uint64_t* done);
  // Waits until every batch handed over was applied, applies the current
  // one on the calling thread (the worker is idle then), then Poll: every
  // queued call is applied when it returns.
  Status Sync(std::vector<SequencedAlert>* out);

  // CPU time of the worker thread so far.
  double cpu_seconds() const;

 private:
  // A call other than a record, applied after the batch's first
  // `records_before` records.
  struct Marker {
    enum Kind : uint8_t { kWatermark, kRegistration, kFlush } kind = kWatermark;
    size_t records_before = 0;
    TimestampMs wm = 0;
    std::string before;
    std::string after;
  };
  struct Batch {
    ClusterRecordBuffer records;
    std::vector<Marker> markers;
    size_t markers_used = 0;  // markers keep their strings' capacity
    uint64_t first_seq = 0;   // sequence number of the batch's first watermark
    size_t calls = 0;
    // Apply's scratch: each record's ClusterStage::KeyHash, computed once
    // for its two prefetches and its lookup.
    std::vector<uint32_t> key_hashes;
    void Clear() {
      records.Clear();
      markers_used = 0;
      calls = 0;
    }
  };

  Marker& AddMarker(Marker::Kind kind);
  void CountCall();
  void Run();
  // Applies one batch; alerts go to *alerts.
  Status Apply(Batch& b, std::vector<SequencedAlert>* alerts);
  // Apply with any exception turned into an Internal status.
  Status ApplyGuarded(Batch& b, std::vector<SequencedAlert>* alerts);
  // Under mu_, after batch b was applied (or skipped after a failure):
  // records its status, hands its alerts out, counts its watermarks.
  void Finished(const Batch& b, const Status& st, std::vector<SequencedAlert>* made);

  ClusterStage* stage_;
  size_t batch_calls_;
  // Owner thread only.
  std::unique_ptr<Batch> current_;
  size_t records_counted_ = 0;
  uint64_t watermarks_queued_ = 0;
  bool have_last_wm_ = false;
  TimestampMs last_wm_ = 0;
  bool changed_since_wm_ = false;

  // Shared, under mu_.
  std::mutex mu_;
  std::condition_variable work_cv_;  // the thread waits for batches
  std::condition_variable idle_cv_;  // Sync waits for the thread
  std::deque<std::unique_ptr<Batch>> queue_;
  std::vector<std::unique_ptr<Batch>> free_;
  std::vector<SequencedAlert> alerts_;
  uint64_t watermarks_done_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  Status status_;
  std::atomic<bool> alerts_ready_{false};

  std::thread thread_;  // last: started after every member above exists
};

}  // namespace epistream
