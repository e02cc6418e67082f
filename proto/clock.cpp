#include "proto/clock.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace tether {

namespace {

// Keeps the output four-digit-year ISO 8601: 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z.
constexpr std::int64_t min_ms = -62167219200000LL;
constexpr std::int64_t max_ms = 253402300799999LL;

// Floor division so instants before 1970 still get milliseconds in 0..999.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string iso8601_from_ms(std::int64_t ms) {
  ms = std::clamp(ms, min_ms, max_ms);
  std::int64_t secs = floor_div(ms, 1000);
  int millis = static_cast<int>(ms - secs * 1000);
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  // snprintf with %d is not affected by the locale (no grouping without the ' flag).
  char buf[64];  // roomy enough that the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string iso8601(std::chrono::system_clock::time_point t) { return iso8601_from_ms(unix_ms(t)); }

std::string iso8601_now() { return iso8601(std::chrono::system_clock::now()); }

}  // namespace tether
