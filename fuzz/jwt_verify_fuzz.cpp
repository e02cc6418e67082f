// libFuzzer target: tether::jwt::verify (HS256 over libjwt 1.10) on hostile tokens.
//
// libjwt and jansson are not instrumented, so random bytes would rarely get past the HMAC.
// The first byte picks how the rest of the input becomes a token:
//   mode 0  the rest is the token, as sent
//   mode 1  the rest is "<header JSON>\n<payload JSON>" (no '\n': the default HS256 header and
//           the rest as payload), base64url-encoded and signed with the right secret, so the
//           claim checks (alg, sub, exp, their types, odd JSON) are reached
//   mode 2  as mode 1, signed with a wrong secret: must never verify
//   mode 3  sign() then verify(): the rest is "<sub>\n<name>", the bit 0x04 sets guest
// Every token is verified at a fixed `now` (2026-01-01) with and without allow_no_exp.
// A token that verifies must: be three base64url segments; have a header that parses as JSON
// with "alg":"HS256"; carry a correct HMAC-SHA256 over its first two segments (computed here
// with OpenSSL); have a sub that is a valid user id and equals the payload's "sub" string; when
// exp is required, have an integer exp equal to the payload's and later than now.
#include "fuzz/fuzz_check.hpp"
#include "proto/codec.hpp"
#include "proto/jwt.hpp"
#include "proto/utf8.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace json = boost::json;

