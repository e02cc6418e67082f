// Support for the integration tests: run the real tetherd, talk to it over WebSocket and HTTP.
//
// Every wait here is bounded: child processes are read with poll() and reaped with a deadline,
// network operations run on private io_contexts with run_for(), and conditions are polled with
// wait_until(). Nothing sleeps for a fixed time to "let things settle".
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tether::it {

namespace json = boost::json;
namespace http = boost::beast::http;
// What nearly every test spells out, declared once.
using boost::json::array;
using boost::json::object;
using boost::json::serialize;
using boost::json::value;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

// Tests blocked on a known server bug call GTEST_SKIP() unless IT_RUN_BLOCKED=1 is set
// (to check a fix: IT_RUN_BLOCKED=1 integration_tests --gtest_filter=...). TETHERD=path runs
// another build of the server. (Not TETHER_*: tetherd reads those as configuration.)
bool run_blocked_tests();

// ---- conditions ------------------------------------------------------------------------------

// Polls `pred` every 10 ms until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& pred, ms timeout);

// ---- child processes -------------------------------------------------------------------------

struct command_result {
  int status = -1;  // exit code, 128+signal if killed, -1 if it had to be killed at the deadline
  std::string out, err;
};

// Runs argv[0] with argv, collecting stdout and stderr, killed after `timeout`.
command_result run_command(const std::vector<std::string>& argv, ms timeout = 10s);

std::string tetherd_path();

// A fresh directory under /tmp, removed with its contents at the end of the scope.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

// `tetherd serve` on `data_dir` (port 0 unless `sets` says otherwise) run to its exit, for
// starts that must be refused: a server that starts anyway is killed at `timeout` (status -1).
command_result run_serve(const std::string& data_dir, const std::vector<std::string>& sets = {}, ms timeout = 10s);

// One tetherd serve process on a fresh data dir (port 0, so the kernel picks a free port).
class server_process {
public:
  explicit server_process(std::vector<std::string> sets = {}, std::vector<std::string> extra_env = {});
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string blob_path(const std::string& file_id) const { return data_dir_ + "/blobs/" + file_id; }
  bool blob_exists(const std::string& file_id) const;
  std::string api_key() const;
  // `tetherd token USER [--ttl T]` with this server's data dir and --set options.
  std::string token(const std::string& user, const std::string& ttl = "") const;
  std::string jwt_secret() const;
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // The server's stderr so far (for diagnostics).
  std::string log() const;
  // What the last start printed on stdout before its `listening on` line (should be nothing).
  const std::string& stdout_before_listening() const { return stdout_preamble_; }

  void kill9();
  // SIGTERM, then waits for the exit; returns the exit status (128+signal when killed by one,
  // -1 when it had not exited within `timeout` and had to be killed).
  int terminate(ms timeout = 10s);
  // Starts again on the same data dir with the same --set options (new port).
  void restart();

private:
  void start();
  int reap(ms timeout);

  std::vector<std::string> sets_, extra_env_;
  std::string root_, data_dir_, log_path_, stdout_preamble_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::uint16_t port_ = 0;
};

// ---- HTTP ------------------------------------------------------------------------------------

struct http_result {
  int status = 0;  // 0 when the request failed at the transport level
  std::string body;
  std::string error;
  std::map<std::string, std::string> headers;
  json::value json() const;
};

http_result http_call(std::uint16_t port, boost::beast::http::verb verb, const std::string& target,
                      const std::string& bearer = "", const std::string& body = "",
                      const std::string& content_type = "application/octet-stream", ms timeout = 5s);

// One HTTP connection driven byte by byte, for what http_call cannot send: a header without its
// body (to see an answer that comes before the body is read), chunked bodies, Expect: 100-continue.
class raw_http {
public:
  explicit raw_http(std::uint16_t port, ms timeout = 5s);
  ~raw_http();
  // Writes the bytes; false (with last_error) when the write failed or timed out.
  bool send(const std::string& bytes, ms timeout = 5s);
  // The next answer (a `100 Continue` is one, with status 100); status 0 and `error` when the
  // connection closed or nothing complete came within the timeout.
  http_result read(ms timeout = 5s);
  // Whether the server has closed the connection (reads EOF or a reset within the timeout).
  bool closed_by_server(ms timeout = 5s);
  std::string last_error() const { return last_error_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string last_error_;
};

// A `POST /api/files` request header (HTTP/1.1) with the given extra header lines ("Name: value\r\n").
std::string upload_header(std::uint16_t port, const std::string& token, const std::string& target,
                          const std::string& extra_lines);

// POST /api/files?name=N as the user; returns the file_id (fails the test when not 201).
std::string upload(const server_process& s, const std::string& token, const std::string& name, const std::string& body);

// GET /api/audit with the api key; query like "session_id=s_..." (may be empty).
std::vector<json::object> audit(const server_process& s, const std::string& query = "");

// Whether `records` holds one with this event (and, when given, reason and file_id).
// Empty strings match anything.
bool has_record(const std::vector<json::object>& records, const std::string& event, const std::string& reason = "",
                const std::string& file_id = "", const std::string& session_id = "");

std::string str(const json::object& o, const char* key);

// A JSON array of ids, for file_ids and the like.
json::array ids(std::initializer_list<std::string> l);

// Audit records one per line, for failure messages.
std::string dump(const std::vector<json::object>& records);

// ---- WebSocket -------------------------------------------------------------------------------

class ws_client {
public:
  using headers = std::vector<std::pair<std::string, std::string>>;

  explicit ws_client(std::uint16_t port);
  ~ws_client();

  // Opens the connection; returns the HTTP status of the upgrade answer (101 on success, 0 when
  // the TCP connection or handshake failed otherwise). `body()` holds the refusal's body.
  int connect(const std::string& target, const headers& extra = {}, ms timeout = 5s);
  const std::string& body() const { return refusal_body_; }

  bool send_text(const std::string& text, ms timeout = 5s);
  bool send_json(const json::object& o, ms timeout = 5s) { return send_text(json::serialize(o), timeout); }
  bool send_binary(const std::string& bytes, ms timeout = 5s);
  // One text message sent as several frames (first text, then continuations), split as given.
  bool send_fragments(const std::vector<std::string>& parts, ms timeout = 5s);

  // The next message as a JSON object; nullopt on timeout, close or a non-object message.
  // Server pings are answered (by Beast) only while this, wait_close or next_of_type runs:
  // a client that never reads never answers pings.
  std::optional<json::object> next_json(ms timeout = 5s);
  // Skips messages until one of `type` arrives.
  std::optional<json::object> next_of_type(const std::string& type, ms timeout = 5s);
  // Reads (discarding messages) until the connection closes; returns the close code the server
  // sent, 1006 when the TCP connection ended without a close frame, nullopt on timeout.
  std::optional<int> wait_close(ms timeout = 5s);
  // Sends a close frame and waits for the server's.
  bool close(int code = 1000, ms timeout = 5s);
  // Closes the TCP socket without a close frame.
  void drop();

  bool is_open() const { return ws_.is_open() && !closed_; }
  std::optional<int> close_code() const { return close_code_; }
  std::string last_error() const { return last_error_.message(); }

private:
  bool run(bool& done, ms timeout);
  bool send_message(const std::string& bytes, bool binary, ms timeout);
  void start_read();

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::uint16_t port_;
  std::string refusal_body_;

  // One read at a time; it may outlive a next_json that timed out, and completes later.
  boost::beast::flat_buffer buffer_;
  bool read_pending_ = false, read_done_ = false;
  boost::beast::error_code read_ec_, last_error_;
  bool closed_ = false;
  std::optional<int> close_code_;
};

// Connects to /ws?token=T (optionally &resume=R) and returns the `connected` message.
std::optional<json::object> open_session(ws_client& c, const std::string& token, const std::string& resume = "",
                                         const std::string& path = "/ws");

// Sends `msg` and returns the next message (expected to be the reply).
std::optional<json::object> request(ws_client& c, const json::object& msg, ms timeout = 5s);

// ---- arrange steps the tests share ---------------------------------------------------------

// The ids a test keeps from `connected`; empty (and the test failed) when the session did not open.
struct session_ids {
  std::string session_id, resume_token;
};
session_ids open_session_ids(ws_client& c, const std::string& token, const std::string& resume = "");

// Sends `register` with `file_ids`; true when the answer registered exactly them (else the test failed).
bool register_files(ws_client& c, const std::vector<std::string>& file_ids);

// A session tracking files, the arrange step of most file tests: one upload per name (its content
// is its name), a session opened on `c`, the uploads registered in it.
struct draft {
  std::string token;  // the user's
  std::string session_id, resume_token;
  std::vector<std::string> file_ids;
};
draft open_draft(const server_process& s, ws_client& c, const std::string& token,
                 const std::vector<std::string>& names = {"photo.jpg"});

// A draft whose session then ended with a normal close (1000); the client is gone.
draft closed_draft(const server_process& s, const std::string& token,
                   const std::vector<std::string>& names = {"photo.jpg"});
// A draft whose session was persisted by a graceful shutdown: SIGTERM while it was connected
// (terminate_while_connected); the server is stopped afterwards.
draft draft_through_sigterm(server_process& s, const std::string& token,
                            const std::vector<std::string>& names = {"photo.jpg"});

// GET /api/files/F as the user: the body (the test failed unless the answer was 200).
std::string download(const server_process& s, const std::string& token, const std::string& file_id);

// Resumes `d` on `c` (a new connection): the `connected` message when it says the session came back
// whole (resumed, the same session id, the same files); nullopt (and the test failed) otherwise.
std::optional<json::object> resume_draft(ws_client& c, const std::string& token, const draft& d);

// SIGTERM while `c` reads (and answers the close); true when the server closed `c` with 1001 and
// exited with 0 (else the test failed).
bool terminate_while_connected(server_process& s, ws_client& c);

// Waits until the audit holds session_closed for `session_id` and returns the records then (the
// test failed when it did not come within `timeout`).
std::vector<json::object> wait_session_closed(const server_process& s, const std::string& session_id, ms timeout = 3s);

// ---- metrics ---------------------------------------------------------------------------------

// GET /metrics as a map from series (name with its labels, as printed: `x{kind="y"}`) to value;
// empty when the request failed.
std::map<std::string, double> metrics(std::uint16_t port);

// The `tether_live_objects` gauges that are not zero, as "kind=N ..." (empty: all zero).
std::string live_objects_left(std::uint16_t port);

// ---- the database ----------------------------------------------------------------------------

// Runs a read-only query on DIR/tether.db (for checking what was persisted while the server is
// stopped); rows of text columns (NULL as "NULL").
std::vector<std::vector<std::string>> sql_rows(const server_process& s, const std::string& query);

// ---- tokens ----------------------------------------------------------------------------------

// An HS256 JWT signed with `secret` (for tokens tetherd token cannot make, like expired ones).
std::string sign_jwt(const json::object& claims, const std::string& secret);

std::int64_t unix_seconds();

}  // namespace tether::it
