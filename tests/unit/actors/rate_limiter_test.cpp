#include "actors/rate_limiter.hpp"

#include <gtest/gtest.h>

using tether::rate_limiter;
using namespace std::chrono_literals;

namespace {
const rate_limiter::time_point t0{};
}

TEST(RateLimiter, BurstPassesThenRefuses) {
  rate_limiter limiter(50, 100, t0);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter.take(t0), rate_limiter::verdict::allowed) << i;
  EXPECT_EQ(limiter.take(t0), rate_limiter::verdict::refused);
}

TEST(RateLimiter, RefillsAtTheRate) {
  rate_limiter limiter(50, 100, t0);
  for (int i = 0; i < 100; ++i) limiter.take(t0);
  // 100 ms at 50/s buys 5 messages, not 6.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.take(t0 + 100ms), rate_limiter::verdict::allowed) << i;
  EXPECT_EQ(limiter.take(t0 + 100ms), rate_limiter::verdict::refused);
}

TEST(RateLimiter, NeverHoldsMoreThanTheBurst) {
  rate_limiter limiter(50, 10, t0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.take(t0 + 1h), rate_limiter::verdict::allowed);
  EXPECT_EQ(limiter.take(t0 + 1h), rate_limiter::verdict::refused);
}

TEST(RateLimiter, SustainedRefusalsAreAbuse) {
  rate_limiter limiter(1, 2, t0);
  limiter.take(t0);
  limiter.take(t0);
  // 2 × (burst + rate) = 6 refusals are tolerated within 2 s; the 7th is abuse.
  for (int i = 0; i < 6; ++i) ASSERT_EQ(limiter.take(t0 + 10ms), rate_limiter::verdict::refused) << i;
  EXPECT_EQ(limiter.take(t0 + 10ms), rate_limiter::verdict::abuse);
}

TEST(RateLimiter, RefusalsSpreadOverWindowsAreNotAbuse) {
  rate_limiter limiter(1, 1, t0);
  limiter.take(t0);
  auto t = t0;
  for (int window = 0; window < 5; ++window) {
    t += 2100ms;
    limiter.take(t);  // the refilled token
    for (int i = 0; i < 4; ++i) ASSERT_EQ(limiter.take(t), rate_limiter::verdict::refused);
  }
}
