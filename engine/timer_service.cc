#include "engine/timer_service.h"

#include <algorithm>
#include <utility>

#include "engine/byte_codec.h"

namespace epistream {

std::string TimerService::StoreKey(const Timer& t) const {
  std::string k;
  StoreKeyInto(t, &k);
  return k;
}

void TimerService::StoreKeyInto(const Timer& t, std::string* out) const {
  out->assign(prefix_);
  ByteWriter w(out);
  w.OrderedI64(t.when);
  w.U8(t.kind);
  out->append(t.key);
}

Status TimerService::Load() {
  head_.clear();
  HeadChanged();
  all_loaded_ = false;
  loaded_until_ = INT64_MIN;
  status_ = Status::Ok();
  return Refill();
}

Status TimerService::Refill() {
  // Buffered writes first: the scan must see them.
  if (buffered_) Flush();
  // The start key: the prefix and `when` alone sort before every key of
  // that `when`.
  std::string begin = prefix_;
  ByteWriter(&begin).OrderedI64(loaded_until_);
  size_t loaded = 0;
  bool more = false;
  TimestampMs next_when = INT64_MAX;
  Status decode_error;
  Status st = store_->Scan(begin, PrefixEnd(prefix_), [&](std::string_view key, std::string_view) {
    ByteReader r(key.substr(prefix_.size()));
    Timer t;
    t.when = r.OrderedI64();
    t.kind = r.U8();
    t.key = std::string(r.Rest());
    if (!r.ok()) {
      decode_error = Status::Corruption("timer key truncated");
      return false;
    }
    // Whole `when` groups only, so "every timer below loaded_until_ is in
    // memory" holds after the cut.
    if (!deferred_ && loaded >= chunk_ && t.when != head_.rbegin()->when) {
      more = true;
      next_when = t.when;
      return false;
    }
    head_.insert(std::move(t));
    ++loaded;
    return true;
  });
  HeadChanged();
  if (st.ok()) st = decode_error;
  if (!st.ok()) {
    if (status_.ok()) status_ = st;
    if (watch_ != nullptr) watch_->failed = true;
    return st;
  }
  all_loaded_ = !more;
  loaded_until_ = more ? next_when : INT64_MAX;
  return Status::Ok();
}

void TimerService::RefillIfEmpty() {
  if (head_.empty() && !all_loaded_) (void)Refill();  // an error stays in status_
}

void TimerService::Write(const Timer& t, bool put) {
  if (buffered_) {
    buffer_.push_back({t, put});
    if (buffer_.size() >= kMaxBuffered) Flush();
  } else if (deferred_) {
    pending_.insert_or_assign(StoreKey(t), put);
  } else if (put) {
    store_->Put(StoreKey(t), {});
  } else {
    store_->Delete(StoreKey(t));
  }
}

void TimerService::Flush() {
  if (buffered_) {
    // Timer order is key order; of a timer's writes the last one counts.
    std::stable_sort(buffer_.begin(), buffer_.end(),
                     [](const BufferedWrite& a, const BufferedWrite& b) { return a.timer < b.timer; });
    for (size_t i = 0; i < buffer_.size(); ++i) {
      const Timer& t = buffer_[i].timer;
      if (i + 1 < buffer_.size() && !(t < buffer_[i + 1].timer)) continue;
      StoreKeyInto(t, &key_scratch_);
      if (buffer_[i].put) {
        store_->PutForCommit(key_scratch_, {});
      } else {
        store_->DeleteForCommit(key_scratch_);
      }
    }
    buffer_.clear();
    return;
  }
  for (const auto& [key, put] : pending_) {
    if (put) {
      store_->PutForCommit(key, {});
    } else {
      store_->DeleteForCommit(key);
    }
  }
  pending_.clear();
}

void TimerService::Shrink() {
  if (deferred_ || head_.size() <= 2 * chunk_) return;
  auto it = head_.begin();
  std::advance(it, chunk_);
  // Cut at the start of a `when` group; if the first chunk is one group,
  // at the next group.
  auto cut = head_.lower_bound(Timer{it->when, 0, {}});
  if (cut == head_.begin()) {
    if (it->when == INT64_MAX) return;
    cut = head_.lower_bound(Timer{it->when + 1, 0, {}});
  }
  if (cut == head_.end()) return;
  loaded_until_ = cut->when;
  all_loaded_ = false;
  head_.erase(cut, head_.end());
  HeadChanged();
}

void TimerService::Schedule(TimestampMs when, uint8_t kind, std::string_view key) {
  Timer t{when, kind, std::string(key)};
  if (!InHead(when)) {
    // Beyond the head: the store alone holds it (a second Put of the same
    // key is the same single timer).
    Write(t, true);
    return;
  }
  const auto [at, inserted] = head_.insert(std::move(t));
  if (!inserted) return;
  HeadChanged();
  Write(*at, true);
  Shrink();
}

void TimerService::Cancel(TimestampMs when, uint8_t kind, std::string_view key) {
  Timer t{when, kind, std::string(key)};
  if (!InHead(when)) {
    Write(t, false);
    return;
  }
  if (head_.erase(t) == 0) return;
  HeadChanged();
  Write(t, false);
  RefillIfEmpty();
}

bool TimerService::PopDue(TimestampMs watermark, Timer* out) {
  if (head_.empty() || head_.begin()->when > watermark) return false;
  auto node = head_.extract(head_.begin());
  HeadChanged();
  *out = std::move(node.value());
  Write(*out, false);
  RefillIfEmpty();
  return true;
}

}  // namespace epistream
