#include "net/api/request.hpp"

#include <openssl/crypto.h>

namespace http = boost::beast::http;

namespace tether {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(boost::beast::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

namespace {

// Constant time, so that the time of a refusal does not tell how much of the key was right.
bool equal_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string path_of(boost::beast::string_view target) {
  auto q = target.find('?');
  return std::string(target.substr(0, q));
}

std::optional<std::string> query_param(boost::beast::string_view target, const std::string& name) {
  auto q = target.find('?');
  if (q == boost::beast::string_view::npos) return std::nullopt;
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == boost::beast::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    if (amp == boost::beast::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return std::nullopt;
}

std::string bearer_token(const http::fields& headers) {
  auto value = headers[http::field::authorization];
  if (value.size() > 7 && (value.substr(0, 7) == "Bearer " || value.substr(0, 7) == "bearer "))
    return std::string(value.substr(7));
  return {};
}

std::optional<jwt::claims> authenticate_user(const server_context& ctx, const std::string& token) {
  if (token.empty()) return std::nullopt;
  auto r = jwt::verify(token, ctx.cfg->auth.jwt_secret, ctx.cfg->auth.allow_no_exp);
  return r.ok;
}

bool require_api_key(const server_context& ctx, const http_request& req, const respond_fn& respond) {
  if (equal_secret(bearer_token(req), ctx.cfg->api.key)) return true;
  answer_error(respond, req.version(), http::status::unauthorized, "unauthorized", "an api key is required (Bearer)");
  return false;
}

}  // namespace tether
