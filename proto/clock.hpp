#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace tether {
// ISO 8601 UTC with milliseconds: 2026-01-01T12:00:00.000Z
std::string iso8601(std::chrono::system_clock::time_point t);
std::string iso8601_now();
std::int64_t unix_ms(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());
std::string iso8601_from_ms(std::int64_t ms);
}
