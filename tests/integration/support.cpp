#include "support.hpp"

#include "tests/support/raw_sqlite.hpp"

#include <algorithm>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace tether::it {

using clock = std::chrono::steady_clock;

bool run_blocked_tests() {
  const char* v = std::getenv("IT_RUN_BLOCKED");
  return v && std::string(v) == "1";
}

// ---- conditions ------------------------------------------------------------------------------

bool wait_until(const std::function<bool()>& pred, ms timeout) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(10ms);  // polling interval of a bounded condition wait
  }
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- child processes -------------------------------------------------------------------------

namespace {

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// waitpid with a deadline; returns the decoded status or nullopt when still running.
std::optional<int> wait_exit(pid_t pid, ms timeout) {
  std::optional<int> result;
  wait_until(
      [&] {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) result = decode_status(status);
        else if (r < 0 && errno != EINTR) result = -1;
        return result.has_value();
      },
      timeout);
  return result;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

// TETHERD in the environment runs another build of the server (e.g. an instrumented copy).
std::string tetherd_path() {
  const char* override_path = std::getenv("TETHERD");
  return override_path && *override_path ? override_path : TETHERD_PATH;
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/tether-it-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

command_result run_serve(const std::string& data_dir, const std::vector<std::string>& sets, ms timeout) {
  std::vector<std::string> args{tetherd_path(), "serve", "--set", "server.port=0", "--set", "storage.data_dir=" + data_dir};
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return run_command(args, timeout);
}

command_result run_command(const std::vector<std::string>& argv_in, ms timeout) {
  command_result result;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  auto args = argv_in;
  auto argv = c_argv(args);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  auto deadline = clock::now() + timeout;
  std::array<pollfd, 2> fds{{{out[0], POLLIN, 0}, {err[0], POLLIN, 0}}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<ms>(deadline - clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (timed_out) ::kill(pid, SIGKILL);
  auto status = wait_exit(pid, timed_out ? 5s : std::chrono::duration_cast<ms>(timeout));
  if (!status) {
    ::kill(pid, SIGKILL);
    status = wait_exit(pid, 5s);
  }
  result.status = timed_out ? -1 : status.value_or(-1);
  return result;
}

server_process::server_process(std::vector<std::string> sets, std::vector<std::string> extra_env)
    : sets_(std::move(sets)), extra_env_(std::move(extra_env)) {
  char tmpl[] = "/tmp/tether-it-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  data_dir_ = root_ + "/data";
  log_path_ = root_ + "/tetherd.log";
  try {
    start();
  } catch (...) {
    std::cerr << "---- tetherd log ----\n" << log() << "---- end ----\n";
    if (pid_ > 0) kill9();
    std::error_code ec;
    fs::remove_all(root_, ec);
    throw;
  }
}

server_process::~server_process() {
  // Every test ends its server with SIGTERM and expects a clean exit (0): a shutdown that hangs,
  // crashes, or, in the sanitizer run (scripts/sanitize.sh), reports a leak or an error fails the
  // test that caused it. The server's stderr (with any sanitizer report) is printed below.
  if (pid_ > 0) {
    auto pid = pid_;
    int status = terminate(15s);
    if (status != 0) ADD_FAILURE() << "tetherd " << pid << " did not exit cleanly at the end of the test (status " << status << ")";
  }
  if (::testing::Test::HasFailure()) {
    auto text = log();
    // A sanitizer report is shown from its start; otherwise the end of the log.
    auto report = text.find("==ERROR: ");
    if (report == std::string::npos) report = text.find("runtime error: ");
    if (report != std::string::npos)
      text = "...\n" + text.substr(report > 200 ? report - 200 : 0, 12000);
    else if (text.size() > 6000)
      text = "...\n" + text.substr(text.size() - 6000);
    std::cerr << "---- tetherd log (" << data_dir_ << ") ----\n" << text << "---- end ----\n";
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string server_process::log() const { return read_file(log_path_); }

void server_process::start() {
  std::vector<std::string> args{tetherd_path(), "serve", "--set", "server.port=0", "--set",
                                "storage.data_dir=" + data_dir_};
  for (const auto& s : sets_) {
    args.push_back("--set");
    args.push_back(s);
  }
  auto argv = c_argv(args);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& e : extra_env_) env_strings.push_back(e);
  auto envp = c_argv(env_strings);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::string log_path = log_path_;
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], 1);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log_fd >= 0) ::dup2(log_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  pid_ = pid;
  stdout_fd_ = out[0];

  // Reads stdout up to the line "listening on 127.0.0.1:PORT"; anything before it is kept in
  // stdout_preamble_ (a test checks that there is none).
  const std::string prefix = "listening on ";
  std::string pending;
  stdout_preamble_.clear();
  auto deadline = clock::now() + 10s;
  for (;;) {
    auto nl = pending.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.rfind(prefix, 0) == 0) {
        auto colon = line.rfind(':');
        if (colon == std::string::npos) throw std::runtime_error("bad listening line: " + line);
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
        break;
      }
      stdout_preamble_ += line + "\n";
      continue;
    }
    auto left = std::chrono::duration_cast<ms>(deadline - clock::now()).count();
    if (left <= 0) throw std::runtime_error("tetherd did not print its listening line within 10 s");
    pollfd p{stdout_fd_, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[512];
    ssize_t r = ::read(stdout_fd_, buf, sizeof buf);
    if (r == 0) throw std::runtime_error("tetherd exited before listening; stdout: " + stdout_preamble_ + pending);
    if (r > 0) pending.append(buf, static_cast<std::size_t>(r));
  }

  // Ready once crash recovery is done. A TLS server is checked by its test, over TLS.
  bool tls = std::any_of(sets_.begin(), sets_.end(), [](const std::string& s) { return s.rfind("server.tls_cert=", 0) == 0; });
  if (tls) return;
  bool ready = wait_until([&] { return http_call(port_, http::verb::get, "/readyz", "", "", "", 1s).status == 200; },
                          10s);
  if (!ready) throw std::runtime_error("/readyz did not turn 200 within 10 s");
}

int server_process::reap(ms timeout) {
  auto status = wait_exit(pid_, timeout);
  if (!status) return -1;
  pid_ = -1;
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
  return *status;
}

void server_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  if (reap(10s) == -1 && pid_ > 0) ADD_FAILURE() << "tetherd " << pid_ << " survived SIGKILL for 10 s";
}

int server_process::terminate(ms timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto pid = pid_;
  int status = reap(timeout);
  if (pid_ == pid) {  // still running
    kill9();
    return -1;
  }
  return status;
}

void server_process::restart() {
  if (pid_ > 0) throw std::runtime_error("restart() while the server is still running");
  start();
}

bool server_process::blob_exists(const std::string& file_id) const {
  std::error_code ec;
  return fs::exists(blob_path(file_id), ec);
}

std::string server_process::api_key() const { return trim(read_file(data_dir_ + "/api_key")); }
std::string server_process::jwt_secret() const { return trim(read_file(data_dir_ + "/jwt_secret")); }

std::string server_process::token(const std::string& user, const std::string& ttl) const {
  std::vector<std::string> args{tetherd_path(), "token", user, "--set", "storage.data_dir=" + data_dir_};
  for (const auto& s : sets_) {
    args.push_back("--set");
    args.push_back(s);
  }
  if (!ttl.empty()) {
    args.push_back("--ttl");
    args.push_back(ttl);
  }
  auto r = run_command(args);
  if (r.status != 0) throw std::runtime_error("tetherd token failed (" + std::to_string(r.status) + "): " + r.err);
  return trim(r.out);
}

// ---- HTTP ------------------------------------------------------------------------------------

json::value http_result::json() const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return nullptr;
  return v;
}

