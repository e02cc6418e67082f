// libFuzzer target: tether::valid_utf8 against a plain decoder written from RFC 3629.
//
// The reference decodes one code point at a time (no tables, no word-at-a-time ASCII skipping)
// and refuses overlongs, surrogates, values above U+10FFFF and truncated sequences. Both are run
// on the input and on every suffix of its first 16 bytes, so the 8-byte ASCII fast path of
// valid_utf8 is entered at each alignment, and on a few prefixes that cut the input short.
#include "fuzz/fuzz_check.hpp"
#include "proto/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

bool reference_utf8(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char b = p[i];
    std::uint32_t cp;
    std::size_t len;
    if (b < 0x80) { ++i; continue; }
    if ((b & 0xe0) == 0xc0) len = 2, cp = b & 0x1f;
    else if ((b & 0xf0) == 0xe0) len = 3, cp = b & 0x0f;
    else if ((b & 0xf8) == 0xf0) len = 4, cp = b & 0x07;
    else return false;  // a continuation byte, or F8..FF
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    static const std::uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len]) return false;         // overlong
    if (cp >= 0xd800 && cp <= 0xdfff) return false;  // surrogate
    if (cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

void compare(std::string_view s) {
  bool got = tether::valid_utf8(s), want = reference_utf8(s);
  if (got != want) {
    std::fprintf(stderr, "valid_utf8=%d reference=%d on %zu bytes:", got, want, s.size());
    for (std::size_t i = 0; i < s.size() && i < 64; ++i)
      std::fprintf(stderr, " %02x", static_cast<unsigned char>(s[i]));
    std::fprintf(stderr, "\n");
    FUZZ_CHECK(got == want, "valid_utf8 disagrees with the reference");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  compare(s);
  for (std::size_t k = 1; k < 16 && k < size; ++k) compare(s.substr(k));
  for (std::size_t k = 1; k < 4 && k < size; ++k) compare(s.substr(0, size - k));
  return 0;
}
