#include "engine/event_time_merger.h"

#include <spdlog/spdlog.h>

namespace epistream {

EventTimeMerger::Partition& EventTimeMerger::Get(int32_t partition) {
  Partition& p = partitions_[partition];
  if (p.queues.empty()) {
    p.queues.resize(num_sources_);
    p.caught_up_as_of.assign(num_sources_, kNever);
    p.known.assign(num_sources_, false);
  }
  return p;
}

void EventTimeMerger::Push(int source, Item item) {
  Partition& p = Get(item.msg.partition);
  p.known[source] = true;
  if (item.ts != kMinTimestamp && item.ts < p.max_released) {
    // Applied after a newer event of its partition: say so (rarely).
    if (order_inversions_++ % 10000 == 0) {
      spdlog::warn("merger: partition {} source {}: an event {} ms older than one already released "
                   "({} so far)",
                   item.msg.partition, source, p.max_released - item.ts, order_inversions_);
    }
  }
  item.source = source;
  p.queues[source].push_back(std::move(item));
  ++p.queued;
  ++queued_;
}

void EventTimeMerger::Assign(int source, int32_t partition) {
  Partition& p = Get(partition);
  p.caught_up_as_of[source] = kNever;
  p.known[source] = true;
}

void EventTimeMerger::SetCaughtUpAsOf(int source, int32_t partition, int64_t as_of_ms) {
  Partition& p = Get(partition);
  if (p.caught_up_as_of[source] != kAlways && as_of_ms > p.caught_up_as_of[source]) {
    p.caught_up_as_of[source] = as_of_ms;
  }
  p.known[source] = true;
}

void EventTimeMerger::DropSource(int source, int32_t partition) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  Partition& p = it->second;
  queued_ -= p.queues[source].size();
  p.queued -= p.queues[source].size();
  p.queues[source].clear();
  p.caught_up_as_of[source] = kAlways;  // no longer ours: do not wait for it
  p.known[source] = false;
}

size_t EventTimeMerger::queued(int32_t partition) const {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? 0 : it->second.queued;
}

void EventTimeMerger::Drain(int64_t now_ms, std::vector<Item>* out, uint64_t max_batch) {
  wants_snapshot_ = false;
  for (auto& [partition, p] : partitions_) {
    p.waiting_known = false;
    for (;;) {
      int best = -1;
      for (int s = 0; s < num_sources_; ++s) {
        if (p.queues[s].empty()) continue;
        if (best < 0 || p.queues[s].front().ts < p.queues[best].front().ts) best = s;
      }
      if (best < 0) break;
      // A source with nothing queued may still hold an older event unless a
      // snapshot taken after this head arrived says it has nothing more.
      const int64_t received = p.queues[best].front().msg.received_ms;
      bool blocked_unknown = false;
      bool blocked_known = false;
      for (int s = 0; s < num_sources_; ++s) {
        if (!p.queues[s].empty() || p.caught_up_as_of[s] >= received) continue;
        (p.known[s] ? blocked_known : blocked_unknown) = true;
      }
      const bool covered = p.queues[best].front().batch <= max_batch;
      if (blocked_known) {
        // Its data may be older than every head here: wait, however long.
        wants_snapshot_ = true;
        p.waiting_known = true;
        if (p.queued <= kHardMaxHeldPerPartition || !covered) break;
        if (forced_releases_++ % 100000 == 0) {
          spdlog::warn("merger: partition {} holds {} messages waiting for a stalled topic; "
                       "releasing out of event-time order", partition, p.queued);
        }
      } else if (blocked_unknown) {
        if (p.blocked_since_ms < 0) p.blocked_since_ms = now_ms;
        if (now_ms - p.blocked_since_ms < max_wait_ms_ || !covered) break;
      } else {
        p.blocked_since_ms = -1;
        if (!covered) break;
      }
      Item& head = p.queues[best].front();
      if (head.ts > p.max_released) p.max_released = head.ts;
      out->push_back(std::move(head));
      p.queues[best].pop_front();
      --p.queued;
      --queued_;
    }
  }
}

std::vector<EventTimeMerger::Held> EventTimeMerger::Blocked() const {
  std::vector<Held> held;
  for (const auto& [partition, p] : partitions_) {
    if (!p.waiting_known || p.queued <= kMaxHeldPerPartition) continue;
    Held h;
    h.partition = partition;
    for (int s = 0; s < num_sources_; ++s) {
      if (!p.queues[s].empty()) h.full.push_back(s);
    }
    held.push_back(std::move(h));
  }
  return held;
}

TimestampMs EventTimeMerger::PeekTs(std::string_view json) {
  size_t at = json.find("\"ts\"");
  if (at == std::string_view::npos) return kMinTimestamp;
  at = json.find_first_not_of(" \t\r\n", at + 4);
  if (at == std::string_view::npos || json[at] != ':') return kMinTimestamp;
  at = json.find_first_not_of(" \t\r\n", at + 1);
  if (at == std::string_view::npos) return kMinTimestamp;
  if (json[at] == '"') {
    const size_t end = json.find('"', at + 1);
    if (end == std::string_view::npos) return kMinTimestamp;
    return ParseRfc3339(json.substr(at + 1, end - at - 1)).value_or(kMinTimestamp);
  }
  int64_t v = 0;
  size_t i = at;
  for (; i < json.size() && json[i] >= '0' && json[i] <= '9' && i - at < 16; ++i) v = v * 10 + (json[i] - '0');
  return i == at ? kMinTimestamp : v;
}

}  // namespace epistream
