// The option table and everything derived from it: lookup, validation, describe() and the
// reference config. Adding an option means adding one line to the table below.
#include "config/options.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <utility>

namespace tether::config_detail {
namespace {

constexpr std::int64_t day_ms = 86'400'000;
constexpr std::int64_t year_ms = 365 * day_ms;
constexpr std::int64_t mib = std::int64_t{1} << 20;
constexpr std::int64_t gib = std::int64_t{1} << 30;
constexpr std::int64_t tib = std::int64_t{1} << 40;
constexpr std::int64_t many = 100'000'000;  // upper bound for counts: generous, but catches typos

const text_check non_empty{[](std::string_view v) { return !v.empty(); }, "a non-empty string"};
// Webhooks are POSTed over plain HTTP only (to a receiver on the same host or network, or through a
// TLS-terminating proxy there): an https:// URL is refused here rather than sent in clear.
const text_check http_url{
    [](std::string_view v) { return v.empty() || (starts_with(v, "http://") && v.size() > 7); },
    "empty, or an http:// URL (https:// is not supported: use a local TLS-terminating proxy)"};
const text_check redis_url{
    [](std::string_view v) { return v.empty() || starts_with(v, "redis://") || starts_with(v, "rediss://"); },
    "empty, or a redis:// or rediss:// URL"};

option integer(std::string_view name, int_field f, std::int64_t min, std::int64_t max, std::string_view help) {
  return {name, help, int_rule{f, min, max}};
}
option boolean(std::string_view name, bool_field f, std::string_view help) {
  return {name, help, bool_rule{f}};
}
option text(std::string_view name, text_field f, std::string_view help, const text_check* check = nullptr) {
  return {name, help, text_rule{f, {}, check, false}};
}
option choice(std::string_view name, text_field f, std::vector<std::string_view> choices, std::string_view help) {
  return {name, help, text_rule{f, std::move(choices), nullptr, false}};
}
option secret(std::string_view name, text_field f, std::string_view help) {
  return {name, help, text_rule{f, {}, nullptr, true}};
}

}  // namespace

// The name and the accessor come from one spelling, so they cannot disagree; a field of the wrong type
// for its builder (say a bool passed to integer()) does not compile.
#define TETHER_OPTION(section, key) #section "." #key, [](settings& s) -> auto& { return s.section.key; }

const std::vector<option>& options() {
  static const std::vector<option> table = {
      text(TETHER_OPTION(server, bind), "Address to listen on: an IP address or a host name.", &non_empty),
      integer(TETHER_OPTION(server, port), 0, 65535, "TCP port; 0 lets the OS pick one (see the \"listening on\" line)."),
      integer(TETHER_OPTION(server, io_threads), 0, 256, "Threads doing network I/O; 0 means one per core this process may use (its CPU affinity: taskset, a cpuset). The actor scheduler gets one per usable core too."),
      integer(TETHER_OPTION(server, max_sessions), 1, many, "Open sessions; beyond it new connections wait in a queue."),
      integer(TETHER_OPTION(server, max_queue), 0, many, "Connections that may wait for a place; the next is closed with 4030."),
      text(TETHER_OPTION(server, tls_cert), "PEM certificate chain; set together with tls_key to serve TLS."),
      text(TETHER_OPTION(server, tls_key), "PEM private key of tls_cert."),
      text(TETHER_OPTION(server, web_dir), "Directory of the pages served under /demo/ (demo apps); empty: none."),
      integer(TETHER_OPTION(server, request_timeout_ms), 100, day_ms, "Time an HTTP client has for each step of a request (the header, each upload chunk, reading the answer); then the connection closes."),

      secret(TETHER_OPTION(auth, jwt_secret), "HS256 secret of client tokens; empty: generated into data_dir/jwt_secret."),
      boolean(TETHER_OPTION(auth, allow_no_exp), "Accept tokens without an exp claim."),
      integer(TETHER_OPTION(auth, timeout_ms), 1, day_ms, "Time a connection has to authenticate before it is closed with 4001."),
      boolean(TETHER_OPTION(auth, insecure_user_id), "Let clients name their user_id without a token (development; loopback bind only)."),

      secret(TETHER_OPTION(api, key), "Bearer key of the service and admin HTTP API; empty: generated into data_dir/api_key."),

      integer(TETHER_OPTION(heartbeat, interval_ms), 10, day_ms, "Interval of server pings; sent to clients as heartbeat_ms."),
      integer(TETHER_OPTION(heartbeat, max_missed), 1, 1000, "Unanswered pings in a row before the connection is closed with 4008."),

      integer(TETHER_OPTION(session, stale_after_ms), 10, year_ms, "The sweep ends a session with no activity (any frame) for this long."),
      integer(TETHER_OPTION(session, sweep_interval_ms), 10, day_ms, "How often the stale sweep runs."),
      integer(TETHER_OPTION(session, idle_timeout_ms), 10, year_ms, "A session without application messages for this long is closed with 4010."),
      integer(TETHER_OPTION(session, resume_window_ms), 0, year_ms, "How long a dropped session can be resumed; 0: not at all."),
      integer(TETHER_OPTION(session, restart_window_ms), 0, year_ms, "How long sessions persisted at a SIGTERM can be resumed, counted from the restart; 0: resume_window_ms."),

      text(TETHER_OPTION(storage, data_dir), "Directory of tether.db, the generated secrets and, by default, blobs/.", &non_empty),
      text(TETHER_OPTION(storage, blob_dir), "Directory of uploaded files; empty: data_dir/blobs."),
      integer(TETHER_OPTION(storage, max_upload_bytes), 1, tib, "Largest upload body; a bigger one gets 413."),
      choice(TETHER_OPTION(storage, synchronous), {"normal", "full"}, "SQLite PRAGMA synchronous; full also survives power loss."),

      integer(TETHER_OPTION(cleanup, max_attempts), 1, 1'000'000, "Tries to delete a file before it is marked failed."),
      integer(TETHER_OPTION(cleanup, retry_base_ms), 1, day_ms, "Delay before the first retry of a deletion; it doubles each time."),
      integer(TETHER_OPTION(cleanup, retry_max_ms), 1, year_ms, "Longest delay between retries of a deletion."),
      integer(TETHER_OPTION(cleanup, unclaimed_after_ms), 0, 10 * year_ms, "An upload that no session ever tracked is deleted when this old; 0: never."),

      integer(TETHER_OPTION(limits, max_message_bytes), 16, 64 * mib, "Largest message payload after reassembly; one byte more closes with 1009."),
      integer(TETHER_OPTION(limits, max_connections_per_ip), 1, many, "Open connections per client IP; further upgrades get HTTP 429."),
      integer(TETHER_OPTION(limits, messages_per_second), 1, many, "Sustained messages per second a session may send."),
      integer(TETHER_OPTION(limits, burst), 1, many, "Messages a session may send at once above the sustained rate."),
      integer(TETHER_OPTION(limits, max_outbound_bytes), 1, 16 * gib, "Bytes queued to a slow reader before it is disconnected (1008)."),
      integer(TETHER_OPTION(limits, guests_per_ip_per_minute), 1, many, "Guests one client address may create per minute (POST /api/guests; 429 past it)."),

      integer(TETHER_OPTION(rooms, max_participants), 1, many, "Distinct users in a room; the next gets room_full."),
      choice(TETHER_OPTION(rooms, duplicate_policy), {"switch", "allow"}, "A user's second session in a room: switch takes the place over, allow keeps both."),
      integer(TETHER_OPTION(rooms, max_restarts), 1, many, "Room actors that may crash (each restarted by its members) within rooms.restart_period_ms before the server shuts down cleanly (exit 75)."),
      integer(TETHER_OPTION(rooms, restart_period_ms), 1000, day_ms, "The period rooms.max_restarts counts over."),

      integer(TETHER_OPTION(users, guest_inactive_ms), 1, 10 * year_ms, "A guest without application messages for this long, connected or not, is deleted (with its room places); its sessions close with 4010 and its token is refused."),
      integer(TETHER_OPTION(users, sweep_interval_ms), 10, day_ms, "How often inactive guests are looked for (first at start-up); a guest goes between guest_inactive_ms + min(sweep_interval_ms, guest_inactive_ms / 60) and one sweep_interval_ms later."),
      integer(TETHER_OPTION(users, guest_token_ttl_ms), 60000, year_ms, "Lifetime of the token POST /api/guests hands out (the guest itself goes after users.guest_inactive_ms)."),

      integer(TETHER_OPTION(chat, max_content_bytes), 1, 64 * mib, "Largest content of a chat message."),

      integer(TETHER_OPTION(notifications, retention_ms), 1, 10 * year_ms, "How long notifications and connection events stay replayable."),

      text(TETHER_OPTION(webhooks, url), "Receiver of event POSTs (member_added, member_removed, room_vacated, session_closed, files_deleted); empty: no webhooks, nothing recorded.", &http_url),
      secret(TETHER_OPTION(webhooks, secret), "HMAC-SHA256 key of the X-Tether-Signature header; empty with a url set: generated into data_dir/webhook_secret."),
      integer(TETHER_OPTION(webhooks, timeout_ms), 10, 600000, "Time one POST has (connect, send, answer); then it counts as a failed attempt."),
      integer(TETHER_OPTION(webhooks, max_attempts), 1, 1'000'000, "Tries to deliver an event before it is marked failed (kept in the outbox, logged)."),
      integer(TETHER_OPTION(webhooks, retry_base_ms), 1, day_ms, "Delay before the first retry of an event; it doubles each time, with jitter."),
      integer(TETHER_OPTION(webhooks, retry_max_ms), 1, day_ms, "Longest delay between retries of an event."),
      integer(TETHER_OPTION(webhooks, max_pending), 1, many, "Events the outbox keeps while the receiver is away; past it the oldest are dropped (logged as errors)."),
      integer(TETHER_OPTION(webhooks, max_in_flight), 1, 1000, "POSTs under way at once."),

      text(TETHER_OPTION(cluster, redis_url), "Redis shared by the nodes of a cluster; empty: a single node.", &redis_url),

      choice(TETHER_OPTION(log, level), {"trace", "debug", "info", "warn", "error", "off"}, "Least severe log level written."),
      choice(TETHER_OPTION(log, format), {"text", "json"}, "Log lines as text, or one JSON object per line (time, level, logger, msg, session_id when the line is about a session)."),
  };
  return table;
}

#undef TETHER_OPTION

namespace {

using section_list = std::vector<std::pair<std::string_view, std::vector<const option*>>>;

// The table is grouped by section already; this makes the grouping explicit for rendering and messages.
const section_list& sections() {
  static const section_list list = [] {
    section_list out;
    for (const option& o : options()) {
      if (out.empty() || out.back().first != o.section()) out.push_back({o.section(), {}});
      out.back().second.push_back(&o);
    }
    return out;
  }();
  return list;
}

const std::vector<const option*>* options_of(std::string_view section) {
  for (const auto& [name, members] : sections())
    if (name == section) return &members;
  return nullptr;
}

template <class Range, class Name>
std::string join(const Range& items, Name name) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + std::string(name(item));
  return out;
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

std::string allowed_values(const option& o) {
  return std::visit(overloaded{
                        [](const int_rule& r) { return std::to_string(r.min) + ".." + std::to_string(r.max); },
                        [](const bool_rule&) { return std::string("true, false"); },
                        [](const text_rule& r) {
                          if (!r.choices.empty()) return join(r.choices, [](std::string_view c) { return c; });
                          return r.check ? std::string(r.check->allowed) : std::string();
                        },
                    },
                    o.rule);
}

[[noreturn]] void refuse(const option& o, std::string_view shown, std::string_view problem,
                         const std::string& allowed) {
  std::string message = std::string(o.name) + ": " + std::string(shown) + " " + std::string(problem);
  if (!allowed.empty()) message += " (allowed: " + allowed + ")";
  throw config_error(message);
}

[[noreturn]] void refuse(const option& o, std::string_view shown, std::string_view problem) {
  refuse(o, shown, problem, allowed_values(o));
}

void store_int(const option& o, const int_rule& r, settings& s, std::int64_t value) {
  if (value < r.min || value > r.max) refuse(o, std::to_string(value), "is out of range");
  r.field(s) = value;
}

void store_text(const option& o, const text_rule& r, settings& s, std::string value) {
  const bool listed = r.choices.empty() || std::find(r.choices.begin(), r.choices.end(), value) != r.choices.end();
  if (!listed || (r.check && !r.check->ok(value))) refuse(o, quote(value), "is not allowed");
  r.field(s) = std::move(value);
}

std::int64_t parse_int(const option& o, std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) refuse(o, quote(text), "is out of range");
  if (ec != std::errc() || end != text.data() + text.size()) refuse(o, quote(text), "is not an integer");
  return value;
}

bool parse_bool(const option& o, std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "0") return false;
  refuse(o, quote(text), "is not a boolean", "true, false, yes, no, 1, 0");
}

