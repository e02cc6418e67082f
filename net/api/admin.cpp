#include "net/api/admin.hpp"

#include "actors/reader.hpp"
#include "net/ask.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

void get_cleanup(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  auto version = req.version();
  ask<cleanup_stats>(ctx->sys, ctx->deps.reader, [respond, version](caf::expected<cleanup_stats> r) {
    if (!r) return internal_error(respond, version, r.error());
    json::array failed;
    for (auto& f : r->failed)
      failed.push_back(json::object{{"file_id", f.file_id}, {"attempts", f.attempts}, {"last_error", f.last_error}});
    answer(respond, json_response(version, http::status::ok,
                                  json::serialize(json::object{{"queued", r->queued}, {"failed", failed}})));
  }, stats_atom::value);
}

}  // namespace tether
