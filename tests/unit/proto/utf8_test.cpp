#include "proto/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

using tether::valid_utf8;

namespace {
std::string bytes(std::initializer_list<unsigned char> b) { return std::string(b.begin(), b.end()); }
}  // namespace

TEST(Utf8, AsciiAndEmpty) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("hello, world"));
  EXPECT_TRUE(valid_utf8(std::string("a\0b", 3)));  // NUL is a valid code point
  EXPECT_TRUE(valid_utf8(std::string(1000, 'x')));
}

TEST(Utf8, ValidMultiByteBoundaries) {
  EXPECT_TRUE(valid_utf8(bytes({0xc2, 0x80})));              // U+0080
  EXPECT_TRUE(valid_utf8(bytes({0xdf, 0xbf})));              // U+07FF
  EXPECT_TRUE(valid_utf8(bytes({0xe0, 0xa0, 0x80})));        // U+0800
  EXPECT_TRUE(valid_utf8(bytes({0xed, 0x9f, 0xbf})));        // U+D7FF, just below surrogates
  EXPECT_TRUE(valid_utf8(bytes({0xee, 0x80, 0x80})));        // U+E000, just above
  EXPECT_TRUE(valid_utf8(bytes({0xef, 0xbf, 0xbf})));        // U+FFFF
  EXPECT_TRUE(valid_utf8(bytes({0xf0, 0x90, 0x80, 0x80})));  // U+10000
  EXPECT_TRUE(valid_utf8(bytes({0xf0, 0x9f, 0x98, 0x80})));  // U+1F600, an emoji
  EXPECT_TRUE(valid_utf8(bytes({0xf4, 0x8f, 0xbf, 0xbf})));  // U+10FFFF
  EXPECT_TRUE(valid_utf8("κόσμε — ü ✓ 😀"));
}

TEST(Utf8, Overlongs) {
  EXPECT_FALSE(valid_utf8(bytes({0xc0, 0x80})));
  EXPECT_FALSE(valid_utf8(bytes({0xc1, 0xbf})));
  EXPECT_FALSE(valid_utf8(bytes({0xe0, 0x80, 0x80})));
  EXPECT_FALSE(valid_utf8(bytes({0xe0, 0x9f, 0xbf})));
  EXPECT_FALSE(valid_utf8(bytes({0xf0, 0x80, 0x80, 0x80})));
  EXPECT_FALSE(valid_utf8(bytes({0xf0, 0x8f, 0xbf, 0xbf})));
}

TEST(Utf8, Surrogates) {
  EXPECT_FALSE(valid_utf8(bytes({0xed, 0xa0, 0x80})));  // U+D800
  EXPECT_FALSE(valid_utf8(bytes({0xed, 0xbf, 0xbf})));  // U+DFFF
  EXPECT_FALSE(valid_utf8(bytes({0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80})));  // a CESU-8 pair
}

TEST(Utf8, AboveMaxCodePoint) {
  EXPECT_FALSE(valid_utf8(bytes({0xf4, 0x90, 0x80, 0x80})));  // U+110000
  for (unsigned lead = 0xf5; lead <= 0xff; ++lead)
    EXPECT_FALSE(valid_utf8(bytes({static_cast<unsigned char>(lead), 0x80, 0x80, 0x80}))) << lead;
}

TEST(Utf8, Truncated) {
  EXPECT_FALSE(valid_utf8(bytes({0xc3})));
  EXPECT_FALSE(valid_utf8(bytes({0xe2, 0x82})));
  EXPECT_FALSE(valid_utf8(bytes({0xf0, 0x9f, 0x98})));
  EXPECT_FALSE(valid_utf8("abc" + bytes({0xf0, 0x9f})));
  EXPECT_FALSE(valid_utf8(bytes({0xe2, 0x82, 0x41})));  // continuation replaced by ASCII
}

TEST(Utf8, StrayContinuationBytes) {
  EXPECT_FALSE(valid_utf8(bytes({0x80})));
  EXPECT_FALSE(valid_utf8(bytes({0xbf})));
  EXPECT_FALSE(valid_utf8(bytes({0xc3, 0xa9, 0xa9})));
}

// Exercises the eight-byte ASCII path: a bad or multi-byte sequence at every offset.
TEST(Utf8, EveryOffsetAroundTheFastPath) {
  for (std::size_t at = 0; at < 24; ++at) {
    std::string good = std::string(at, 'a') + bytes({0xe2, 0x82, 0xac}) + std::string(17, 'b');
    EXPECT_TRUE(valid_utf8(good)) << at;
    std::string bad = std::string(at, 'a') + bytes({0xff}) + std::string(17, 'b');
    EXPECT_FALSE(valid_utf8(bad)) << at;
    std::string cut = std::string(at, 'a') + bytes({0xe2, 0x82});
    EXPECT_FALSE(valid_utf8(cut)) << at;
  }
}
