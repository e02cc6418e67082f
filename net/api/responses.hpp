#pragma once
// How the HTTP API answers: JSON bodies, the error object of PROTOCOL.md §5, pages and files from
// disk. Every route answers through a `respond_fn`, from whichever thread its answer is ready on.
#include "net/handshake.hpp"

#include <boost/beast/http.hpp>
#include <caf/error.hpp>

#include <functional>
#include <optional>
#include <string>

namespace tether {

using respond_fn = std::function<void(boost::beast::http::message_generator)>;

http_response json_response(unsigned version, boost::beast::http::status status, std::string body);
http_response error_response(unsigned version, boost::beast::http::status status, const char* code,
                             const std::string& message, const std::string& field = {});
// A page; for HEAD the headers alone, with the page's Content-Length.
http_response html_response(unsigned version, std::string page, bool head);
// A file from disk as the answer to GET, or its headers alone for HEAD. Nullopt when it can't be
// opened.
std::optional<boost::beast::http::message_generator> file_response(const std::string& path, const char* content_type,
                                                                   bool head, unsigned version);

void answer(const respond_fn& respond, http_response res);
void answer_error(const respond_fn& respond, unsigned version, boost::beast::http::status s, const char* code,
                  const std::string& message, const std::string& field = {});
// 500: an actor the route asked did not answer.
void internal_error(const respond_fn& respond, unsigned version, const caf::error& e);

}  // namespace tether
