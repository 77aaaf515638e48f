// TimerService: event-time timers that survive restarts.
//
// A timer is (when, kind, key); scheduling the same triple twice keeps one.
// Timers live in memory (ordered) and in the state store under a caller-given
// prefix, staged like any state write so they commit atomically with the
// checkpoint. PopDue hands them out in (when, kind, key) order once the
// watermark is >= when, deleting each from the store as it fires.
//
// Threading: owned by one stage thread.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "engine/event_time.h"
#include "engine/kv_store.h"
#include "engine/status.h"

namespace epistream {

struct Timer {
  TimestampMs when = 0;
  uint8_t kind = 0;
  std::string key;
  bool operator<(const Timer& o) const {
    return std::tie(when, kind, key) < std::tie(o.when, o.kind, o.key);
  }
};

class TimerService {
 public:
  TimerService(KvStore* store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}

  // Loads the persisted timers under the prefix (at start or partition assign).
  Status Load();
  void Schedule(TimestampMs when, uint8_t kind, std::string_view key);
  void Cancel(TimestampMs when, uint8_t kind, std::string_view key);
  // Pops the earliest timer due at `watermark`; false when none is due.
  bool PopDue(TimestampMs watermark, Timer* out);

  size_t size() const { return timers_.size(); }
  TimestampMs next_due() const { return timers_.empty() ? INT64_MAX : timers_.begin()->when; }

 private:
  std::string StoreKey(const Timer& t) const;
  KvStore* store_;
  std::string prefix_;
  std::set<Timer> timers_;
};

}  // namespace epistream
