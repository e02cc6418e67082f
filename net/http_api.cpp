#include "net/http_api.hpp"

#include "actors/directory.hpp"
#include "actors/live_counts.hpp"
#include "net/ask.hpp"
#include "proto/clock.hpp"
#include "proto/codec.hpp"
#include "net/home_page.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>

#include <filesystem>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

namespace {

using http::status;

bool equal_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Turns an http_response into what `respond` takes.
void answer(const respond_fn& respond, http_response res) { respond(http::message_generator(std::move(res))); }

void answer_error(const respond_fn& respond, unsigned version, status s, const char* code, const std::string& message,
                  const std::string& field = {}) {
  answer(respond, error_response(version, s, code, message, field));
}

void internal_error(const respond_fn& respond, unsigned version, const caf::error& e) {
  answer_error(respond, version, status::internal_server_error, "internal", "storage unavailable: " + to_string(e));
}

bool require_api_key(const server_context& ctx, const http_request& req, const respond_fn& respond) {
  if (equal_secret(bearer_token(req), ctx.cfg->api.key)) return true;
  answer_error(respond, req.version(), status::unauthorized, "unauthorized", "an api key is required (Bearer)");
  return false;
}

}  // namespace

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

namespace {

void get_audit(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond) {
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

void get_cleanup(const std::shared_ptr<server_context>& ctx, unsigned version, const respond_fn& respond) {
  ask<cleanup_stats>(ctx->sys, ctx->deps.reader, [respond, version](caf::expected<cleanup_stats> r) {
    if (!r) return internal_error(respond, version, r.error());
    json::array failed;
    for (auto& f : r->failed)
      failed.push_back(json::object{{"file_id", f.file_id}, {"attempts", f.attempts}, {"last_error", f.last_error}});
    answer(respond, json_response(version, status::ok,
                                  json::serialize(json::object{{"queued", r->queued}, {"failed", failed}})));
  }, stats_atom::value);
}

// Per-session objects alive in the process; each returns to zero when nobody is connected.
void append_live_counts(std::string& out) {
  const auto& c = live();
  const std::pair<const char*, std::int64_t> kinds[] = {
      {"session_actors", c.session_actors.load()},     {"connections", c.connections.load()},
      {"rate_limiters", c.rate_limiters.load()},       {"directory_sessions", c.directory_sessions.load()},
      {"resume_tokens", c.resume_tokens.load()},       {"admission_places", c.admission_places.load()},
      {"admission_queue", c.admission_queue.load()},   {"ip_entries", c.ip_entries.load()},
  };
  out += "# HELP tether_live_objects Per-session objects alive, by kind (zero when nobody is connected).\n";
  out += "# TYPE tether_live_objects gauge\n";
  for (const auto& [kind, n] : kinds)
    out += std::string("tether_live_objects{kind=\"") + kind + "\"} " + std::to_string(n) + "\n";
}

void get_metrics(const std::shared_ptr<server_context>& ctx, unsigned version, const respond_fn& respond) {
  auto sessions = std::make_shared<std::int64_t>(0);
  ask<std::int64_t>(ctx->sys, ctx->deps.directory, [ctx, respond, version, sessions](caf::expected<std::int64_t> n) {
    *sessions = n ? *n : -1;
    ask<cleanup_stats>(ctx->sys, ctx->deps.reader, [ctx, respond, version, sessions](caf::expected<cleanup_stats> r) {
      if (!r) return internal_error(respond, version, r.error());
      std::string out;
      out += "# HELP tether_sessions Live sessions (open or inside their resume window).\n";
      out += "# TYPE tether_sessions gauge\ntether_sessions " + std::to_string(*sessions) + "\n";
      out += "# HELP tether_websocket_connections Open WebSocket connections.\n";
      out += "# TYPE tether_websocket_connections gauge\ntether_websocket_connections " +
             std::to_string(ctx->websocket_connections.load()) + "\n";
      out += "# HELP tether_deletion_queue_depth Deletions waiting to be done.\n";
      out += "# TYPE tether_deletion_queue_depth gauge\ntether_deletion_queue_depth " + std::to_string(r->queued) + "\n";
      out += "# HELP tether_deletions_total Deletions finished, by result.\n";
      out += "# TYPE tether_deletions_total counter\n";
      out += "tether_deletions_total{result=\"done\"} " + std::to_string(r->done_total) + "\n";
      out += "tether_deletions_total{result=\"failed\"} " + std::to_string(r->failed_total) + "\n";
      append_live_counts(out);
      http_response res{status::ok, version};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = std::move(out);
      res.prepare_payload();
      answer(respond, std::move(res));
    }, stats_atom::value);
  }, count_atom::value);
}

// Ready: recovery is done and the blob and data directories take writes (checked off the I/O
// threads by ctx.storage_probe; this reads its cached result).
void get_readyz(const server_context& ctx, unsigned version, const respond_fn& respond) {
  if (!ctx.ready)
    return answer(respond, json_response(version, status::service_unavailable, "{\"status\":\"recovering\"}"));
  if (ctx.storage_probe) {
    auto failures = ctx.storage_probe->failures();
    if (!failures.empty())
      return answer(respond, json_response(version, status::service_unavailable,
                                           json::serialize(json::object{{"status", "unhealthy"},
                                                                        {"failed", readiness_probe::to_json(failures)}})));
  }
  answer(respond, json_response(version, status::ok, "{\"status\":\"ready\"}"));
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

void register_external_file(const std::shared_ptr<server_context>& ctx, const http_request& req,
                            const respond_fn& respond) {
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

// A file from disk as the answer to GET, or its headers alone for HEAD (an empty body with the
// file's Content-Length: Beast's serializer knows nothing of HEAD). Nullopt when it can't be opened.
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

void get_file(const std::shared_ptr<server_context>& ctx, const http_request& req, const std::string& file_id,
              const jwt::claims& user, const respond_fn& respond) {
  auto version = req.version();
  bool head = req.method() == http::verb::head;
  ask<file_lookup>(ctx->sys, ctx->deps.reader, [ctx, respond, version, head, user](caf::expected<file_lookup> r) {
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

// GET /api/whoami: checks a user token and nothing else. A browser cannot read the HTTP status of a
// refused WebSocket upgrade, so a client whose connection failed before `open` asks here why.
void get_whoami(const server_context& ctx, const http_request& req, const respond_fn& respond) {
  auto version = req.version();
  auto token = bearer_token(req);
  if (token.empty())
    return answer_error(respond, version, status::unauthorized, "unauthorized", "a user token is required (Bearer)");
  auto r = jwt::verify(token, ctx.cfg->auth.jwt_secret, ctx.cfg->auth.allow_no_exp);
  if (!r.ok) return answer_error(respond, version, status::unauthorized, "unauthorized", "invalid token: " + r.why);
  json::value expires_at = nullptr;
  if (r.ok->exp) expires_at = json::string(iso8601_from_ms(*r.ok->exp * 1000));
  answer(respond, json_response(version, status::ok,
                                json::serialize(json::object{{"user_id", r.ok->sub},
                                                             {"name", r.ok->name},
                                                             {"guest", r.ok->guest},
                                                             {"expires_at", expires_at}})));
}

void user_file_route(const std::shared_ptr<server_context>& ctx, http_request& req, const std::string& file_id,
                     const respond_fn& respond) {
  auto user = authenticate_user(*ctx, bearer_token(req));
  if (!user) return answer_error(respond, req.version(), status::unauthorized, "unauthorized", "a valid user token is required");
  if (req.method() == http::verb::get || req.method() == http::verb::head)
    return get_file(ctx, req, file_id, *user, respond);
  if (req.method() == http::verb::delete_) return delete_file(ctx, req.version(), file_id, *user, respond);
  answer_error(respond, req.version(), status::method_not_allowed, "invalid_field", "use GET or DELETE");
}

const char* content_type_of(const std::string& path) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json") || ends(".map")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

// Pages under web_dir/demo/: a directory answers with its index.html. Paths with ".." or
// hidden segments are refused, so nothing outside web_dir is reachable.
void serve_demo_page(const server_context& ctx, const http_request& req, const std::string& path,
                     const respond_fn& respond) {
  auto version = req.version();
  if (ctx.cfg->server.web_dir.empty() || path.find("/.") != std::string::npos ||
      path.find('\\') != std::string::npos)
    return answer_error(respond, version, status::not_found, "not_found", "no such page");
  std::string file = ctx.cfg->server.web_dir + path;
  std::error_code fs_ec;
  if (std::filesystem::is_directory(file, fs_ec)) file += file.back() == '/' ? "index.html" : "/index.html";
  auto res = file_response(file, content_type_of(file), req.method() == http::verb::head, version);
  if (!res) return answer_error(respond, version, status::not_found, "not_found", "no such page");
  respond(std::move(*res));
}

}  // namespace

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

std::string path_of(boost::beast::string_view target) {
  auto q = target.find('?');
  return std::string(target.substr(0, q));
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
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
}  // namespace

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

void handle_api(const std::shared_ptr<server_context>& ctx, http_request&& req, respond_fn respond) {
  auto path = path_of(req.target());
  auto version = req.version();
  auto method = req.method();
  if (path == "/healthz") return answer(respond, json_response(version, status::ok, "{\"status\":\"ok\"}"));
  if (path == "/readyz") return get_readyz(*ctx, version, respond);
  if (path == "/" && (method == http::verb::get || method == http::verb::head))
    return answer(respond, html_response(version, home_page_html(*ctx->cfg), method == http::verb::head));
  if (path == "/metrics" && method == http::verb::get) return get_metrics(ctx, version, respond);
  if (path == "/api/audit" && method == http::verb::get) {
    if (require_api_key(*ctx, req, respond)) get_audit(ctx, req, respond);
    return;
  }
  if (path == "/api/admin/cleanup" && method == http::verb::get) {
    if (require_api_key(*ctx, req, respond)) get_cleanup(ctx, version, respond);
    return;
  }
  if (path == "/api/whoami" && method == http::verb::get)
    return get_whoami(*ctx, req, respond);
  if (path == "/api/files/register") {
    if (method != http::verb::post)
      return answer_error(respond, version, status::method_not_allowed, "invalid_field", "use POST");
    if (require_api_key(*ctx, req, respond)) register_external_file(ctx, req, respond);
    return;
  }
  static const std::string files_prefix = "/api/files/";
  if (path.compare(0, files_prefix.size(), files_prefix) == 0) {
    auto file_id = path.substr(files_prefix.size());
    if (!codec::valid_id(file_id)) return answer_error(respond, version, status::not_found, "not_found", "no such file");
    return user_file_route(ctx, req, file_id, respond);
  }
  if (path.compare(0, 6, "/demo/") == 0 && (method == http::verb::get || method == http::verb::head))
    return serve_demo_page(*ctx, req, path, respond);
  answer_error(respond, version, status::not_found, "not_found", "no such endpoint");
}

}  // namespace tether