http_result http_call(std::uint16_t port, http::verb verb, const std::string& target, const std::string& bearer,
                      const std::string& body, const std::string& content_type, ms timeout) {
  struct state {
    asio::io_context ioc;
    beast::tcp_stream stream{ioc};
    http::request<http::string_body> req;
    http::response_parser<http::string_body> parser;
    beast::flat_buffer buffer;
    beast::error_code ec;
    bool done = false;
  };
  auto st = std::make_shared<state>();
  st->req = {verb, target, 11};
  st->req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  st->req.set(http::field::connection, "close");
  if (!bearer.empty()) st->req.set(http::field::authorization, "Bearer " + bearer);
  if (!body.empty() || verb == http::verb::post) {
    st->req.set(http::field::content_type, content_type);
    st->req.body() = body;
  }
  st->req.prepare_payload();
  st->parser.body_limit(64 * 1024 * 1024);
  st->parser.skip(verb == http::verb::head);  // a HEAD answer has headers only
  st->stream.expires_after(timeout);
  asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
  st->stream.async_connect(ep, [st](beast::error_code ec) {
    if (ec) {
      st->ec = ec;
      st->done = true;
      return;
    }
    http::async_write(st->stream, st->req, [st](beast::error_code ec, std::size_t) {
      if (ec) {
        st->ec = ec;
        st->done = true;
        return;
      }
      http::async_read(st->stream, st->buffer, st->parser, [st](beast::error_code ec, std::size_t) {
        st->ec = ec;
        st->done = true;
      });
    });
  });
  st->ioc.run_for(timeout + 1s);
  http_result r;
  if (!st->done) {
    r.error = "timeout";
    return r;
  }
  if (st->ec) {
    r.error = st->ec.message();
    return r;
  }
  auto& res = st->parser.get();
  r.status = res.result_int();
  r.body = res.body();
  for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
  return r;
}

