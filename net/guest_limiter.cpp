#include "net/guest_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace tether {

namespace {
constexpr double minute_s = 60.0;
}

double guest_limiter::refilled(const bucket& b, clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.at).count();
  return std::min<double>(static_cast<double>(per_minute_), b.tokens + elapsed * per_minute_ / minute_s);
}

void guest_limiter::prune(clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refilled(it->second, now) >= static_cast<double>(per_minute_))
      it = buckets_.erase(it);
    else
      ++it;
  }
}

bool guest_limiter::take(const std::string& ip, clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = buckets_.find(ip);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_entries_) prune(now);
    if (buckets_.size() >= max_entries_ || per_minute_ <= 0) return false;
    it = buckets_.emplace(ip, bucket{static_cast<double>(per_minute_), now}).first;
  }
  auto& b = it->second;
  b.tokens = refilled(b, now);
  b.at = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

std::int64_t guest_limiter::retry_after_s(const std::string& ip, clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = buckets_.find(ip);
  if (it == buckets_.end() || per_minute_ <= 0) return 0;
  double missing = 1.0 - refilled(it->second, now);
  if (missing <= 0) return 0;
  return static_cast<std::int64_t>(std::ceil(missing * minute_s / per_minute_));
}

std::size_t guest_limiter::entries() {
  std::lock_guard<std::mutex> lock(mutex_);
  return buckets_.size();
}

}  // namespace tether
