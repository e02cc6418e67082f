#include "proto/clock.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <regex>

using namespace std::chrono;

TEST(Clock, Epoch) { EXPECT_EQ(tether::iso8601_from_ms(0), "1970-01-01T00:00:00.000Z"); }

TEST(Clock, KnownInstants) {
  EXPECT_EQ(tether::iso8601_from_ms(1767268800000), "2026-01-01T12:00:00.000Z");
  EXPECT_EQ(tether::iso8601_from_ms(1767268800123), "2026-01-01T12:00:00.123Z");
  EXPECT_EQ(tether::iso8601_from_ms(1709164800007), "2024-02-29T00:00:00.007Z");  // leap day
  EXPECT_EQ(tether::iso8601_from_ms(1767225599999), "2025-12-31T23:59:59.999Z");
}

TEST(Clock, BeforeEpochKeepsPositiveMillis) {
  EXPECT_EQ(tether::iso8601_from_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(tether::iso8601_from_ms(-1000), "1969-12-31T23:59:59.000Z");
}

TEST(Clock, OutOfRangeIsClamped) {
  EXPECT_EQ(tether::iso8601_from_ms(INT64_MAX), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(tether::iso8601_from_ms(INT64_MIN), "0000-01-01T00:00:00.000Z");
}

TEST(Clock, TimePointTruncatesToMillis) {
  system_clock::time_point t{milliseconds(1767268800123) + microseconds(999)};
  EXPECT_EQ(tether::unix_ms(t), 1767268800123);
  EXPECT_EQ(tether::iso8601(t), "2026-01-01T12:00:00.123Z");
  system_clock::time_point before{microseconds(-1)};
  EXPECT_EQ(tether::unix_ms(before), -1);  // floor, not truncation toward zero
}

TEST(Clock, NowIsWellFormedAndCurrent) {
  std::int64_t before = tether::unix_ms();
  std::string s = tether::iso8601_now();
  std::int64_t after = tether::unix_ms();
  EXPECT_TRUE(std::regex_match(s, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)"))) << s;
  EXPECT_LE(tether::iso8601_from_ms(before), s);  // same-length ISO strings sort by time
  EXPECT_GE(tether::iso8601_from_ms(after), s);
}

TEST(Clock, IndependentOfLocale) {
  std::string reference = tether::iso8601_from_ms(1767268800123);
  for (const char* name : {"de_DE.UTF-8", "fr_FR.UTF-8", "ar_EG.UTF-8", "C.UTF-8"}) {
    if (!std::setlocale(LC_ALL, name)) continue;
    EXPECT_EQ(tether::iso8601_from_ms(1767268800123), reference) << name;
  }
  std::setlocale(LC_ALL, "C");
}
