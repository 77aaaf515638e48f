#include "topologies/parse_ahead.h"

#include <pthread.h>

#include <utility>

#include "engine/thread_cpu.h"

namespace epistream {

ParseAhead::ParseAhead(size_t max_message_bytes)
    : parser_(max_message_bytes), thread_([this] { Loop(); }) {
  // Named for perf and top (15 characters at most).
  pthread_setname_np(thread_.native_handle(), "epi-parse");
}

ParseAhead::~ParseAhead() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ParseAhead::Submit(std::span<const PipelineRecord> records) {
  std::unique_ptr<ParsedBatch> b;
  if (free_.empty()) {
    b = std::make_unique<ParsedBatch>();
  } else {
    b = std::move(free_.back());
    free_.pop_back();
  }
  b->records = records;
  ++outstanding_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    todo_.push_back(std::move(b));
  }
  cv_.notify_all();
}

std::unique_ptr<ParsedBatch> ParseAhead::Take() {
  if (outstanding_ == 0) return nullptr;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !done_.empty(); });
  std::unique_ptr<ParsedBatch> b = std::move(done_.front());
  done_.pop_front();
  --outstanding_;
  return b;
}

void ParseAhead::Recycle(std::unique_ptr<ParsedBatch> batch) {
  if (batch == nullptr) return;
  batch->records = {};
  free_.push_back(std::move(batch));
}

void ParseAhead::Drain() {
  while (outstanding_ > 0) Recycle(Take());
}

double ParseAhead::cpu_seconds() const { return ThreadCpuSeconds(thread_); }

void ParseAhead::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !todo_.empty(); });
    if (todo_.empty()) return;  // stop_, nothing left
    std::unique_ptr<ParsedBatch> b = std::move(todo_.front());
    todo_.pop_front();
    lock.unlock();
    // Grows only: the Events of a reused batch keep their strings' capacity.
    if (b->parsed.size() < b->records.size()) b->parsed.resize(b->records.size());
    for (size_t i = 0; i < b->records.size(); ++i) {
      const PipelineRecord& r = b->records[i];
      ParsedRecord& p = b->parsed[i];
      p.reason.clear();
      p.ok = parser_.Parse(r.bytes, r.type, &p.event, &p.reason);
    }
    lock.lock();
    done_.push_back(std::move(b));
    cv_.notify_all();
  }
}

}  // namespace epistream
