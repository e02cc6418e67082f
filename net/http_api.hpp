#pragma once
// The HTTP API of PROTOCOL.md §5 and §9 (files, audit, admin, health, metrics). Handlers never
// block the I/O thread: they ask actors and answer through `respond`, from any thread.
#include "net/handshake.hpp"
#include "proto/jwt.hpp"
#include "net/server_context.hpp"

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <optional>

namespace tether {

using respond_fn = std::function<void(boost::beast::http::message_generator)>;

void handle_api(const std::shared_ptr<server_context>& ctx, http_request&& req, respond_fn respond);

// Building blocks shared with the upload and upgrade paths.
http_response json_response(unsigned version, boost::beast::http::status status, std::string body);
http_response error_response(unsigned version, boost::beast::http::status status, const char* code,
                             const std::string& message, const std::string& field = {});
// The bearer token of the Authorization header, or empty.
std::string bearer_token(const boost::beast::http::fields& headers);
// A user's token, verified; nullopt when missing or invalid.
std::optional<jwt::claims> authenticate_user(const server_context& ctx, const std::string& token);

// An audit record as the API and `tetherd audit` print it.
boost::json::object audit_json(const audit_record& r);

// Splits "/path?query" and reads one query parameter (percent-decoded).
std::string path_of(boost::beast::string_view target);
std::optional<std::string> query_param(boost::beast::string_view target, const std::string& name);

}  // namespace tether
