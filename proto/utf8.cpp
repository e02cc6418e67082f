#include "proto/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace tether {

namespace {

// Most payloads are JSON and mostly ASCII: test eight bytes per step while that holds.
bool all_ascii8(const unsigned char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return (w & 0x8080808080808080ULL) == 0;
}

// Length of the well-formed sequence at p whose lead byte is >= 0x80, or 0 if ill-formed.
// The narrowed second-byte ranges (Unicode Table 3-7) reject overlongs (E0, F0),
// surrogates (ED) and code points above U+10FFFF (F4); C0, C1 and F5..FF never lead.
std::size_t sequence_length(const unsigned char* p, std::size_t left) {
  unsigned char lead = p[0];
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) len = 2;
  else if (lead == 0xe0) len = 3, lo = 0xa0;
  else if (lead == 0xed) len = 3, hi = 0x9f;
  else if (lead >= 0xe1 && lead <= 0xef) len = 3;
  else if (lead == 0xf0) len = 4, lo = 0x90;
  else if (lead >= 0xf1 && lead <= 0xf3) len = 4;
  else if (lead == 0xf4) len = 4, hi = 0x8f;
  else return 0;
  if (left < len || p[1] < lo || p[1] > hi) return 0;
  for (std::size_t i = 2; i < len; ++i)
    if ((p[i] & 0xc0) != 0x80) return 0;
  return len;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size(), i = 0;
  while (i < n) {
    if (i + 8 <= n && all_ascii8(p + i)) {
      i += 8;
    } else if (p[i] < 0x80) {
      ++i;
    } else {
      std::size_t len = sequence_length(p + i, n - i);
      if (len == 0) return false;
      i += len;
    }
  }
  return true;
}

}  // namespace tether
