#pragma once
#include <string_view>

namespace tether {
// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);
}
