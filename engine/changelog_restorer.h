// ChangelogRestorer: rebuilds one state partition in a KvStore from its
// changelog partition (format and protocol: engine/changelog_writer.h).
//
// Restore(p, from): reads changelog partition p from `from` (the end offset
// of the local copy's last mark, or the beginning when there is none) to the
// partition's end as it was when the restore began. Records are buffered per
// checkpoint (writer id, sequence) and staged into the store only when that
// checkpoint's marker is read; records of a checkpoint whose marker never
// comes (the writer died mid-checkpoint) are dropped. If `from` already is
// the end, nothing is read: the local copy is current.
//
// The restored writes are staged, not committed: the caller commits them
// with the returned mark (so a crash mid-restore restores again).
//
// Threading: not thread-safe; one owner thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/changelog_writer.h"
#include "engine/kv_store.h"
#include "engine/status.h"

namespace epistream {

struct RestoreResult {
  bool current = false;      // the local copy was up to date: nothing read
  uint64_t records = 0;      // state writes applied
  uint64_t bytes = 0;        // their key + value bytes
  uint64_t checkpoints = 0;  // complete checkpoints applied
  uint64_t dropped = 0;      // records of incomplete checkpoints dropped
  double seconds = 0;
  // The mark after the last complete checkpoint read (or `from`'s, if none).
  ChangelogMark mark;
};

class ChangelogRestorer {
 public:
  // Connects to options.brokers; options.topic is the changelog.
  static Result<std::unique_ptr<ChangelogRestorer>> Create(
      const ChangelogOptions& options);
  ~ChangelogRestorer();
  ChangelogRestorer(const ChangelogRestorer&) = delete;
  ChangelogRestorer& operator=(const ChangelogRestorer&) = delete;

  // Restores changelog partition `partition` into `store` (staged). `from`:
  // the local copy's mark, nullopt to read from the beginning.
  Result<RestoreResult> Restore(int32_t partition,
                                const std::optional<ChangelogMark>& from,
                                KvStore* store);

 private:
  ChangelogRestorer(KafkaHandle rk, std::string topic, int timeout_ms);

  KafkaHandle rk_;
  std::string topic_;
  int timeout_ms_;
};

}  // namespace epistream
