#include "net/api/audit.hpp"

#include "actors/reader.hpp"
#include "net/api/request.hpp"
#include "net/ask.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

using http::status;

json::object audit_json(const audit_record& r) {
  // details is stored as JSON text; it goes out as an object (or null).
  json::value details;
  if (!r.details.empty()) {
    boost::system::error_code ec;
    details = json::parse(r.details, ec);
    if (ec) details = json::string(r.details);
  }
  return {{"id", r.id},           {"at", r.at},           {"event", r.event},   {"session_id", r.session_id},
          {"user_id", r.user_id}, {"file_id", r.file_id}, {"reason", r.reason}, {"details", details}};
}

void get_audit(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  audit_query q;
  q.session_id = query_param(req.target(), "session_id");
  q.file_id = query_param(req.target(), "file_id");
  q.user_id = query_param(req.target(), "user_id");
  if (auto limit = query_param(req.target(), "limit")) {
    try {
      q.limit = std::stoll(*limit);
    } catch (...) {
      q.limit = -1;
    }
    // Fixed bound: one answer of at most 10 000 records (a few MB) whatever the history holds.
    if (q.limit < 1 || q.limit > 10000)
      return answer_error(respond, req.version(), status::bad_request, "invalid_field", "limit must be 1..10000",
                          "limit");
  }
  auto version = req.version();
  ask<audit_records>(ctx->sys, ctx->deps.reader, [respond, version](caf::expected<audit_records> r) {
    if (!r) return internal_error(respond, version, r.error());
    json::array records;
    for (auto& rec : r->records) records.push_back(audit_json(rec));
    answer(respond, json_response(version, status::ok, json::serialize(json::object{{"records", records}})));
  }, audit_atom::value, q);
}

}  // namespace tether