// How a value from the file appears in messages. Boost writes doubles as 1.5E0; show them as typed,
// keeping a ".0" so that 30000.0 doesn't read as the integer it failed to be.
std::string show(const boost::json::value& value) {
  if (!value.is_double()) return boost::json::serialize(value);
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value.get_double());
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::int64_t json_int(const option& o, const boost::json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) refuse(o, show(value), "is out of range");
  refuse(o, show(value), "is not an integer");
}

// Accessors select a member and never write through it, so reading a const settings with them is safe.
template <class T>
const T& read(const settings& s, T& (*field)(settings&)) {
  return field(const_cast<settings&>(s));
}

bool is_secret(const option& o) {
  const auto* r = std::get_if<text_rule>(&o.rule);
  return r && r->secret;
}

// describe() leaves secrets out; the reference config shows them (unset, as in settings{}).
boost::json::value shown_value(const option& o, const settings& s) {
  return std::visit(overloaded{
                        [&](const int_rule& r) { return boost::json::value(read(s, r.field)); },
                        [&](const bool_rule& r) { return boost::json::value(read(s, r.field)); },
                        [&](const text_rule& r) { return boost::json::value(read(s, r.field)); },
                    },
                    o.rule);
}

std::string doc_comment(const option& o) {
  std::string line = "    // " + std::string(o.help);
  if (!std::holds_alternative<bool_rule>(o.rule)) {
    const std::string allowed = allowed_values(o);
    if (!allowed.empty()) line += " Allowed: " + allowed + ".";
  }
  return line + "\n";
}

