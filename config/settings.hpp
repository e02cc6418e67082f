#pragma once
// Every option of tetherd, typed. Defaults, bounds and docs come from one table (settings.cpp),
// in the manner of Redis's config.c; nothing else parses options.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tether {

struct settings {
  struct {
    std::string bind = "127.0.0.1";
    std::int64_t port = 8080;            // 0: the OS picks a free port (logged in "listening on")
    std::int64_t io_threads = 0;         // 0: one per core
    std::int64_t max_sessions = 10000;
    std::int64_t max_queue = 1000;
    std::string tls_cert, tls_key;
    std::string web_dir = "./web";       // demo pages and the admin dashboard
    std::int64_t request_timeout_ms = 30000;  // each step of an HTTP request: header, upload chunk, answer
  } server;
  struct {
    std::string jwt_secret;              // generated into data_dir at first start when empty
    bool allow_no_exp = false;
    std::int64_t timeout_ms = 5000;
    bool insecure_user_id = false;
  } auth;
  struct {
    std::string key;                     // generated into data_dir at first start when empty
  } api;
  struct {
    std::int64_t interval_ms = 30000;
    std::int64_t max_missed = 3;
  } heartbeat;
  struct {
    std::int64_t stale_after_ms = 120000;
    std::int64_t sweep_interval_ms = 30000;
    std::int64_t idle_timeout_ms = 1800000;
    std::int64_t resume_window_ms = 5000;
    std::int64_t restart_window_ms = 60000;  // sessions persisted at SIGTERM; 0: resume_window_ms
  } session;
  struct {
    std::string data_dir = "./data";
    std::string blob_dir;                // empty: data_dir/blobs
    std::int64_t max_upload_bytes = 104857600;
    std::string synchronous = "normal";  // normal | full (SQLite PRAGMA synchronous)
  } storage;
  struct {
    std::int64_t max_attempts = 8;
    std::int64_t retry_base_ms = 1000;
    std::int64_t retry_max_ms = 300000;
    std::int64_t unclaimed_after_ms = 3600000;  // uploads no session ever tracked; 0: never
  } cleanup;
  struct {
    std::int64_t max_message_bytes = 65536;
    std::int64_t max_connections_per_ip = 100;
    std::int64_t messages_per_second = 50;
    std::int64_t burst = 100;
    std::int64_t max_outbound_bytes = 4194304;
    std::int64_t guests_per_ip_per_minute = 10;
  } limits;
  struct {
    std::int64_t max_participants = 50;
    std::string duplicate_policy = "switch";  // switch | allow
    std::int64_t max_restarts = 20;           // room crashes per restart_period_ms before a clean shutdown
    std::int64_t restart_period_ms = 60000;
  } rooms;
  struct {
    std::int64_t guest_inactive_ms = 1800000;
    std::int64_t sweep_interval_ms = 60000;
    std::int64_t guest_token_ttl_ms = 86400000;
  } users;
  struct {
    std::int64_t max_content_bytes = 4000;
  } chat;
  struct {
    std::int64_t retention_ms = 2592000000;
  } notifications;
  struct {
    std::string url;                     // http:// only; empty: no webhooks
    std::string secret;                  // generated into data_dir/webhook_secret when url is set and this is empty
    std::int64_t timeout_ms = 5000;      // one POST: connect, send, answer
    std::int64_t max_attempts = 15;      // then the event is marked failed
    std::int64_t retry_base_ms = 1000;   // first retry delay; doubles, with jitter
    std::int64_t retry_max_ms = 300000;
    std::int64_t max_pending = 100000;   // outbox bound: past it the oldest events are dropped
    std::int64_t max_in_flight = 8;      // POSTs at once
  } webhooks;
  struct {
    std::string redis_url;
  } cluster;
  struct {
    std::string level = "info";          // trace | debug | info | warn | error | off
    std::string format = "text";         // text | json (one object per line)
  } log;
};

// How far behind storage may be on a guest's activity (sessions report it at most this often);
// the guest sweep allows for it, so that no guest is deleted early.
inline std::int64_t guest_activity_lag_ms(const settings& s) {
  return std::max<std::int64_t>(1, std::min(s.users.sweep_interval_ms, s.users.guest_inactive_ms / 60));
}

// A bad option at start-up: the message names the key, the value and what is allowed.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct config_sources {
  std::optional<std::string> file;             // --config FILE
  std::map<std::string, std::string> env;      // the process environment (only TETHER_* is read)
  std::vector<std::string> sets;               // --set section.key=value, in order
};

// Defaults < file < TETHER_* env < --set. Throws config_error. Unknown TETHER_* variables are
// not errors: each adds a line to `warnings`.
settings load_settings(const config_sources& sources, std::vector<std::string>* warnings = nullptr);

// The process environment as a map (for config_sources::env).
std::map<std::string, std::string> environment_map();

// Fills auth.jwt_secret and api.key (and webhooks.secret when webhooks.url is set) when empty: read
// from data_dir/jwt_secret, data_dir/api_key (data_dir/webhook_secret), or generated there (32 random bytes, hex, file mode 0600) at first start. Creates data_dir.
// Throws config_error when the files can't be read or written.
void resolve_secrets(settings& s);

// Like resolve_secrets, but never creates anything (for CLI verbs run beside a server): each empty
// secret is read from its file in data_dir when that file exists, else left empty.
void read_secrets(settings& s);

// The effective settings as JSON, for check-config: every key but the secrets (left out rather
// than masked, so that the output loads back as a config file).
std::string describe(const settings& s);

// The text of config/tether.json: every option with its default, what is allowed and a one-line
// description, as commented JSON that load_settings accepts. Rendered from the same table.
std::string reference_config();

// The blob directory in effect (storage.blob_dir, else data_dir/blobs).
std::string blob_dir_of(const settings& s);

}  // namespace tether
