#pragma once
// HMAC-SHA256 as lowercase hex: the X-Tether-Signature of a webhook body (PROTOCOL.md §9).
#include <string>
#include <string_view>

namespace tether {
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
}
