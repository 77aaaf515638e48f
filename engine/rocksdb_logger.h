// RocksdbLogger: RocksDB's info log, sent to the process's spdlog logger
// instead of a LOG file in the state directory.
//
// Why: with the LOG file on the state disk, a full or failing disk made
// RocksDB's error handler log the write error to that same failing file, and
// the Debian build of librocksdb 7.8.3 (assertions on) then aborted in
// WritableFileWriter (`sync_without_flush_called_`) instead of returning the
// error (tests/reliability/disk_error_test.cc). Logging to stderr keeps the
// error path free of state-disk writes, so a failed commit comes back as a
// Status and the engine stops cleanly.
//
// Levels: RocksDB DEBUG/INFO/HEADER lines go to spdlog debug (RocksDB is
// chatty at INFO: option dumps, every flush and compaction), WARN to warn,
// ERROR/FATAL to error. RocksDB messages name files and column families,
// never keys or values.
//
// Threading: RocksDB calls Logv from its own threads; spdlog's default
// logger is thread-safe.
#pragma once

#include <memory>

namespace rocksdb {
class Logger;
}

namespace epistream {

std::shared_ptr<rocksdb::Logger> NewRocksdbLogger();

}  // namespace epistream