struct raw_http::impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  // Runs the pending operation until `done` or the timeout; false on timeout (the op is cancelled).
  bool run(bool& done, ms timeout) {
    ioc.restart();
    auto deadline = clock::now() + timeout;
    while (!done && clock::now() < deadline) ioc.run_one_for(deadline - clock::now());
    if (done) return true;
    stream.cancel();
    ioc.restart();
    ioc.run_for(1s);  // lets the cancelled handler run
    return false;
  }
};

raw_http::raw_http(std::uint16_t port, ms timeout) : impl_(std::make_unique<impl>()) {
  bool done = false;
  beast::error_code ec;
  impl_->stream.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  if (!impl_->run(done, timeout) || ec) last_error_ = ec ? ec.message() : "connect timeout";
}

raw_http::~raw_http() = default;

bool raw_http::send(const std::string& bytes, ms timeout) {
  bool done = false;
  beast::error_code ec;
  asio::async_write(impl_->stream, asio::buffer(bytes), [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!impl_->run(done, timeout)) {
    last_error_ = "write timeout";
    return false;
  }
  if (ec) last_error_ = ec.message();
  return !ec;
}

http_result raw_http::read(ms timeout) {
  http_result r;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bool done = false;
  beast::error_code ec;
  http::async_read(impl_->stream, impl_->buffer, parser, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!impl_->run(done, timeout)) {
    r.error = "timeout";
    return r;
  }
  if (ec) {
    r.error = ec.message();
    return r;
  }
  auto& res = parser.get();
  r.status = res.result_int();
  r.body = res.body();
  for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
  return r;
}

bool raw_http::closed_by_server(ms timeout) {
  bool done = false;
  beast::error_code ec;
  char byte;
  impl_->stream.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  return impl_->run(done, timeout) && ec;
}

std::string upload_header(std::uint16_t port, const std::string& token, const std::string& target,
                          const std::string& extra_lines) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nAuthorization: Bearer " + token + "\r\n" + extra_lines + "\r\n";
}

