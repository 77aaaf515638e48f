// StateQueries: the HTTP server's read-only operator queries
// (engine/query_handler.h) over the engine's RocksDB state.
//
//   Person(id)  -> {"person_id", "partition", "last_ts", "entries",
//                   "exposures", "trail", "fevers", "tests", "quarantines",
//                   "seen_event_ids"}; the layout of `epistream state
//                   --person`. 404 when the state holds no such person.
//   Clusters()  -> {"clusters": [{"kind": "venue"|"community"|"clinic",
//                   "id": "..."}], "truncated": bool}: the keys with cluster
//                   state (the cluster stage's tables under 'GC'
//                   V/K/L, engine/state_keys.h), at most kMaxClusters.
//
// It reads a RocksDB secondary instance (RocksKvStore::OpenReadOnly) of the
// engine's state directory, caught up with the primary before each query, so
// it never touches or blocks the stage. It sees the state as of the engine's
// last checkpoint (checkpoint.interval, 1 s by default): hot person states
// not yet written back are not visible. The secondary is opened on the first
// query (the engine may not have created the directory at start-up) and
// reopened after an error.
//
// Threading: one call at a time (the HTTP server serialises them), on a
// server thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/query_handler.h"
#include "engine/status.h"

namespace epistream {

class RocksKvStore;
struct PersonState;

class StateQueries final : public QueryHandler {
 public:
  static constexpr size_t kMaxClusters = 1000;
  // Input partitions probed for a person (as `epistream state` does).
  static constexpr int kMaxPartitions = 1024;

  // `state_dir` is the engine's RocksDB directory; times are rendered with
  // the local offset `tz_offset_minutes`.
  StateQueries(std::string state_dir, int tz_offset_minutes);
  ~StateQueries() override;

  HttpResponse Person(std::string_view person_id) override;
  HttpResponse Clusters() override;

  // The JSON of one person's state (no trailing newline).
  static std::string PersonJson(std::string_view person_id, int partition,
                                const PersonState& state,
                                int tz_offset_minutes);

 private:
  // Opens the secondary if needed and catches it up with the primary.
  Status Refresh();

  std::string state_dir_;
  int tz_offset_minutes_;
  std::unique_ptr<RocksKvStore> store_;
};

}  // namespace epistream
