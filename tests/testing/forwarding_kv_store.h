// ForwardingKvStore: a KvStore that hands every call to a MemKvStore, for
// tests that watch or break one call (override it, call the base for the
// rest). Note PutForCommit/DeleteForCommit forward to Put/Delete (the
// KvStore defaults), so overriding Put sees both.
#pragma once

#include <string>
#include <string_view>

#include "engine/kv_store.h"
#include "engine/mem_kv_store.h"

namespace epistream::testing {

class ForwardingKvStore : public KvStore {
 public:
  Status Get(std::string_view key, std::string* value, bool* found) override {
    return inner_.Get(key, value, found);
  }
  void Put(std::string_view key, std::string_view value) override { inner_.Put(key, value); }
  void Delete(std::string_view key) override { inner_.Delete(key); }
  Status DeleteRange(std::string_view begin, std::string_view end) override {
    return inner_.DeleteRange(begin, end);
  }
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override {
    return inner_.Scan(begin, end, fn);
  }
  Status Commit() override { return inner_.Commit(); }
  size_t StagedBytes() const override { return inner_.StagedBytes(); }
  uint64_t ApproximateSizeBytes() override { return inner_.ApproximateSizeBytes(); }

 private:
  MemKvStore inner_;
};

}  // namespace epistream::testing
