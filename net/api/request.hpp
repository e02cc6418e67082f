#pragma once
// What a route reads from a request: its path and query parameters, and who is asking (a user's
// token, or the API key).
#include "net/api/responses.hpp"
#include "net/server_context.hpp"
#include "proto/jwt.hpp"

#include <boost/beast/http.hpp>

#include <optional>
#include <string>

namespace tether {

// Splits "/path?query" and reads one query parameter (percent-decoded).
std::string path_of(boost::beast::string_view target);
// %XX sequences decoded (a path segment, a query value).
std::string percent_decode(boost::beast::string_view s);
std::optional<std::string> query_param(boost::beast::string_view target, const std::string& name);

// The bearer token of the Authorization header, or empty.
std::string bearer_token(const boost::beast::http::fields& headers);
// A user's token, verified; nullopt when missing or invalid.
std::optional<jwt::claims> authenticate_user(const server_context& ctx, const std::string& token);
// True when the request carries the API key; otherwise answers 401 and returns false.
bool require_api_key(const server_context& ctx, const http_request& req, const respond_fn& respond);

}  // namespace tether
