#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace cstor {

bool SetLogLevel(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  static bool configured = [] {
    auto logger = spdlog::stderr_color_mt("cstor");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ %v");
    return true;
  }();
  (void)configured;
  spdlog::set_level(parsed);
  return true;
}

}  // namespace cstor