std::string upload(const server_process& s, const std::string& token, const std::string& name, const std::string& body) {
  auto r = http_call(s.port(), http::verb::post, "/api/files?name=" + name, token, body);
  EXPECT_EQ(r.status, 201) << r.body << r.error;
  auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("file_id")) {
    ADD_FAILURE() << "upload answer without file_id: " << r.body;
    return "";
  }
  auto& o = v.as_object();
  EXPECT_EQ(o["size"].to_number<std::int64_t>(), static_cast<std::int64_t>(body.size()));
  EXPECT_EQ(str(o, "name"), name);
  return std::string(o["file_id"].as_string());
}

std::vector<json::object> audit(const server_process& s, const std::string& query) {
  auto r = http_call(s.port(), http::verb::get, "/api/audit" + (query.empty() ? "" : "?" + query), s.api_key());
  std::vector<json::object> out;
  if (r.status != 200) {
    ADD_FAILURE() << "GET /api/audit?" << query << " -> " << r.status << " " << r.body << r.error;
    return out;
  }
  auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("records") || !v.as_object()["records"].is_array()) {
    ADD_FAILURE() << "bad audit answer: " << r.body;
    return out;
  }
  for (auto& rec : v.as_object()["records"].as_array())
    if (rec.is_object()) out.push_back(rec.as_object());
  return out;
}

std::string dump(const std::vector<json::object>& records) {
  std::string out;
  for (const auto& r : records) out += json::serialize(r) + "\n";
  return out;
}

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return "";
  return std::string(v->as_string());
}

bool has_record(const std::vector<json::object>& records, const std::string& event, const std::string& reason,
                const std::string& file_id, const std::string& session_id) {
  for (const auto& r : records) {
    if (str(r, "event") != event) continue;
    if (!reason.empty() && str(r, "reason") != reason) continue;
    if (!file_id.empty() && str(r, "file_id") != file_id) continue;
    if (!session_id.empty() && str(r, "session_id") != session_id) continue;
    return true;
  }
  return false;
}

// ---- WebSocket -------------------------------------------------------------------------------

ws_client::ws_client(std::uint16_t port) : ws_(ioc_), port_(port) {
  ws_.read_message_max(64 * 1024 * 1024);
}

ws_client::~ws_client() {
  beast::error_code ec;
  auto& sock = beast::get_lowest_layer(ws_).socket();
  if (sock.is_open()) {
    sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }
  // Let cancelled operations finish (they complete at once with operation_aborted).
  ioc_.restart();
  ioc_.poll();
}

bool ws_client::run(bool& done, ms timeout) {
  auto deadline = clock::now() + timeout;
  while (!done) {
    auto now = clock::now();
    if (now >= deadline) return false;
    if (ioc_.stopped()) ioc_.restart();
    if (ioc_.run_one_for(deadline - now) == 0 && ioc_.stopped() && !done) {
      // Nothing left that could complete.
      return done;
    }
  }
  return true;
}

int ws_client::connect(const std::string& target, const headers& extra, ms timeout) {
  struct state {
    bool done = false;
    beast::error_code ec;
    websocket::response_type res;
  };
  auto st = std::make_shared<state>();
  std::string host = "127.0.0.1:" + std::to_string(port_);
  ws_.set_option(websocket::stream_base::decorator([extra](websocket::request_type& req) {
    for (const auto& [k, v] : extra) req.set(k, v);
  }));
  asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port_};
  beast::get_lowest_layer(ws_).async_connect(ep, [this, st, host, target](beast::error_code ec) {
    if (ec) {
      st->ec = ec;
      st->done = true;
      return;
    }
    // Like a browser: no Nagle delay, or a client sending a message while its previous one is
    // unacknowledged waits for the server's delayed ACK (40 ms a message).
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    ws_.async_handshake(st->res, host, target, [st](beast::error_code ec) {
      st->ec = ec;
      st->done = true;
    });
  });
  if (!run(st->done, timeout)) {
    last_error_ = beast::error::timeout;
    return 0;
  }
  last_error_ = st->ec;
  refusal_body_ = st->res.body();
  if (!st->ec) return 101;
  closed_ = true;
  return st->res.result_int() == 101 ? 0 : st->res.result_int();
}