// One renderer for describe() and reference_config(), so the two always show the same keys.
std::string render(const settings& s, bool documented) {
  // describe() leaves secrets out, keys and all, set or not (rather than masking them), so that its
  // output loads back as a config file that keeps the secrets where they are (data_dir, env).
  std::vector<std::pair<std::string_view, std::vector<const option*>>> shown;
  for (const auto& [section, members] : sections()) {
    std::vector<const option*> keys;
    for (const option* o : members)
      if (documented || !is_secret(*o)) keys.push_back(o);
    if (!keys.empty()) shown.push_back({section, std::move(keys)});
  }
  std::string out = "{\n";
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const auto& [section, members] = shown[i];
    if (documented && i > 0) out += "\n";
    out += "  " + quote(section) + ": {\n";
    for (std::size_t j = 0; j < members.size(); ++j) {
      const option& o = *members[j];
      if (documented) out += doc_comment(o);
      out += "    " + quote(o.key()) + ": " + boost::json::serialize(shown_value(o, s));
      out += j + 1 < members.size() ? ",\n" : "\n";
    }
    out += i + 1 < shown.size() ? "  },\n" : "  }\n";
  }
  return out + "}\n";
}

constexpr std::string_view reference_header =
    "// tether configuration: every option, set to its default.\n"
    "//\n"
    "// Load it with `tetherd --config FILE`. Keys left out keep their defaults; an unknown key stops\n"
    "// start-up. Environment variables TETHER_<SECTION>_<KEY> (e.g. TETHER_HEARTBEAT_INTERVAL_MS=10000)\n"
    "// override this file, and `--set section.key=value` overrides both. Durations are in\n"
    "// milliseconds, sizes in bytes. Comments and trailing commas are allowed.\n"
    "//\n"
    "// Rendered by reference_config() from the option table in config/settings.cpp: change the table,\n"
    "// then regenerate (see tests/unit/config/reference_test.cpp).\n";

}  // namespace

