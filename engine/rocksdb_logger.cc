#include "engine/rocksdb_logger.h"

#include <rocksdb/env.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace epistream {
namespace {

class SpdlogRocksdbLogger final : public rocksdb::Logger {
 public:
  SpdlogRocksdbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const spdlog::level::level_enum to = Map(level);
    if (!spdlog::should_log(to)) return;  // skip the formatting
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n < 0) return;
    std::string_view text(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
    spdlog::log(to, "rocksdb: {}", text);
  }

 private:
  static spdlog::level::level_enum Map(rocksdb::InfoLogLevel level) {
    switch (level) {
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        return spdlog::level::warn;
      case rocksdb::InfoLogLevel::ERROR_LEVEL:
      case rocksdb::InfoLogLevel::FATAL_LEVEL:
        return spdlog::level::err;
      default:
        return spdlog::level::debug;
    }
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewRocksdbLogger() {
  return std::make_shared<SpdlogRocksdbLogger>();
}

}  // namespace epistream
