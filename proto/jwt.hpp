#pragma once
// HS256 JSON Web Tokens (PROTOCOL.md §3) with Debian's libjwt. Only HS256 is accepted.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tether::jwt {

struct claims {
  std::string sub;                   // user id, required
  std::optional<std::int64_t> exp;   // seconds since the epoch
  std::string name;                  // display name, may be empty
  bool guest = false;
};

struct verify_result {
  std::optional<claims> ok;  // set when the token is valid
  std::string why;           // otherwise, a short reason ("expired", "bad signature", ...)
};

// Verifies signature (HS256 only: "none" and every other alg are refused), `sub` (present and a
// valid user id), and `exp` (required unless allow_no_exp; expired when exp <= now).
verify_result verify(std::string_view token, const std::string& secret, bool allow_no_exp,
                     std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Signs claims with HS256.
std::string sign(const claims& c, const std::string& secret);

}  // namespace tether::jwt
