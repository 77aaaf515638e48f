// A small RocksDB state store for tests: 8 MiB of block cache and memtables.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/engine_config.h"
#include "engine/rocks_kv_store.h"

namespace epistream::testing {

inline StateConfig SmallStateConfig() {
  StateConfig cfg;
  cfg.block_cache_bytes = 8 << 20;
  cfg.write_buffer_bytes = 8 << 20;
  return cfg;
}

// Opens (creating) the store in `dir`, with the async commit if asked; null
// and a test failure when it cannot.
inline std::unique_ptr<RocksKvStore> OpenSmallRocks(const std::string& dir,
                                                    bool async_commit = false) {
  auto opened = RocksKvStore::Open(dir, SmallStateConfig());
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  if (!opened.ok()) return nullptr;
  std::unique_ptr<RocksKvStore> store = std::move(opened).value();
  if (async_commit) store->EnableAsyncCommit();
  return store;
}

}  // namespace epistream::testing
