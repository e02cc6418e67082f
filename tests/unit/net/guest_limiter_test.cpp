// limits.guests_per_ip_per_minute (PROTOCOL.md §6, §11): a token bucket per client address, with
// a bounded table.
#include "net/guest_limiter.hpp"

#include <gtest/gtest.h>

namespace tether {
namespace {

using namespace std::chrono_literals;
const auto t0 = guest_limiter::clock::time_point{} + 1000h;

TEST(GuestLimiter, AnAddressGetsItsAllowanceThenWaits) {
  guest_limiter limits(10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limits.take("1.2.3.4", t0)) << i;
  EXPECT_FALSE(limits.take("1.2.3.4", t0));
  EXPECT_EQ(limits.retry_after_s("1.2.3.4", t0), 6);  // one guest per 6 s at 10 a minute
  EXPECT_TRUE(limits.take("5.6.7.8", t0));             // another address is not held up
  EXPECT_FALSE(limits.take("1.2.3.4", t0 + 5s));
  EXPECT_TRUE(limits.take("1.2.3.4", t0 + 6s));
  EXPECT_FALSE(limits.take("1.2.3.4", t0 + 6s));
}

TEST(GuestLimiter, ARefusalTakesNothing) {
  guest_limiter limits(1);
  EXPECT_TRUE(limits.take("a", t0));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limits.take("a", t0 + 30s));
  EXPECT_TRUE(limits.take("a", t0 + 60s));
}

TEST(GuestLimiter, TheTableForgetsRefilledAddressesAndRefusesNewOnesWhenFull) {
  guest_limiter limits(2, /*max_entries=*/3);
  EXPECT_TRUE(limits.take("a", t0));
  EXPECT_TRUE(limits.take("b", t0));
  EXPECT_TRUE(limits.take("c", t0));
  EXPECT_FALSE(limits.take("d", t0 + 1s));  // full of addresses mid-minute: fail closed
  EXPECT_TRUE(limits.take("a", t0 + 1s));   // known addresses go on
  EXPECT_TRUE(limits.take("d", t0 + 61s));  // a, b, c refilled: forgotten, room again
  EXPECT_EQ(limits.entries(), 1u);
}

}  // namespace
}  // namespace tether