bool ws_client::send_text(const std::string& text, ms timeout) { return send_message(text, false, timeout); }

bool ws_client::send_binary(const std::string& bytes, ms timeout) { return send_message(bytes, true, timeout); }

// One message in one frame, text or binary; the stream is back in text mode afterwards.
bool ws_client::send_message(const std::string& bytes, bool binary, ms timeout) {
  auto st = std::make_shared<std::pair<bool, std::string>>(false, bytes);
  auto ec = std::make_shared<beast::error_code>();
  ws_.binary(binary);
  ws_.async_write(asio::buffer(st->second), [st, ec](beast::error_code e, std::size_t) {
    *ec = e;
    st->first = true;
  });
  bool ok = run(st->first, timeout);
  ws_.text(true);
  if (!ok) return false;
  if (*ec) last_error_ = *ec;
  return !*ec;
}

bool ws_client::send_fragments(const std::vector<std::string>& parts, ms timeout) {
  ws_.text(true);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto st = std::make_shared<std::pair<bool, std::string>>(false, parts[i]);
    auto ec = std::make_shared<beast::error_code>();
    ws_.async_write_some(i + 1 == parts.size(), asio::buffer(st->second), [st, ec](beast::error_code e, std::size_t) {
      *ec = e;
      st->first = true;
    });
    if (!run(st->first, timeout)) return false;
    if (*ec) {
      last_error_ = *ec;
      return false;
    }
  }
  return true;
}

void ws_client::start_read() {
  if (read_pending_ || read_done_) return;
  read_pending_ = true;
  buffer_.clear();
  ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
    read_pending_ = false;
    read_done_ = true;
    read_ec_ = ec;
  });
}

std::optional<json::object> ws_client::next_json(ms timeout) {
  if (closed_) return std::nullopt;
  start_read();
  if (!run(read_done_, timeout)) return std::nullopt;
  read_done_ = false;
  if (read_ec_) {
    closed_ = true;
    last_error_ = read_ec_;
    close_code_ = read_ec_ == websocket::error::closed ? static_cast<int>(ws_.reason().code) : 1006;
    return std::nullopt;
  }
  auto text = beast::buffers_to_string(buffer_.data());
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "server sent a message that is not a JSON object: " << text;
    return std::nullopt;
  }
  return v.as_object();
}

std::optional<json::object> ws_client::next_of_type(const std::string& type, ms timeout) {
  auto deadline = clock::now() + timeout;
  while (clock::now() < deadline && !closed_) {
    auto m = next_json(std::chrono::duration_cast<ms>(deadline - clock::now()));
    if (m && str(*m, "type") == type) return m;
  }
  return std::nullopt;
}

std::optional<int> ws_client::wait_close(ms timeout) {
  auto deadline = clock::now() + timeout;
  while (!closed_) {
    auto now = clock::now();
    if (now >= deadline) return std::nullopt;
    next_json(std::chrono::duration_cast<ms>(deadline - now));
  }
  return close_code_;
}

bool ws_client::close(int code, ms timeout) {
  if (closed_) return true;
  auto done = std::make_shared<bool>(false);
  auto ec = std::make_shared<beast::error_code>();
  ws_.async_close(websocket::close_reason(static_cast<std::uint16_t>(code)), [done, ec](beast::error_code e) {
    *ec = e;
    *done = true;
  });
  bool ok = run(*done, timeout);
  closed_ = true;
  if (ok && *ec) last_error_ = *ec;
  return ok && !*ec;
}

void ws_client::drop() {
  beast::error_code ec;
  auto& sock = beast::get_lowest_layer(ws_).socket();
  sock.close(ec);
  closed_ = true;
  ioc_.restart();
  ioc_.poll();
}

