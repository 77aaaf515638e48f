#include "engine/event_time_merger.h"

#include <spdlog/spdlog.h>

namespace epistream {

EventTimeMerger::Partition& EventTimeMerger::Get(int32_t partition) {
  Partition& p = partitions_[partition];
  if (p.queues.empty()) {
    p.queues.resize(num_sources_);
    p.caught_up.assign(num_sources_, false);
    p.known.assign(num_sources_, false);
  }
  return p;
}

void EventTimeMerger::Push(int source, Item item) {
  Partition& p = Get(item.msg.partition);
  p.caught_up[source] = false;
  p.known[source] = true;
  item.source = source;
  p.queues[source].push_back(std::move(item));
  ++p.queued;
  ++queued_;
}

void EventTimeMerger::Assign(int source, int32_t partition) {
  Partition& p = Get(partition);
  p.caught_up[source] = false;
  p.known[source] = true;
}

void EventTimeMerger::SetCaughtUp(int source, int32_t partition, bool caught_up) {
  Partition& p = Get(partition);
  // A message already queued behind the end-of-partition event is newer
  // than it: the source is not drained until that message is released.
  p.caught_up[source] = caught_up;
  p.known[source] = true;
}

void EventTimeMerger::DropSource(int source, int32_t partition) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  Partition& p = it->second;
  queued_ -= p.queues[source].size();
  p.queued -= p.queues[source].size();
  p.queues[source].clear();
  p.caught_up[source] = true;  // no longer ours: do not wait for it
  p.known[source] = false;
}

void EventTimeMerger::Drain(int64_t now_ms, std::vector<Item>* out) {
  for (auto& [partition, p] : partitions_) {
    for (;;) {
      int best = -1;
      bool blocked_unknown = false;
      bool blocked_known = false;
      for (int s = 0; s < num_sources_; ++s) {
        if (p.queues[s].empty()) {
          if (!p.caught_up[s]) (p.known[s] ? blocked_known : blocked_unknown) = true;
          continue;
        }
        if (best < 0 || p.queues[s].front().ts < p.queues[best].front().ts) best = s;
      }
      if (best < 0) break;
      if (blocked_known) {
        // Its data may be older than every head here: wait, however long.
        if (p.queued <= kMaxHeldPerPartition) break;
        if (forced_releases_++ % 100000 == 0) {
          spdlog::warn("merger: partition {} holds {} messages waiting for a stalled topic; "
                       "releasing out of event-time order", partition, p.queued);
        }
      } else if (blocked_unknown) {
        if (p.blocked_since_ms < 0) p.blocked_since_ms = now_ms;
        if (now_ms - p.blocked_since_ms < max_wait_ms_) break;
      } else {
        p.blocked_since_ms = -1;
      }
      out->push_back(std::move(p.queues[best].front()));
      p.queues[best].pop_front();
      --p.queued;
      --queued_;
    }
  }
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
