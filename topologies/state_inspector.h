// `epistream state --db DIR --person ID`: the state of one person as JSON,
// read-only (works while the engine runs: RocksDB secondary instance).
// `--digest` prints a SHA-256 over every state key and value (sink positions
// excluded, since they name output paths), to compare two runs' final state.
#pragma once

#include <string>

namespace epistream {

int RunStateInspector(const std::string& db_dir, const std::string& person, bool digest);

}  // namespace epistream
