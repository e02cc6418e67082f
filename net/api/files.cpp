#include "net/api/files.hpp"

#include "actors/reader.hpp"
#include "actors/storage.hpp"
#include "net/api/request.hpp"
#include "net/ask.hpp"
#include "proto/codec.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

using http::status;

namespace {

void get_file(const std::shared_ptr<server_context>& ctx, const http_request& req, const std::string& file_id,
              const jwt::claims& user, const respond_fn& respond) {
  auto version = req.version();
  bool head = req.method() == http::verb::head;
  // Continues on an I/O thread: file_response opens the blob (disk work, never on an actor thread).
  ask<file_lookup>(ctx->sys, *ctx->io, ctx->deps.reader, [ctx, respond, version, head, user](caf::expected<file_lookup> r) {
    if (!r) return internal_error(respond, version, r.error());
    // Another user's file is answered like a missing one: existence is not revealed.
    if (!r->found || r->file.user_id != user.sub || (r->file.state != "active" && r->file.state != "kept"))
      return answer_error(respond, version, status::not_found, "not_found", "no such file");
    auto res = file_response(ctx->blobs->path_of(r->file.file_id), "application/octet-stream", head, version);
    if (!res) return answer_error(respond, version, status::not_found, "not_found", "no such file");
    respond(std::move(*res));
  }, get_file_atom::value, file_id);
}

void delete_file(const std::shared_ptr<server_context>& ctx, unsigned version, const std::string& file_id,
                 const jwt::claims& user, const respond_fn& respond) {
  ask<bool>(ctx->sys, ctx->deps.storage, [ctx, respond, version](caf::expected<bool> r) {
    if (!r) return internal_error(respond, version, r.error());
    if (!*r) return answer_error(respond, version, status::not_found, "not_found", "no such file");
    caf::anon_send(ctx->deps.cleaner, wake_atom::value);
    http_response res{status::no_content, version};
    res.prepare_payload();
    answer(respond, std::move(res));
  }, del_file_atom::value, file_id, user.sub);
}

}  // namespace

void register_external_file(const std::shared_ptr<server_context>& ctx, const http_request& req,
                            const respond_fn& respond, const std::string& client) {
  auto version = req.version();
  boost::system::error_code ec;
  auto body = json::parse(req.body(), ec);
  if (ec || !body.is_object())
    return answer_error(respond, version, status::bad_request, "bad_json", "the body must be a JSON object");
  auto& o = body.as_object();
  auto text = [&](const char* key) -> std::string {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  auto file_id = text("file_id"), user_id = text("user_id");
  if (!codec::valid_id(file_id))
    return answer_error(respond, version, status::bad_request, "invalid_field",
                        "file_id must be 1-128 characters of [A-Za-z0-9_.:@-]", "file_id");
  if (!codec::valid_user_id(user_id))
    return answer_error(respond, version, status::bad_request, "invalid_field",
                        "user_id must be 1-128 characters of [A-Za-z0-9_.@-]", "user_id");
  ask<ext_file_outcome>(ctx->sys, ctx->deps.storage,
                        [respond, version, file_id, user_id](caf::expected<ext_file_outcome> r) {
                          if (!r) return internal_error(respond, version, r.error());
                          if (*r == ext_file_outcome::conflict)
                            return answer_error(respond, version, status::conflict, "conflict",
                                                "file_id belongs to another user", "file_id");
                          answer(respond, json_response(version, status::created,
                                                        json::serialize(json::object{{"file_id", file_id},
                                                                                     {"user_id", user_id}})));
                        },
                        ext_file_atom::value, file_id, user_id);
}

void user_file_route(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  auto file_id = path_of(req.target()).substr(user_files_prefix.size());
  if (!codec::valid_id(file_id))
    return answer_error(respond, req.version(), status::not_found, "not_found", "no such file");
  auto user = authenticate_user(*ctx, bearer_token(req));
  if (!user) return answer_error(respond, req.version(), status::unauthorized, "unauthorized", "a valid user token is required");
  if (req.method() == http::verb::get || req.method() == http::verb::head)
    return get_file(ctx, req, file_id, *user, respond);
  if (req.method() == http::verb::delete_) return delete_file(ctx, req.version(), file_id, *user, respond);
  answer_error(respond, req.version(), status::method_not_allowed, "invalid_field", "use GET or DELETE");
}

}  // namespace tether
