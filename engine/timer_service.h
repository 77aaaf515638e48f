// TimerService: event-time timers that survive restarts.
//
// A timer is (when, kind, key); scheduling the same triple twice keeps one.
// Every timer lives in the state store under a caller-given prefix, keyed so
// that byte order is (when, kind, key) order, staged like any state write so
// it commits atomically with the checkpoint. PopDue hands timers out in
// (when, kind, key) order once the watermark is >= when, deleting each from
// the store as it fires.
//
// Only the head of the queue is in memory (as Flink's RocksDB timer queue
// does): every timer with when < loaded_until() is in memory, the later ones
// only in the store. The person stage keeps one presence timer per person,
// so holding them all cost ~110 bytes per person: 1.1 GB at 10M persons
// (jemalloc heap profile of the memory bench). When the head runs empty it is
// refilled by a scan of the next `chunk` timers (whole `when` groups); when
// it grows past 2 x chunk (timers scheduled below loaded_until()) its latest
// `when` groups are dropped from memory: they are in the store already.
//
// Buffered writes (BufferWrites(), the person stage): changes are kept in a
// list and reach the store at Flush() (the checkpoint), before a refill's
// scan, or every kMaxBuffered changes, each time sorted, the last change of
// a timer only, with KvStore::PutForCommit. A person's presence timer moves
// on many of its events (a cancel and a schedule): staged one by one they
// were ~150k indexed writes per 200k-event checkpoint at 1M persons.
//
// Deferred writes (DeferWrites(), the cluster stage on its own thread): every
// timer stays in memory and changes reach the store only at Flush(), so
// between Load() and Flush() no call touches the store and another thread
// may run them while the store's owner writes other keys.
//
// Threading: owned by one thread at a time (the stage thread, or with
// deferred writes the thread that schedules and pops; Load and Flush then
// run while it is idle).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

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

// What an owner of many TimerServices needs per event without asking each
// (TimerService::set_watch): a lower bound of their next_due() and whether
// any has failed.
struct TimerWatch {
  // <= every watched service's next_due(): lowered by every change of a
  // head; the owner raises it to the true minimum when it walks them.
  TimestampMs earliest_due = INT64_MAX;
  // Some watched service's status() is not Ok.
  bool failed = false;
};

class TimerService {
 public:
  // Timers refilled per scan of the store. Default: 4096
  static constexpr size_t kDefaultChunk = 4096;

  TimerService(KvStore* store, std::string prefix, size_t chunk = kDefaultChunk)
      : store_(store), prefix_(std::move(prefix)), chunk_(chunk == 0 ? 1 : chunk) {}

  // Before Load: keep every timer in memory and stage writes only at
  // Flush() (see the file comment).
  void DeferWrites() { deferred_ = true; }
  // Before Load: buffer writes until Flush() (see the file comment). The
  // owner calls Flush() before each commit of the store.
  void BufferWrites() { buffered_ = true; }
  // Buffered changes staged at the latest at this many.
  static constexpr size_t kMaxBuffered = size_t{1} << 16;
  // Reports this service's head times and failures to `watch` (which must
  // outlive it); before Load.
  void set_watch(TimerWatch* watch) { watch_ = watch; }
  // Loads the head of the persisted timers under the prefix (at start or
  // partition assign); with deferred writes, every timer.
  Status Load();
  // Deferred or buffered writes: stages every change since the last Flush,
  // in key order (KvStore::PutForCommit). Without them a no-op: changes are
  // staged as they happen.
  void Flush();
  void Schedule(TimestampMs when, uint8_t kind, std::string_view key);
  void Cancel(TimestampMs when, uint8_t kind, std::string_view key);
  // Pops the earliest timer due at `watermark`; false when none is due, or
  // when refilling the head from the store failed (then status() says why).
  bool PopDue(TimestampMs watermark, Timer* out);
  // The first store error of a refill; Ok while there was none.
  const Status& status() const { return status_; }

  // Timers held in memory (the head; every timer when all fit in a chunk).
  size_t size() const { return head_.size(); }
  // The earliest pending timer's time, INT64_MAX when there is none. Kept
  // in a field: the person stage asks every partition's service per event.
  TimestampMs next_due() const { return next_due_; }
  // True when every timer is in memory; else every timer with
  // when < loaded_until() is, and the head is never empty.
  bool all_loaded() const { return all_loaded_; }
  TimestampMs loaded_until() const { return loaded_until_; }

 private:
  std::string StoreKey(const Timer& t) const;
  void StoreKeyInto(const Timer& t, std::string* out) const;
  bool InHead(TimestampMs when) const { return all_loaded_ || when < loaded_until_; }
  // Loads the next chunk of stored timers at or after loaded_until_ into the
  // (empty) head; sets status_ on a store error.
  Status Refill();
  // After a timer left the head: keeps "not all loaded => head not empty".
  void RefillIfEmpty();
  // Drops the latest `when` groups from memory once the head is too large.
  void Shrink();
  // Stages (or, deferred or buffered, records) the put or delete of a
  // timer's key.
  void Write(const Timer& t, bool put);

  KvStore* store_;
  std::string prefix_;
  size_t chunk_;
  std::set<Timer> head_;
  // After every change of head_: next_due_ follows its first timer.
  void HeadChanged() {
    next_due_ = head_.empty() ? INT64_MAX : head_.begin()->when;
    if (watch_ != nullptr && next_due_ < watch_->earliest_due) watch_->earliest_due = next_due_;
  }
  TimerWatch* watch_ = nullptr;

  TimestampMs next_due_ = INT64_MAX;
  bool deferred_ = false;
  // Deferred writes since the last Flush: key -> put (true) or delete.
  std::map<std::string, bool> pending_;
  bool buffered_ = false;
  struct BufferedWrite {
    Timer timer;
    bool put;
  };
  std::vector<BufferedWrite> buffer_;  // in write order
  std::string key_scratch_;
  bool all_loaded_ = true;
  TimestampMs loaded_until_ = INT64_MAX;
  Status status_;
};

}  // namespace epistream
