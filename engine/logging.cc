#include "engine/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>

namespace epistream {
namespace {

// Exact names only: spdlog's own from_str maps every unknown name to "off",
// which would silently hide all logs after a typo.
std::optional<spdlog::level::level_enum> ToLevel(std::string_view s) {
  using spdlog::level::level_enum;
  if (s == "trace") return level_enum::trace;
  if (s == "debug") return level_enum::debug;
  if (s == "info") return level_enum::info;
  if (s == "warn" || s == "warning") return level_enum::warn;
  if (s == "error") return level_enum::err;
  if (s == "critical") return level_enum::critical;
  if (s == "off") return level_enum::off;
  return std::nullopt;
}

}  // namespace

bool IsLogLevel(std::string_view level) { return ToLevel(level).has_value(); }

void InitLogging(std::string_view level) {
  const std::optional<spdlog::level::level_enum> parsed = ToLevel(level);
  // The color sink only emits colour codes when stderr is a terminal.
  auto logger = std::make_shared<spdlog::logger>(
      "epistream", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ %v");
  logger->set_level(parsed.value_or(spdlog::level::info));
  // Warnings and errors reach stderr at once, even when stderr is a pipe.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  if (!parsed) {
    spdlog::warn("unknown log level \"{}\", using info", level);
  }
}

}  // namespace epistream
