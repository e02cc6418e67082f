#include "proto/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono;
namespace jwt = tether::jwt;

namespace {

const std::string secret = "test-secret-0123456789";
const system_clock::time_point now{seconds(1767268800)};  // 2026-01-01T12:00:00Z
const std::int64_t now_s = 1767268800;

std::string b64url(std::string_view in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(alphabet[(v >> s) & 63]);
  }
  std::size_t rest = in.size() - i;
  if (rest > 0) {
    unsigned v = (unsigned char)in[i] << 16 | (rest == 2 ? (unsigned char)in[i + 1] << 8 : 0);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// A token assembled by hand, independent of libjwt, so alg and claims can be anything.
std::string hand_token(std::string_view header, std::string_view body, const EVP_MD* md,
                       std::string_view key = secret) {
  std::string input = b64url(header) + "." + b64url(body);
  return input + "." + (md ? b64url(hmac(md, key, input)) : "");
}

std::string hs256(std::string_view body) {
  return hand_token(R"({"alg":"HS256","typ":"JWT"})", body, EVP_sha256());
}

std::string exp_in(std::int64_t delta) { return std::to_string(now_s + delta); }

jwt::verify_result check(const std::string& token, bool allow_no_exp = false) {
  return jwt::verify(token, secret, allow_no_exp, now);
}

}  // namespace

TEST(Jwt, SignAndVerifyRoundTrip) {
  jwt::claims c;
  c.sub = "alice@example.com";
  c.exp = now_s + 3600;
  c.name = "Alice \"A\" Ünal";
  c.guest = true;
  auto r = check(jwt::sign(c, secret));
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.ok->sub, "alice@example.com");
  EXPECT_EQ(r.ok->exp, now_s + 3600);
  EXPECT_EQ(r.ok->name, "Alice \"A\" Ünal");
  EXPECT_TRUE(r.ok->guest);
}

TEST(Jwt, OptionalClaimsDefault) {
  auto r = check(hs256(R"({"sub":"bob","exp":)" + exp_in(60) + "}"));
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.ok->name, "");
  EXPECT_FALSE(r.ok->guest);
}

TEST(Jwt, HandMadeHs256Verifies) {
  auto r = check(hs256(R"({"sub":"u-1_x.y","exp":)" + exp_in(1) + R"(,"name":"N","guest":false})"));
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.ok->sub, "u-1_x.y");
  EXPECT_EQ(r.ok->name, "N");
  EXPECT_FALSE(r.ok->guest);
}

TEST(Jwt, ExpiredWhenExpIsNowOrEarlier) {
  EXPECT_EQ(check(hs256(R"({"sub":"a","exp":)" + exp_in(0) + "}")).why, "expired");
  EXPECT_EQ(check(hs256(R"({"sub":"a","exp":)" + exp_in(-100) + "}")).why, "expired");
  EXPECT_EQ(check(hs256(R"({"sub":"a","exp":1})")).why, "expired");
  EXPECT_TRUE(check(hs256(R"({"sub":"a","exp":)" + exp_in(1) + "}")).ok);
  // Still expired when exp is optional: a present exp is always enforced.
  EXPECT_EQ(check(hs256(R"({"sub":"a","exp":)" + exp_in(0) + "}"), true).why, "expired");
}

TEST(Jwt, ExpMustBeAnInteger) {
  EXPECT_EQ(check(hs256(R"({"sub":"a","exp":1.5e12})")).why, "malformed");
  EXPECT_EQ(check(hs256(R"({"sub":"a","exp":")" + exp_in(60) + "\"}")).why, "malformed");
  EXPECT_EQ(check(hs256(R"({"sub":"a","exp":null})"), true).why, "malformed");
}

TEST(Jwt, MissingExp) {
  std::string token = hs256(R"({"sub":"a"})");
  EXPECT_EQ(check(token).why, "missing exp");
  EXPECT_FALSE(check(token).ok);
  auto r = check(token, true);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_FALSE(r.ok->exp.has_value());
}

TEST(Jwt, BadSignature) {
  jwt::claims c;
  c.sub = "alice";
  c.exp = now_s + 60;
  std::string token = jwt::sign(c, "another-secret");
  EXPECT_EQ(check(token).why, "bad signature");

  // A changed body under the original signature.
  std::string good = jwt::sign(c, secret);
  std::string forged = good.substr(0, good.find('.')) + "." +
                       b64url(R"({"exp":)" + exp_in(60) + R"(,"sub":"mallory"})") +
                       good.substr(good.rfind('.'));
  EXPECT_EQ(check(forged).why, "bad signature");

  std::string no_sig = good.substr(0, good.rfind('.') + 1);
  EXPECT_EQ(check(no_sig).why, "bad signature");
}