std::string quote(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

const option* find_option(std::string_view name) {
  const auto& table = options();
  const auto found = std::find_if(table.begin(), table.end(), [&](const option& o) { return o.name == name; });
  return found == table.end() ? nullptr : &*found;
}

bool is_section(std::string_view section) { return options_of(section) != nullptr; }

const option& require_option(std::string_view name) {
  if (const option* o = find_option(name)) return *o;
  const auto dot = name.find('.');
  const std::string subject = std::string(name) + (dot == std::string_view::npos ? ": unknown section" : ": unknown key");
  const auto* members = options_of(name.substr(0, dot));
  if (dot == std::string_view::npos || !members)
    throw config_error(subject + " (sections: " + join(sections(), [](const auto& s) { return s.first; }) + ")");
  throw config_error(subject + " (keys in " + std::string(name.substr(0, dot)) + ": " +
                     join(*members, [](const option* o) { return o->key(); }) + ")");
}

void assign_text(const option& o, settings& s, std::string_view text) {
  std::visit(overloaded{
                 [&](const int_rule& r) { store_int(o, r, s, parse_int(o, text)); },
                 [&](const bool_rule& r) { r.field(s) = parse_bool(o, text); },
                 [&](const text_rule& r) { store_text(o, r, s, std::string(text)); },
             },
             o.rule);
}

void assign_json(const option& o, settings& s, const boost::json::value& value) {
  std::visit(overloaded{
                 [&](const int_rule& r) { store_int(o, r, s, json_int(o, value)); },
                 [&](const bool_rule& r) {
                   if (!value.is_bool()) refuse(o, show(value), "is not a JSON boolean");
                   r.field(s) = value.get_bool();
                 },
                 [&](const text_rule& r) {
                   if (!value.is_string()) refuse(o, show(value), "is not a JSON string");
                   store_text(o, r, s, std::string(value.get_string()));
                 },
             },
             o.rule);
}

}  // namespace tether::config_detail

namespace tether {

std::string describe(const settings& s) { return config_detail::render(s, false); }

std::string reference_config() {
  return std::string(config_detail::reference_header) + config_detail::render(settings{}, true);
}

std::string blob_dir_of(const settings& s) {
  if (!s.storage.blob_dir.empty()) return s.storage.blob_dir;
  return (std::filesystem::path(s.storage.data_dir) / "blobs").string();
}

}  // namespace tether
