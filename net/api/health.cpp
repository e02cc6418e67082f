#include "net/api/health.hpp"

#include "actors/live_counts.hpp"
#include "actors/reader.hpp"
#include "net/ask.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

using http::status;

namespace {

// Per-session objects alive in the process; each returns to zero when nobody is connected.
void append_live_counts(std::string& out) {
  const auto& c = live();
  const std::pair<const char*, std::int64_t> kinds[] = {
      {"session_actors", c.session_actors.load()},     {"connections", c.connections.load()},
      {"rate_limiters", c.rate_limiters.load()},       {"directory_sessions", c.directory_sessions.load()},
      {"resume_tokens", c.resume_tokens.load()},       {"admission_places", c.admission_places.load()},
      {"admission_queue", c.admission_queue.load()},   {"ip_entries", c.ip_entries.load()},
      {"channels", c.channels.load()},                 {"channel_subscriptions", c.channel_subscriptions.load()},
      {"online_users", c.online_users.load()},
  };
  out += "# HELP tether_live_objects Per-session objects alive, by kind (zero when nobody is connected).\n";
  out += "# TYPE tether_live_objects gauge\n";
  for (const auto& [kind, n] : kinds)
    out += std::string("tether_live_objects{kind=\"") + kind + "\"} " + std::to_string(n) + "\n";
}

}  // namespace

void get_healthz(const std::shared_ptr<server_context>&, const http_request& req, const respond_fn& respond, const std::string& client) {
  answer(respond, json_response(req.version(), status::ok, "{\"status\":\"ok\"}"));
}

// Ready: recovery is done and the blob and data directories take writes (checked off the I/O
// threads by ctx.storage_probe; this reads its cached result).
void get_readyz(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  auto version = req.version();
  if (!ctx->ready)
    return answer(respond, json_response(version, status::service_unavailable, "{\"status\":\"recovering\"}"));
  if (ctx->storage_probe) {
    auto failures = ctx->storage_probe->failures();
    if (!failures.empty())
      return answer(respond, json_response(version, status::service_unavailable,
                                           json::serialize(json::object{{"status", "unhealthy"},
                                                                        {"failed", readiness_probe::to_json(failures)}})));
  }
  answer(respond, json_response(version, status::ok, "{\"status\":\"ready\"}"));
}

// The queue numbers come from the reader: a scrape never waits behind (or sees) an open batch.
void get_metrics(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  auto version = req.version();
  auto sessions = std::make_shared<std::int64_t>(0);
  ask<std::int64_t>(ctx->sys, ctx->deps.directory, [ctx, respond, version, sessions](caf::expected<std::int64_t> n) {
    *sessions = n ? *n : -1;
    ask<webhook_stats>(ctx->sys, ctx->deps.reader, [ctx, respond, version, sessions](caf::expected<webhook_stats> w) {
    if (!w) return internal_error(respond, version, w.error());
    ask<cleanup_stats>(ctx->sys, ctx->deps.reader, [ctx, respond, version, sessions, w = *w](caf::expected<cleanup_stats> r) {
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
      out += "# HELP tether_webhooks_pending Webhook events in the outbox waiting for delivery.\n";
      out += "# TYPE tether_webhooks_pending gauge\ntether_webhooks_pending " + std::to_string(w.pending) + "\n";
      out += "# HELP tether_webhooks_failed Webhook events given up after webhooks.max_attempts (kept in the outbox).\n";
      out += "# TYPE tether_webhooks_failed gauge\ntether_webhooks_failed " + std::to_string(w.failed) + "\n";
      append_live_counts(out);
      http_response res{status::ok, version};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = std::move(out);
      res.prepare_payload();
      answer(respond, std::move(res));
    }, stats_atom::value);
    }, wh_stats_atom::value);
  }, count_atom::value);
}

}  // namespace tether
