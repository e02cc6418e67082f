#pragma once
// Per-session message rate limit (PROTOCOL.md §8, §11): a token bucket of `burst` tokens refilled
// at `rate` per second. A refused message gets `rate_limited`; more than 2 × (burst + rate)
// refusals within a 2-second window is abuse (close 4029).
#include <chrono>
#include <cstdint>

namespace tether {

class rate_limiter {
public:
  using time_point = std::chrono::steady_clock::time_point;
  enum class verdict { allowed, refused, abuse };

  rate_limiter(std::int64_t rate, std::int64_t burst, time_point now);
  // Counted in live().rate_limiters: one per session, gone with it.
  rate_limiter(const rate_limiter& other);
  rate_limiter& operator=(const rate_limiter& other) = default;
  ~rate_limiter();
  verdict take(time_point now);

private:
  double rate_;
  double burst_;
  double tokens_;
  time_point last_;
  time_point window_start_;   // the 2 s window refusals are counted in
  std::int64_t refusals_ = 0;
};

}  // namespace tether
