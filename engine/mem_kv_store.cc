#include "engine/mem_kv_store.h"

#include <utility>
#include <vector>

namespace epistream {

Status MemKvStore::Get(std::string_view key, std::string* value, bool* found) {
  if (auto s = staged_.find(key); s != staged_.end()) {
    *found = s->second.has_value();
    if (*found) value->assign(*s->second);
    return Status::Ok();
  }
  auto c = committed_.find(key);
  *found = c != committed_.end();
  if (*found) value->assign(c->second);
  return Status::Ok();
}

std::optional<std::string>& MemKvStore::StagedSlot(std::string_view key) {
  auto it = staged_.find(key);  // no allocation for an already staged key
  if (it == staged_.end()) it = staged_.emplace(key, std::nullopt).first;
  return it->second;
}

void MemKvStore::Put(std::string_view key, std::string_view value) {
  staged_bytes_ += key.size() + value.size();
  StagedSlot(key).emplace(value);
}

void MemKvStore::Delete(std::string_view key) {
  staged_bytes_ += key.size();
  StagedSlot(key).reset();
}

Status MemKvStore::DeleteRange(std::string_view begin, std::string_view end) {
  return DeleteEachKeyIn(begin, end);  // as RocksKvStore does
}

Status MemKvStore::Scan(std::string_view begin, std::string_view end,
                        const ScanFn& fn) {
  // Merge the two sorted maps; on equal keys the staged entry wins.
  auto s = staged_.lower_bound(begin);
  auto c = committed_.lower_bound(begin);
  auto in_range = [end](const std::string& k) {
    return end.empty() || k < end;
  };
  while (true) {
    const bool s_ok = s != staged_.end() && in_range(s->first);
    const bool c_ok = c != committed_.end() && in_range(c->first);
    if (!s_ok && !c_ok) return Status::Ok();
    if (c_ok && (!s_ok || c->first < s->first)) {
      if (!fn(c->first, c->second)) return Status::Ok();
      ++c;
      continue;
    }
    if (c_ok && c->first == s->first) ++c;  // shadowed by the staged entry
    if (s->second.has_value() && !fn(s->first, *s->second)) return Status::Ok();
    ++s;
  }
}

Status MemKvStore::ForEachStaged(const StagedFn& fn) const {
  for (const auto& [key, value] : staged_) {
    if (value.has_value()) {
      const std::string_view v = *value;
      fn(key, &v);
    } else {
      fn(key, nullptr);
    }
  }
  return Status::Ok();
}

Status MemKvStore::Commit() {
  std::lock_guard<std::mutex> lock(mu_.m);
  ++version_;
  for (auto& [key, value] : staged_) {
    written_at_[key] = version_;
    auto c = committed_.find(key);
    if (c != committed_.end()) {
      committed_bytes_ -= c->first.size() + c->second.size();
      if (!value) {
        committed_.erase(c);
        continue;
      }
      c->second = std::move(*value);
    } else {
      if (!value) continue;
      c = committed_.emplace(key, std::move(*value)).first;
    }
    committed_bytes_ += c->first.size() + c->second.size();
  }
  staged_.clear();
  staged_bytes_ = 0;
  return Status::Ok();
}

uint64_t MemKvStore::CommittedVersion() const {
  std::lock_guard<std::mutex> lock(mu_.m);
  return version_;
}

Status MemKvStore::MultiGetCommitted(const std::vector<std::string_view>& keys,
                                     std::vector<std::string>* values,
                                     std::vector<uint8_t>* found) const {
  values->resize(keys.size());
  found->assign(keys.size(), 0);
  std::lock_guard<std::mutex> lock(mu_.m);
  for (size_t i = 0; i < keys.size(); ++i) {
    auto c = committed_.find(keys[i]);
    if (c == committed_.end()) continue;
    (*found)[i] = 1;
    (*values)[i].assign(c->second);
  }
  return Status::Ok();
}

bool MemKvStore::UnchangedSince(std::string_view key, uint64_t version) {
  if (staged_.find(key) != staged_.end()) return false;
  // Only this (owner) thread writes written_at_: no lock needed to read it.
  auto w = written_at_.find(std::string(key));
  return w == written_at_.end() || w->second <= version;
}

}  // namespace epistream