namespace {

const std::string kSecret = "secret";
const std::string kWrongSecret = "secreT";
constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
const auto kNowTp = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    std::uint32_t v = b(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    std::uint32_t v = (b(i) << 16) | (b(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

// Strict base64url without padding; false on a bad character or a bad length.
bool unb64url(std::string_view in, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = nullptr;
    for (const char* a = kAlphabet; *a; ++a)
      if (*a == c) { p = a; break; }
    if (!p) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return in.size() % 4 != 1;
}

std::string hmac256(const std::string& key, std::string_view msg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string make_token(std::string_view header, std::string_view payload, const std::string& key) {
  std::string signing = b64url(header) + "." + b64url(payload);
  return signing + "." + b64url(hmac256(key, signing));
}

void check_accepted(const std::string& token, const tether::jwt::claims& c, bool exp_required) {
  std::size_t d1 = token.find('.');
  FUZZ_CHECK(d1 != std::string::npos, "verified token without a dot");
  std::size_t d2 = token.find('.', d1 + 1);
  FUZZ_CHECK(d2 != std::string::npos && token.find('.', d2 + 1) == std::string::npos,
             "verified token without exactly three segments");
  std::string_view t(token);
  std::string header, payload;
  FUZZ_CHECK(unb64url(t.substr(0, d1), header), "verified header is not base64url");
  FUZZ_CHECK(unb64url(t.substr(d1 + 1, d2 - d1 - 1), payload), "verified payload is not base64url");
  FUZZ_CHECK(b64url(hmac256(kSecret, t.substr(0, d2))) == t.substr(d2 + 1),
             "verified with a wrong signature: %s", token.c_str());
  // libjwt hands the decoded segments to jansson as C strings: whatever follows a NUL is
  // ignored (harmless: those bytes are covered by the signature). Read them the same way.
  header.resize(std::strlen(header.c_str()));
  payload.resize(std::strlen(payload.c_str()));

  json::error_code ec;
  json::value h = json::parse(header, ec);
  FUZZ_CHECK(!ec && h.is_object(), "verified header is not a JSON object: %.200s", header.c_str());
  auto alg = h.get_object().find("alg");
  FUZZ_CHECK(alg != h.get_object().end() && alg->value().is_string() &&
                 alg->value().get_string() == "HS256",
             "verified token whose header alg is not HS256: %.200s", header.c_str());

  FUZZ_CHECK(tether::codec::valid_user_id(c.sub), "verified sub \"%.60s\" invalid", c.sub.c_str());
  json::value p = json::parse(payload, ec);
  FUZZ_CHECK(!ec && p.is_object(), "verified payload is not a JSON object: %.200s", payload.c_str());
  auto sub = p.get_object().find("sub");
  FUZZ_CHECK(sub != p.get_object().end() && sub->value().is_string() &&
                 sub->value().get_string() == c.sub,
             "verified sub \"%.60s\" is not the payload's sub: %.200s", c.sub.c_str(),
             payload.c_str());
  if (exp_required) {
    FUZZ_CHECK(c.exp.has_value(), "verified without exp");
    FUZZ_CHECK(*c.exp > kNow, "verified with exp %lld <= now", (long long)*c.exp);
    auto exp = p.get_object().find("exp");
    FUZZ_CHECK(exp != p.get_object().end() && exp->value().is_int64() &&
                   exp->value().get_int64() == *c.exp,
               "verified exp %lld is not the payload's exp: %.200s", (long long)*c.exp,
               payload.c_str());
  }
}

// Verifies with and without allow_no_exp; returns whether the strict form accepted.
bool verify_both(const std::string& token) {
  auto strict = tether::jwt::verify(token, kSecret, false, kNowTp);
  auto lax = tether::jwt::verify(token, kSecret, true, kNowTp);
  if (strict.ok) {
    check_accepted(token, *strict.ok, true);
    FUZZ_CHECK(lax.ok, "accepted when exp is required, refused when it is not (%s)", lax.why.c_str());
    FUZZ_CHECK(lax.ok->sub == strict.ok->sub && lax.ok->exp == strict.ok->exp &&
                   lax.ok->name == strict.ok->name && lax.ok->guest == strict.ok->guest,
               "claims differ between the two modes");
  } else {
    FUZZ_CHECK(!strict.why.empty(), "refused without a reason");
  }
  if (lax.ok) check_accepted(token, *lax.ok, false);
  else FUZZ_CHECK(!lax.why.empty(), "refused without a reason");
  return strict.ok.has_value() || lax.ok.has_value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  unsigned mode = data[0] & 3;
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);

  if (mode == 0) {
    verify_both(rest);
    return 0;
  }

  if (mode == 1 || mode == 2) {
    std::string header = R"({"alg":"HS256","typ":"JWT"})", payload = rest;
    if (std::size_t nl = rest.find('\n'); nl != std::string::npos) {
      header = rest.substr(0, nl);
      payload = rest.substr(nl + 1);
    }
    std::string token = make_token(header, payload, mode == 1 ? kSecret : kWrongSecret);
    bool ok = verify_both(token);
    if (mode == 2) FUZZ_CHECK(!ok, "accepted a token signed with another secret: %s", token.c_str());
    return 0;
  }

  // mode 3: sign() then verify().
  tether::jwt::claims c;
  std::size_t nl = rest.find('\n');
  c.sub = rest.substr(0, nl);
  if (nl != std::string::npos) c.name = rest.substr(nl + 1);
  if (std::size_t nul = c.name.find('\0'); nul != std::string::npos) c.name.resize(nul);
  c.guest = data[0] & 4;
  c.exp = kNow + 3600;
  std::string token;
  try {
    token = tether::jwt::sign(c, kSecret);
  } catch (const std::invalid_argument&) {
    FUZZ_CHECK(!tether::codec::valid_user_id(c.sub), "sign() refused a valid sub \"%.60s\"",
               c.sub.c_str());
    return 0;
  } catch (const std::runtime_error& e) {
    FUZZ_CHECK(!tether::valid_utf8(c.name), "sign() failed (%s) on a valid UTF-8 name", e.what());
    return 0;
  }
  auto r = tether::jwt::verify(token, kSecret, false, kNowTp);
  FUZZ_CHECK(r.ok, "a token from sign() is refused (%s): %s", r.why.c_str(), token.c_str());
  check_accepted(token, *r.ok, true);
  FUZZ_CHECK(r.ok->sub == c.sub && r.ok->exp == c.exp && r.ok->name == c.name &&
                 r.ok->guest == c.guest,
             "claims did not round-trip through sign/verify");
  return 0;
}
