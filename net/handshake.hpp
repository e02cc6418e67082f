#pragma once
// The WebSocket opening handshake (RFC 6455 §4.2). tether writes the data phase itself
// (pre-framed, coalesced writes), so the handshake answer is built here too.
#include <boost/beast/http.hpp>
#include <optional>
#include <string>

namespace tether {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string websocket_accept_key(const std::string& key);

// The 101 answer to a valid upgrade request, or the HTTP error that refuses it
// (400 bad request, 426 unsupported version).
http_response websocket_handshake_response(const http_request& req);

}  // namespace tether
