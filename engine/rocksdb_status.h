// The RocksDB error boundary: the only place a rocksdb::Status becomes an
// epistream::Status. Every RocksDB call site passes its result through
// FromRocks, so codes are mapped one way everywhere and no RocksDB status is
// dropped or re-spelled by hand.
#pragma once

#include <string_view>

#include "engine/status.h"

namespace rocksdb {
class Status;
}  // namespace rocksdb

namespace epistream {

// Maps `s` to a Status whose message is "<context>: <RocksDB message>" (the
// RocksDB text keeps its own code name, e.g. "IO error: ..."). Ok maps to Ok.
//   NotFound -> kNotFound; Corruption -> kCorruption; IOError (no space,
//   path not found...) -> kIoError; InvalidArgument, NotSupported ->
//   kInvalidArgument; Busy, TimedOut, TryAgain -> kUnavailable;
//   anything else (Incomplete, Aborted, ShutdownInProgress...) -> kInternal.
Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace epistream
