#include "engine/capturing_kv_store.h"

namespace epistream {

void CapturingKvStore::Keep(Op op, std::string_view key,
                            std::string_view value) {
  writes_.push_back({op, static_cast<uint32_t>(key.size()),
                     static_cast<uint32_t>(value.size())});
  bytes_.append(key);
  bytes_.append(value);
}

Status CapturingKvStore::Refuse(const char* what) {
  Status st = Status::Internal(std::string("capturing state store: ") + what +
                               " while capturing");
  if (error_.ok()) error_ = st;
  return st;
}

// Makes one write on `to`.
void CapturingKvStore::Apply(KvStore* to, Op op, std::string_view key,
                             std::string_view value) {
  switch (op) {
    case Op::kPut:
      return to->Put(key, value);
    case Op::kDelete:
      return to->Delete(key);
    case Op::kPutForCommit:
      return to->PutForCommit(key, value);
    case Op::kDeleteForCommit:
      return to->DeleteForCommit(key);
  }
}

void CapturingKvStore::Write(Op op, std::string_view key,
                             std::string_view value) {
  if (capturing_) {
    Keep(op, key, value);
  } else {
    Apply(target_, op, key, value);
  }
}

Status CapturingKvStore::Replay() {
  capturing_ = false;
  size_t at = 0;
  for (const Kept& w : writes_) {
    const std::string_view key(bytes_.data() + at, w.key_size);
    const std::string_view value(bytes_.data() + at + w.key_size, w.value_size);
    at += size_t{w.key_size} + w.value_size;
    Apply(target_, w.op, key, value);
  }
  // Cleared, not freed: the next checkpoint captures about as much.
  writes_.clear();
  bytes_.clear();
  Status st = error_;
  error_ = Status::Ok();
  return st;
}

Status CapturingKvStore::Get(std::string_view key, std::string* value,
                             bool* found) {
  if (capturing_) return Refuse("Get");
  return target_->Get(key, value, found);
}

Status CapturingKvStore::DeleteRange(std::string_view begin,
                                     std::string_view end) {
  if (capturing_) return Refuse("DeleteRange");
  return target_->DeleteRange(begin, end);
}

Status CapturingKvStore::Scan(std::string_view begin, std::string_view end,
                              const ScanFn& fn) {
  if (capturing_) return Refuse("Scan");
  return target_->Scan(begin, end, fn);
}

Status CapturingKvStore::Commit() {
  if (capturing_) return Refuse("Commit");
  return target_->Commit();
}

}  // namespace epistream
