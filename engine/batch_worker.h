// BatchWorker<Batch>: hands batches to one helper thread and back, in order.
//
// The shape the stage thread's helpers share (the look-ahead loads of
// person states, parsing ahead): the owner fills a batch (NewBatch hands
// back a used one, buffers kept), Submits it, works on while the helper
// runs `work` on it, and later Takes the oldest submitted batch back. Every
// submitted batch is Taken (Drain on the way out); Take waits only when the
// helper is behind.
//
// Threading: NewBatch, Submit, Take, Recycle, Drain and the destructor on
// the owner's thread. `work` runs on the helper thread and touches a batch
// only between its Submit and its Take; whatever else it touches the owner
// must not change meanwhile.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "engine/thread_cpu.h"

namespace epistream {

template <typename Batch>
class BatchWorker {
 public:
  // Starts the helper thread, named `name` for perf and top (15 characters
  // at most).
  BatchWorker(const char* name, std::function<void(Batch&)> work)
      : work_(std::move(work)), thread_([this] { Loop(); }) {
    pthread_setname_np(thread_.native_handle(), name);
  }
  // Runs what is queued, then joins the helper.
  ~BatchWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  BatchWorker(const BatchWorker&) = delete;
  BatchWorker& operator=(const BatchWorker&) = delete;

  // A batch to fill: a recycled one (as it was left) when available.
  std::unique_ptr<Batch> NewBatch() {
    if (free_.empty()) return std::make_unique<Batch>();
    std::unique_ptr<Batch> b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  // Queues a batch for the helper thread.
  void Submit(std::unique_ptr<Batch> batch) {
    ++outstanding_;
    {
      std::lock_guard<std::mutex> lock(mu_);
      todo_.push_back(std::move(batch));
    }
    cv_.notify_all();
  }
  // Waits for the oldest submitted batch and returns it; null if none is
  // outstanding.
  std::unique_ptr<Batch> Take() {
    if (outstanding_ == 0) return nullptr;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !done_.empty(); });
    std::unique_ptr<Batch> b = std::move(done_.front());
    done_.pop_front();
    --outstanding_;
    return b;
  }
  // Gives a taken batch back for reuse.
  void Recycle(std::unique_ptr<Batch> batch) {
    if (batch != nullptr) free_.push_back(std::move(batch));
  }
  // Takes and recycles every outstanding batch.
  void Drain() {
    while (outstanding_ > 0) Recycle(Take());
  }
  size_t outstanding() const { return outstanding_; }
  // CPU time of the helper thread so far (summaries, benches).
  double cpu_seconds() const { return ThreadCpuSeconds(thread_); }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !todo_.empty(); });
      if (todo_.empty()) return;  // stop_, nothing left
      std::unique_ptr<Batch> b = std::move(todo_.front());
      todo_.pop_front();
      lock.unlock();
      work_(*b);
      lock.lock();
      done_.push_back(std::move(b));
      cv_.notify_all();
    }
  }

  std::function<void(Batch&)> work_;
  size_t outstanding_ = 0;                        // owner: submitted, not yet taken
  std::vector<std::unique_ptr<Batch>> free_;      // owner
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> todo_;  // guarded by mu_
  std::deque<std::unique_ptr<Batch>> done_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace epistream