std::optional<json::object> open_session(ws_client& c, const std::string& token, const std::string& resume,
                                         const std::string& path) {
  std::string target = path + "?token=" + token;
  if (!resume.empty()) target += "&resume=" + resume;
  int status = c.connect(target);
  if (status != 101) {
    ADD_FAILURE() << "upgrade of " << path << " answered " << status << " " << c.body() << " (" << c.last_error() << ")";
    return std::nullopt;
  }
  auto m = c.next_json();
  if (!m || str(*m, "type") != "connected") {
    ADD_FAILURE() << "expected connected, got " << (m ? json::serialize(*m) : "nothing");
    return std::nullopt;
  }
  return m;
}

std::optional<json::object> request(ws_client& c, const json::object& msg, ms timeout) {
  if (!c.send_json(msg, timeout)) {
    ADD_FAILURE() << "send failed: " << c.last_error();
    return std::nullopt;
  }
  return c.next_json(timeout);
}

// ---- arrange steps -----------------------------------------------------------------------------

session_ids open_session_ids(ws_client& c, const std::string& token, const std::string& resume) {
  auto hello = open_session(c, token, resume);
  if (!hello) return {};
  return {str(*hello, "session_id"), str(*hello, "resume_token")};
}

bool register_files(ws_client& c, const std::vector<std::string>& file_ids) {
  json::array wanted(file_ids.begin(), file_ids.end());
  auto reg = request(c, {{"type", "register"}, {"file_ids", wanted}});
  bool ok = reg && str(*reg, "type") == "registered" && (*reg)["file_ids"] == json::value(wanted);
  EXPECT_TRUE(ok) << "register " << json::serialize(wanted) << " answered " << (reg ? json::serialize(*reg) : "nothing");
  return ok;
}

draft open_draft(const server_process& s, ws_client& c, const std::string& token, const std::vector<std::string>& names) {
  draft d;
  d.token = token;
  for (const auto& name : names) d.file_ids.push_back(upload(s, token, name, name));
  auto ids = open_session_ids(c, token);
  d.session_id = ids.session_id;
  d.resume_token = ids.resume_token;
  if (!d.session_id.empty()) register_files(c, d.file_ids);
  return d;
}

draft closed_draft(const server_process& s, const std::string& token, const std::vector<std::string>& names) {
  ws_client c(s.port());
  auto d = open_draft(s, c, token, names);
  EXPECT_TRUE(c.close(1000)) << c.last_error();
  return d;
}

draft draft_through_sigterm(server_process& s, const std::string& token, const std::vector<std::string>& names) {
  ws_client c(s.port());
  auto d = open_draft(s, c, token, names);
  terminate_while_connected(s, c);
  return d;
}

std::string download(const server_process& s, const std::string& token, const std::string& file_id) {
  auto r = http_call(s.port(), http::verb::get, "/api/files/" + file_id, token);
  EXPECT_EQ(r.status, 200) << "GET /api/files/" << file_id << ": " << r.body << r.error;
  return r.body;
}

std::optional<json::object> resume_draft(ws_client& c, const std::string& token, const draft& d) {
  auto back = open_session(c, token, d.resume_token);
  if (!back) return std::nullopt;
  bool whole = (*back)["resumed"] == json::value(true) && str(*back, "session_id") == d.session_id &&
               (*back)["file_ids"] == json::value(json::array(d.file_ids.begin(), d.file_ids.end()));
  EXPECT_TRUE(whole) << "resuming " << d.session_id << ": " << json::serialize(*back);
  if (!whole) return std::nullopt;
  return back;
}

bool terminate_while_connected(server_process& s, ws_client& c) {
  auto exit_status = std::async(std::launch::async, [&s] { return s.terminate(10s); });
  auto code = c.wait_close(5s);
  int status = exit_status.get();
  EXPECT_EQ(code.value_or(0), 1001) << "the close code at SIGTERM (0: no close frame)";
  EXPECT_EQ(status, 0) << "the exit status after SIGTERM";
  return code == 1001 && status == 0;
}

