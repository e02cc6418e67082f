#include "net/handshake.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <openssl/evp.h>
#include <openssl/sha.h>

namespace http = boost::beast::http;

namespace tether {

std::string websocket_accept_key(const std::string& key) {
  static const std::string guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 §1.3
  std::string input = key + guid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), n);
}

namespace {

http_response refusal(const http_request& req, http::status status, const std::string& why) {
  http_response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"error\":{\"code\":\"invalid_field\",\"message\":\"" + why + "\"}}";
  res.prepare_payload();
  return res;
}

}  // namespace

http_response websocket_handshake_response(const http_request& req) {
  if (req.method() != http::verb::get) return refusal(req, http::status::bad_request, "WebSocket upgrades use GET");
  if (req[http::field::sec_websocket_version] != "13") {
    auto res = refusal(req, http::status::upgrade_required, "Sec-WebSocket-Version must be 13");
    res.set(http::field::sec_websocket_version, "13");
    return res;
  }
  auto key = std::string(req[http::field::sec_websocket_key]);
  // A valid key is the base64 of 16 bytes: 24 characters ending in "==" (RFC 6455 §4.1, fixed).
  if (key.size() != 24 || key.compare(22, 2, "==") != 0)
    return refusal(req, http::status::bad_request, "bad Sec-WebSocket-Key");
  http_response res{http::status::switching_protocols, req.version()};
  res.set(http::field::upgrade, "websocket");
  res.set(http::field::connection, "Upgrade");
  res.set(http::field::sec_websocket_accept, websocket_accept_key(key));
  res.set(http::field::server, "tetherd");
  return res;
}

}  // namespace tether
