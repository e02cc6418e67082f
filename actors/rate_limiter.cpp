#include "actors/rate_limiter.hpp"

#include "actors/live_counts.hpp"

#include <algorithm>

namespace tether {

namespace {
constexpr auto abuse_window = std::chrono::seconds(2);
}

rate_limiter::rate_limiter(std::int64_t rate, std::int64_t burst, time_point now)
    : rate_(static_cast<double>(rate)), burst_(static_cast<double>(burst)), tokens_(burst_), last_(now),
      window_start_(now) {
  ++live().rate_limiters;
}

rate_limiter::rate_limiter(const rate_limiter& other)
    : rate_(other.rate_), burst_(other.burst_), tokens_(other.tokens_), last_(other.last_),
      window_start_(other.window_start_), refusals_(other.refusals_) {
  ++live().rate_limiters;
}

rate_limiter::~rate_limiter() { --live().rate_limiters; }

rate_limiter::verdict rate_limiter::take(time_point now) {
  if (now > last_) {
    std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return verdict::allowed;
  }
  if (now - window_start_ >= abuse_window) {
    window_start_ = now;
    refusals_ = 0;
  }
  ++refusals_;
  return refusals_ > 2 * static_cast<std::int64_t>(burst_ + rate_) ? verdict::abuse : verdict::refused;
}

}  // namespace tether