std::vector<json::object> wait_session_closed(const server_process& s, const std::string& session_id, ms timeout) {
  std::vector<json::object> records;
  bool closed = wait_until(
      [&] {
        records = audit(s);
        return has_record(records, "session_closed", "", "", session_id);
      },
      timeout);
  EXPECT_TRUE(closed) << "no session_closed for " << session_id << ": " << dump(records);
  return records;
}

// ---- the database ----------------------------------------------------------------------------

std::vector<std::vector<std::string>> sql_rows(const server_process& s, const std::string& query) {
  try {
    return testing_support::raw_sqlite(s.data_dir() + "/tether.db").rows(query);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return {};
  }
}

// ---- tokens: HS256 without OpenSSL (this target links none) ------------------------------------

namespace {

struct sha256 {
  std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char block[64];
  std::size_t used = 0;
  std::uint64_t total = 0;

  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void compress(const unsigned char* p) {
    static const std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (std::uint32_t(p[4 * i]) << 24) | (std::uint32_t(p[4 * i + 1]) << 16) | (std::uint32_t(p[4 * i + 2]) << 8) |
             std::uint32_t(p[4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
      std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      std::uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      std::uint32_t ch = (e & f) ^ (~e & g);
      std::uint32_t t1 = hh + S1 + ch + k[i] + w[i];
      std::uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      std::uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      std::uint32_t t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }

  void update(const std::string& data) {
    for (unsigned char ch : data) {
      block[used++] = ch;
      if (used == 64) {
        compress(block);
        used = 0;
      }
    }
    total += data.size();
  }

  std::string finish() {
    std::uint64_t bits = total * 8;
    std::string pad(1, '\x80');
    std::size_t fill = (used < 56 ? 56 - used : 120 - used) - 1;
    pad.append(fill, '\0');
    for (int i = 7; i >= 0; --i) pad.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    auto keep = total;
    update(pad);
    total = keep;
    std::string out;
    for (auto v : h)
      for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  }
};

std::string sha256_of(const std::string& s) {
  sha256 h;
  h.update(s);
  return h.finish();
}

std::string hmac_sha256(std::string key, const std::string& msg) {
  if (key.size() > 64) key = sha256_of(key);
  key.resize(64, '\0');
  std::string ipad(64, '\0'), opad(64, '\0');
  for (int i = 0; i < 64; ++i) {
    ipad[i] = static_cast<char>(key[i] ^ 0x36);
    opad[i] = static_cast<char>(key[i] ^ 0x5c);
  }
  return sha256_of(opad + sha256_of(ipad + msg));
}

std::string base64url(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(in[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
  }
  if (i + 1 == in.size()) {
    std::uint32_t v = std::uint32_t(static_cast<unsigned char>(in[i])) << 16;
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(in[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8);
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
  }
  return out;
}

}  // namespace

std::string sign_jwt(const json::object& claims, const std::string& secret) {
  std::string head = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(json::serialize(claims));
  return head + "." + base64url(hmac_sha256(secret, head));
}

json::array ids(std::initializer_list<std::string> l) {
  json::array a;
  for (const auto& s : l) a.emplace_back(s);
  return a;
}

// ---- metrics ---------------------------------------------------------------------------------

std::map<std::string, double> metrics(std::uint16_t port) {
  std::map<std::string, double> out;
  auto r = http_call(port, http::verb::get, "/metrics");
  if (r.status != 200) return out;
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
    }
  }
  return out;
}

std::string live_objects_left(std::uint16_t port) {
  static const std::string prefix = "tether_live_objects{kind=\"";
  auto m = metrics(port);
  if (m.empty()) return "no metrics";
  std::string left;
  bool any = false;
  for (const auto& [series, value] : m) {
    if (series.compare(0, prefix.size(), prefix) != 0) continue;
    any = true;
    if (value != 0) left += series.substr(prefix.size(), series.size() - prefix.size() - 2) + "=" + std::to_string(static_cast<long>(value)) + " ";
  }
  return any ? left : "no tether_live_objects in /metrics";
}

}  // namespace tether::it
