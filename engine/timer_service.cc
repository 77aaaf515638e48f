#include "engine/timer_service.h"

#include "engine/byte_codec.h"

namespace epistream {

std::string TimerService::StoreKey(const Timer& t) const {
  std::string k = prefix_;
  ByteWriter w(&k);
  w.OrderedI64(t.when);
  w.U8(t.kind);
  k.append(t.key);
  return k;
}

Status TimerService::Load() {
  timers_.clear();
  Status decode_error;
  Status st = store_->Scan(prefix_, PrefixEnd(prefix_), [&](std::string_view key, std::string_view) {
    ByteReader r(key.substr(prefix_.size()));
    Timer t;
    t.when = r.OrderedI64();
    t.kind = r.U8();
    t.key = std::string(r.Rest());
    if (!r.ok()) {
      decode_error = Status::Corruption("timer key truncated");
      return false;
    }
    timers_.insert(std::move(t));
    return true;
  });
  EPI_RETURN_IF_ERROR(st);
  return decode_error;
}

void TimerService::Schedule(TimestampMs when, uint8_t kind, std::string_view key) {
  Timer t{when, kind, std::string(key)};
  if (timers_.count(t) != 0) return;
  store_->Put(StoreKey(t), {});
  timers_.insert(std::move(t));
}

void TimerService::Cancel(TimestampMs when, uint8_t kind, std::string_view key) {
  Timer t{when, kind, std::string(key)};
  if (timers_.erase(t) != 0) store_->Delete(StoreKey(t));
}

bool TimerService::PopDue(TimestampMs watermark, Timer* out) {
  if (timers_.empty() || timers_.begin()->when > watermark) return false;
  auto node = timers_.extract(timers_.begin());
  *out = std::move(node.value());
  store_->Delete(StoreKey(*out));
  return true;
}

}  // namespace epistream
