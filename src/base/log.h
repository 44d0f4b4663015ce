// Logging: one process-wide logger (spdlog) writing to stderr. Thread-safe.
//   CSTOR_LOG_INFO("pool {} opened with {} volumes", dir, n);
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace cstor {

// Sets the level by name ("trace", "debug", "info", "warn", "error", "off").
// Returns false for an unknown name.
bool SetLogLevel(std::string_view level);

}  // namespace cstor

#define CSTOR_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define CSTOR_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define CSTOR_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define CSTOR_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
