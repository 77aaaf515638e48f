#include "operators/person_prefetcher.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "engine/thread_cpu.h"

namespace epistream {

PersonPrefetcher::PersonPrefetcher(KvStore* store)
    : store_(store), thread_([this] { Loop(); }) {
  // Named for perf and top (15 characters at most).
  pthread_setname_np(thread_.native_handle(), "epi-prefetch");
}

PersonPrefetcher::~PersonPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::unique_ptr<PrefetchBatch> PersonPrefetcher::NewBatch() {
  if (free_.empty()) return std::make_unique<PrefetchBatch>();
  std::unique_ptr<PrefetchBatch> b = std::move(free_.back());
  free_.pop_back();
  b->Clear();
  return b;
}

void PersonPrefetcher::Submit(std::unique_ptr<PrefetchBatch> batch) {
  ++outstanding_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    todo_.push_back(std::move(batch));
  }
  cv_.notify_all();
}

std::unique_ptr<PrefetchBatch> PersonPrefetcher::Take() {
  if (outstanding_ == 0) return nullptr;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !done_.empty(); });
  std::unique_ptr<PrefetchBatch> b = std::move(done_.front());
  done_.pop_front();
  --outstanding_;
  return b;
}

void PersonPrefetcher::Recycle(std::unique_ptr<PrefetchBatch> batch) {
  if (batch != nullptr) free_.push_back(std::move(batch));
}

void PersonPrefetcher::Drain() {
  while (outstanding_ > 0) Recycle(Take());
}

double PersonPrefetcher::cpu_seconds() const { return ThreadCpuSeconds(thread_); }

void PersonPrefetcher::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !todo_.empty(); });
    if (todo_.empty()) return;  // stop_, nothing left
    std::unique_ptr<PrefetchBatch> b = std::move(todo_.front());
    todo_.pop_front();
    lock.unlock();
    Load(b.get());
    lock.lock();
    done_.push_back(std::move(b));
    cv_.notify_all();
  }
}

void PersonPrefetcher::Load(PrefetchBatch* b) {
  std::sort(b->keys.begin(), b->keys.end());
  b->keys.erase(std::unique(b->keys.begin(), b->keys.end()), b->keys.end());
  const size_t n = b->keys.size();
  // The version first: a commit applied during the read then counts as
  // newer than every value read (UnchangedSince is conservative about it).
  b->version = store_->CommittedVersion();
  views_.assign(b->keys.begin(), b->keys.end());
  b->read_status = store_->MultiGetCommitted(views_, &values_, &found_);
  if (!b->read_status.ok()) return;
  b->results.resize(n);
  if (b->states.size() < n) b->states.resize(n);
  for (size_t i = 0; i < n; ++i) {
    PersonState& s = b->states[i];
    if (found_[i] == 0) {
      s.Clear();
      b->results[i] = PrefetchBatch::kNotFound;
    } else if (s.Decode(values_[i]).ok()) {
      b->results[i] = PrefetchBatch::kFound;
    } else {
      b->results[i] = PrefetchBatch::kUnusable;
    }
  }
}

}  // namespace epistream
