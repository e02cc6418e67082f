#include "proto/jwt.hpp"

#include <jwt.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

namespace tether::jwt {

namespace {

struct jwt_deleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

struct malloc_deleter {
  void operator()(char* p) const { std::free(p); }
};
using c_string = std::unique_ptr<char, malloc_deleter>;

verify_result refuse(const char* why) { return {std::nullopt, why}; }

// PROTOCOL.md §11: 1-128 bytes of [A-Za-z0-9_.@-]; no ':' so "dm:{a}:{b}" splits one way.
bool valid_user_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '@' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_base64url(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '_';
}

// Three base64url segments (the signature may be empty, as in alg "none"); libjwt is lenient
// about stray characters, so shape is checked here first.
bool well_formed(std::string_view token) {
  std::size_t dots = 0;
  for (char ch : token) {
    if (ch == '.') ++dots;
    else if (!is_base64url(ch)) return false;
  }
  std::size_t first = token.find('.');
  std::size_t second = token.find('.', first + 1);
  return dots == 2 && first > 0 && second > first + 1;
}

// With a null key libjwt skips the signature check (and forgets the alg), so that form is
// only used to read the header. An empty key would be treated the same way: callers never pass one.
jwt_ptr decode(const std::string& token, const std::string* key) {
  jwt_t* raw = nullptr;
  auto key_bytes = key ? reinterpret_cast<const unsigned char*>(key->data()) : nullptr;
  int key_len = key ? static_cast<int>(key->size()) : 0;
  if (jwt_decode(&raw, token.c_str(), key_bytes, key_len) != 0) return nullptr;
  return jwt_ptr(raw);
}

bool has_grant(jwt_t* j, const char* name) { return c_string(jwt_get_grants_json(j, name)) != nullptr; }

// libjwt reads a non-integer (1.5, "7") as 0 without an error, so the JSON text is parsed instead.
std::optional<std::int64_t> integer_grant(jwt_t* j, const char* name) {
  c_string text(jwt_get_grants_json(j, name));
  if (!text) return std::nullopt;
  const char* begin = text.get();
  const char* end = begin + std::strlen(begin);
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// libjwt 1.10 does not look at exp at all: it is checked here.
const char* check_exp(jwt_t* j, bool allow_no_exp, std::chrono::system_clock::time_point now,
                      claims& c) {
  if (!has_grant(j, "exp")) return allow_no_exp ? nullptr : "missing exp";
  c.exp = integer_grant(j, "exp");
  if (!c.exp) return "malformed";
  auto now_s = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  return *c.exp <= now_s ? "expired" : nullptr;
}

const char* check_sub(jwt_t* j, claims& c) {
  const char* sub = jwt_get_grant(j, "sub");
  if (!sub) return has_grant(j, "sub") ? "invalid sub" : "missing sub";
  if (!valid_user_id(sub)) return "invalid sub";
  c.sub = sub;
  return nullptr;
}

// Optional claims of the wrong type are ignored rather than refusing the token.
void read_optional(jwt_t* j, claims& c) {
  if (const char* name = jwt_get_grant(j, "name")) c.name = name;
  c.guest = jwt_get_grant_bool(j, "guest") == 1;
}

verify_result read_claims(jwt_t* j, bool allow_no_exp, std::chrono::system_clock::time_point now) {
  claims c;
  if (const char* why = check_exp(j, allow_no_exp, now, c)) return refuse(why);
  if (const char* why = check_sub(j, c)) return refuse(why);
  read_optional(j, c);
  return {std::move(c), {}};
}

}  // namespace

verify_result verify(std::string_view token, const std::string& secret, bool allow_no_exp,
                     std::chrono::system_clock::time_point now) {
  // libjwt treats an empty key as "no key" and would accept any signature.
  if (secret.empty()) return refuse("no secret");
  std::string tok(token);
  if (!well_formed(tok)) return refuse("malformed");
  // Read the header alg first, so "none" or HS512 is reported as such and never verified.
  jwt_ptr unverified = decode(tok, nullptr);
  if (!unverified) return refuse("malformed");
  const char* alg = jwt_get_header(unverified.get(), "alg");
  if (!alg || std::strcmp(alg, "HS256") != 0) return refuse("wrong alg");
  jwt_ptr j = decode(tok, &secret);
  if (!j) return refuse("bad signature");
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256) return refuse("wrong alg");
  return read_claims(j.get(), allow_no_exp, now);
}

std::string sign(const claims& c, const std::string& secret) {
  // Refused up front: such a token could never be verified.
  if (secret.empty()) throw std::invalid_argument("jwt::sign: empty secret");
  if (!valid_user_id(c.sub)) throw std::invalid_argument("jwt::sign: invalid user id");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::bad_alloc();
  jwt_ptr j(raw);
  int rc = jwt_add_grant(j.get(), "sub", c.sub.c_str());
  if (rc == 0 && c.exp) rc = jwt_add_grant_int(j.get(), "exp", static_cast<long>(*c.exp));
  if (rc == 0 && !c.name.empty()) rc = jwt_add_grant(j.get(), "name", c.name.c_str());
  if (rc == 0 && c.guest) rc = jwt_add_grant_bool(j.get(), "guest", 1);
  if (rc == 0)
    rc = jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                     static_cast<int>(secret.size()));
  if (rc != 0) throw std::runtime_error("jwt::sign: libjwt refused the claims");
  c_string out(jwt_encode_str(j.get()));
  if (!out) throw std::runtime_error("jwt::sign: encoding failed");
  return out.get();
}

}  // namespace tether::jwt
