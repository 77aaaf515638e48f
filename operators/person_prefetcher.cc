#include "operators/person_prefetcher.h"

#include <algorithm>

namespace epistream {

PersonPrefetcher::PersonPrefetcher(KvStore* store)
    : store_(store), worker_("epi-prefetch", [this](PrefetchBatch& b) { Load(&b); }) {}

std::unique_ptr<PrefetchBatch> PersonPrefetcher::NewBatch() {
  std::unique_ptr<PrefetchBatch> b = worker_.NewBatch();
  b->Clear();
  return b;
}

void PersonPrefetcher::Load(PrefetchBatch* b) {
  std::sort(b->keys.begin(), b->keys.end());
  b->keys.erase(std::unique(b->keys.begin(), b->keys.end()), b->keys.end());
  const size_t n = b->keys.size();
  // The version first: a commit applied during the read then counts as
  // newer than every value read (UnchangedSince is conservative about it).
  b->version = store_->CommittedVersion();
  views_.assign(b->keys.begin(), b->keys.end());
  b->read_status = store_->MultiGetCommitted(views_, &values_, &found_);
  if (!b->read_status.ok()) return;
  b->results.resize(n);
  if (b->states.size() < n) b->states.resize(n);
  for (size_t i = 0; i < n; ++i) {
    PersonState& s = b->states[i];
    if (found_[i] == 0) {
      s.Clear();
      b->results[i] = PrefetchBatch::kNotFound;
    } else if (s.Decode(values_[i]).ok()) {
      b->results[i] = PrefetchBatch::kFound;
    } else {
      b->results[i] = PrefetchBatch::kUnusable;
    }
  }
}

}  // namespace epistream
