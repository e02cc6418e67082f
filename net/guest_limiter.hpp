#pragma once
// limits.guests_per_ip_per_minute: how many guests one client address may create. A token bucket per
// address (capacity N, refilled at N per minute), so a page that makes a few guests at once is not
// refused while a script that makes them in a loop is held to N a minute.
//
// Bounded: an address whose bucket has refilled completely is forgotten (nothing to remember), and
// the table is pruned of those whenever it reaches max_entries; if it is still full of addresses
// that are all mid-minute, a new address is refused (fail closed: the limit exists against floods).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tether {

class guest_limiter {
public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t default_max_entries = 100000;

  explicit guest_limiter(std::int64_t per_minute, std::size_t max_entries = default_max_entries)
      : per_minute_(per_minute), max_entries_(max_entries) {}

  // Takes one guest for `ip`; false when that address has used its allowance (and nothing is taken).
  bool take(const std::string& ip, clock::time_point now = clock::now());
  // Seconds until `ip` may create a guest again (for Retry-After); 0 when it may now.
  std::int64_t retry_after_s(const std::string& ip, clock::time_point now = clock::now());
  std::size_t entries();

private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };
  double refilled(const bucket& b, clock::time_point now) const;
  void prune(clock::time_point now);

  std::int64_t per_minute_;
  std::size_t max_entries_;
  std::mutex mutex_;  // HTTP handlers run on every I/O thread; one short critical section per request
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace tether