TEST(Jwt, WrongAlgHs512) {
  std::string body = R"({"sub":"a","exp":)" + exp_in(60) + "}";
  std::string token = hand_token(R"({"alg":"HS512","typ":"JWT"})", body, EVP_sha512());
  EXPECT_EQ(check(token).why, "wrong alg");
  token = hand_token(R"({"alg":"HS384","typ":"JWT"})", body, EVP_sha384());
  EXPECT_EQ(check(token).why, "wrong alg");
}

TEST(Jwt, WrongAlgNone) {
  std::string body = R"({"sub":"a","exp":)" + exp_in(60) + "}";
  EXPECT_EQ(check(hand_token(R"({"alg":"none"})", body, nullptr)).why, "wrong alg");
  EXPECT_EQ(check(hand_token(R"({"alg":"none","typ":"JWT"})", body, EVP_sha256())).why, "wrong alg");
  // No alg at all: libjwt refuses to parse the header.
  EXPECT_EQ(check(hand_token(R"({"typ":"JWT"})", body, EVP_sha256())).why, "malformed");
}

TEST(Jwt, MissingSub) {
  EXPECT_EQ(check(hs256(R"({"exp":)" + exp_in(60) + "}")).why, "missing sub");
}

TEST(Jwt, InvalidSub) {
  for (const std::string& sub : std::vector<std::string>{"\"\"", "\"dm:a:b\"", "\"a b\"", "\"a/b\"", "\"é\"", "42", "true",
                          "\"" + std::string(129, 'x') + "\""}) {
    auto r = check(hs256(R"({"sub":)" + sub + R"(,"exp":)" + exp_in(60) + "}"));
    EXPECT_EQ(r.why, "invalid sub") << sub;
    EXPECT_FALSE(r.ok) << sub;
  }
  EXPECT_TRUE(check(hs256(R"({"sub":")" + std::string(128, 'x') + R"(","exp":)" + exp_in(60) + "}")).ok);
}

TEST(Jwt, EmbeddedNulInSubIsRefused) {
  EXPECT_FALSE(check(hs256(R"({"sub":"alice\u0000evil","exp":)" + exp_in(60) + "}")).ok);
}

TEST(Jwt, WrongTypedOptionalClaimsAreIgnored) {
  auto r = check(hs256(R"({"sub":"a","exp":)" + exp_in(60) + R"(,"name":7,"guest":"true"})"));
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.ok->name, "");
  EXPECT_FALSE(r.ok->guest);
}

TEST(Jwt, Malformed) {
  for (const std::string& token : std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "..", "a..c", ".b.c", "a b.c.d",
                            "eyJhbGciOiJIUzI1NiJ9.e30=.x"}) {
    EXPECT_EQ(check(token).why, "malformed") << token;
  }
  // Well-shaped but the header or body is not JSON.
  EXPECT_EQ(check(b64url("not json") + "." + b64url("{}") + ".c2ln").why, "malformed");
  std::string bad_body = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url("{nope");
  EXPECT_EQ(check(bad_body + "." + b64url(hmac(EVP_sha256(), secret, bad_body))).why, "malformed");
}

TEST(Jwt, EmptySecretRefusesEverything) {
  std::string token = hand_token(R"({"alg":"HS256","typ":"JWT"})", R"({"sub":"a","exp":)" + exp_in(60) + "}",
                                 EVP_sha256(), "");
  auto r = jwt::verify(token, "", false, now);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.why.empty());
  jwt::claims c;
  c.sub = "a";
  EXPECT_THROW(jwt::sign(c, ""), std::invalid_argument);
}

TEST(Jwt, SignRefusesAnInvalidUserId) {
  jwt::claims c;
  c.sub = "dm:a:b";
  EXPECT_THROW(jwt::sign(c, secret), std::invalid_argument);
}

TEST(Jwt, SignWithoutExp) {
  jwt::claims c;
  c.sub = "carol";
  std::string token = jwt::sign(c, secret);
  EXPECT_EQ(check(token).why, "missing exp");
  auto r = check(token, true);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.ok->sub, "carol");
  EXPECT_FALSE(r.ok->guest);
}
