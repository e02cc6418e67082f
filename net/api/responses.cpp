#include "net/api/responses.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

using http::status;

http_response json_response(unsigned version, status s, std::string body) {
  http_response res{s, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response error_response(unsigned version, status s, const char* code, const std::string& message,
                             const std::string& field) {
  json::object err{{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return json_response(version, s, json::serialize(json::object{{"error", err}}));
}

http_response html_response(unsigned version, std::string page, bool head) {
  http_response res{status::ok, version};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  res.body() = std::move(page);
  res.prepare_payload();
  if (head) res.body().clear();  // the headers keep the page's Content-Length
  return res;
}

// Beast's serializer knows nothing of HEAD: its answer is an empty body with the file's
// Content-Length.
std::optional<http::message_generator> file_response(const std::string& path, const char* content_type,
                                                     bool head, unsigned version) {
  http::file_body::value_type body;
  boost::system::error_code ec;
  body.open(path.c_str(), boost::beast::file_mode::scan, ec);
  if (ec) return std::nullopt;
  auto size = body.size();
  auto fill = [&](auto& res) {
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-cache");
    res.content_length(size);
  };
  if (head) {
    http::response<http::empty_body> res{status::ok, version};
    fill(res);
    return http::message_generator(std::move(res));
  }
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(status::ok, version)};
  fill(res);
  return http::message_generator(std::move(res));
}

void answer(const respond_fn& respond, http_response res) { respond(http::message_generator(std::move(res))); }

void answer_error(const respond_fn& respond, unsigned version, status s, const char* code, const std::string& message,
                  const std::string& field) {
  answer(respond, error_response(version, s, code, message, field));
}

void internal_error(const respond_fn& respond, unsigned version, const caf::error& e) {
  answer_error(respond, version, status::internal_server_error, "internal", "storage unavailable: " + to_string(e));
}

}  // namespace tether
