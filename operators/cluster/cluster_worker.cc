#include "operators/cluster/cluster_worker.h"

#include <pthread.h>

#include <exception>
#include <utility>

#include "engine/thread_cpu.h"

namespace epistream {
namespace {

// Prefetch distances, in records (Apply).
constexpr size_t kBucketAhead = 16;
constexpr size_t kSlotAhead = 8;

}  // namespace

ClusterWorker::ClusterWorker(ClusterStage* stage, size_t batch_calls)
    : stage_(stage),
      batch_calls_(batch_calls == 0 ? 1 : batch_calls),
      current_(std::make_unique<Batch>()),
      thread_([this] { Run(); }) {
  pthread_setname_np(thread_.native_handle(), "epi-cluster");
}

ClusterWorker::~ClusterWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

ClusterWorker::Marker& ClusterWorker::AddMarker(Marker::Kind kind) {
  Batch& b = *current_;
  if (b.markers_used == b.markers.size()) b.markers.emplace_back();
  Marker& m = b.markers[b.markers_used++];
  m.kind = kind;
  m.records_before = b.records.size();
  return m;
}

void ClusterWorker::CountCall() {
  if (++current_->calls >= batch_calls_) Publish();
}

void ClusterWorker::RecordsAdded() {
  const size_t n = current_->records.size();
  if (n == records_counted_) return;
  changed_since_wm_ = true;
  current_->calls += n - records_counted_;
  records_counted_ = n;
  if (current_->calls >= batch_calls_) Publish();
}

void ClusterWorker::QueueRegistration(std::string_view before, std::string_view after) {
  RecordsAdded();
  Marker& m = AddMarker(Marker::kRegistration);
  m.before.assign(before);
  m.after.assign(after);
  changed_since_wm_ = true;
  CountCall();
}

void ClusterWorker::QueueWatermark(TimestampMs wm) {
  RecordsAdded();
  if (have_last_wm_ && wm == last_wm_ && !changed_since_wm_) return;
  have_last_wm_ = true;
  last_wm_ = wm;
  changed_since_wm_ = false;
  Marker& m = AddMarker(Marker::kWatermark);
  m.wm = wm;
  ++watermarks_queued_;
  CountCall();
}

void ClusterWorker::QueueFlush() {
  RecordsAdded();
  AddMarker(Marker::kFlush);
  CountCall();
}

void ClusterWorker::Publish() {
  RecordsAdded();
  if (current_->calls == 0) return;
  std::unique_ptr<Batch> next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(current_));
    if (!free_.empty()) {
      next = std::move(free_.back());
      free_.pop_back();
    }
  }
  work_cv_.notify_one();
  if (next == nullptr) next = std::make_unique<Batch>();
  next->Clear();
  current_ = std::move(next);
  current_->first_seq = watermarks_queued_;
  records_counted_ = 0;
}

Status ClusterWorker::Poll(std::vector<SequencedAlert>* out, uint64_t* done) {
  std::lock_guard<std::mutex> lock(mu_);
  for (SequencedAlert& a : alerts_) out->push_back(std::move(a));
  alerts_.clear();
  alerts_ready_.store(false, std::memory_order_release);
  *done = watermarks_done_;
  return status_;
}

Status ClusterWorker::Sync(std::vector<SequencedAlert>* out) {
  RecordsAdded();
  bool failed = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
    failed = !status_.ok();
  }
  // The thread is idle and gets nothing more: the rest of the current batch
  // runs here, as on the single-threaded pipeline, without a hand-over and
  // a wake-up (~45 us). A caller syncing after every record (tests, the
  // memory bench, small Kafka batches) then costs what it did before.
  if (current_->calls > 0) {
    std::vector<SequencedAlert> made;
    const Status st = failed ? Status::Ok() : ApplyGuarded(*current_, &made);
    {
      std::lock_guard<std::mutex> lock(mu_);
      Finished(*current_, st, &made);
    }
    current_->Clear();
    current_->first_seq = watermarks_queued_;
    records_counted_ = 0;
  }
  uint64_t done = 0;
  return Poll(out, &done);
}

double ClusterWorker::cpu_seconds() const { return ThreadCpuSeconds(thread_); }

Status ClusterWorker::Apply(Batch& b, std::vector<SequencedAlert>* alerts) {
  std::vector<Alert> made;
  uint64_t seq = b.first_seq;
  size_t next_record = 0;
  // Each record's state is looked up in tables far bigger than the CPU
  // caches: its index bucket is loaded 16 records ahead, its slot 8 ahead.
  const size_t n = b.records.size();
  b.key_hashes.resize(n);
  for (size_t i = 0; i < n; ++i) b.key_hashes[i] = ClusterStage::KeyHash(b.records[i].key);
  auto records_until = [&](size_t end) -> Status {
    for (; next_record < end; ++next_record) {
      if (const size_t j = next_record + kBucketAhead; j < n) {
        stage_->PrefetchRecord(b.records[j], b.key_hashes[j], false);
      }
      if (const size_t j = next_record + kSlotAhead; j < n) {
        stage_->PrefetchRecord(b.records[j], b.key_hashes[j], true);
      }
      EPI_RETURN_IF_ERROR(stage_->OnRecord(b.records[next_record], b.key_hashes[next_record]));
    }
    return Status::Ok();
  };
  for (size_t i = 0; i < b.markers_used; ++i) {
    const Marker& m = b.markers[i];
    EPI_RETURN_IF_ERROR(records_until(m.records_before));
    if (m.kind == Marker::kRegistration) {
      EPI_RETURN_IF_ERROR(stage_->OnRegistration(m.before, m.after));
      continue;
    }
    if (m.kind == Marker::kFlush) {
      EPI_RETURN_IF_ERROR(stage_->Flush());
      continue;
    }
    made.clear();
    EPI_RETURN_IF_ERROR(stage_->OnWatermark(m.wm, &made));
    for (Alert& a : made) alerts->push_back(SequencedAlert{seq, std::move(a)});
    ++seq;
  }
  return records_until(b.records.size());
}

Status ClusterWorker::ApplyGuarded(Batch& b, std::vector<SequencedAlert>* alerts) {
  // No exception may leave a thread or the event loop (the stage reports
  // faults as statuses; this catches allocation failures).
  try {
    return Apply(b, alerts);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cluster worker: ") + e.what());
  } catch (...) {
    return Status::Internal("cluster worker: unknown exception");
  }
}

void ClusterWorker::Finished(const Batch& b, const Status& st, std::vector<SequencedAlert>* made) {
  if (status_.ok() && !st.ok()) status_ = st;
  if (!made->empty()) {
    for (SequencedAlert& a : *made) alerts_.push_back(std::move(a));
    made->clear();
    alerts_ready_.store(true, std::memory_order_release);
  }
  for (size_t i = 0; i < b.markers_used; ++i) {
    if (b.markers[i].kind == Marker::kWatermark) ++watermarks_done_;
  }
}

void ClusterWorker::Run() {
  std::vector<SequencedAlert> made;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    std::unique_ptr<Batch> b = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    const bool failed = !status_.ok();
    lock.unlock();
    made.clear();
    const Status st = failed ? Status::Ok() : ApplyGuarded(*b, &made);
    lock.lock();
    Finished(*b, st, &made);
    free_.push_back(std::move(b));
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace epistream
