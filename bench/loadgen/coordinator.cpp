#include "bench/loadgen/coordinator.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace loadgen {
namespace {

std::int64_t process_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) { return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000'000 + tv.tv_usec * 1000; };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

// utime + stime of another process from /proc/PID/stat, in ns; -1 if it cannot be read.
std::int64_t other_process_cpu_ns(long pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const auto close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(line.substr(close + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoll(f);
    if (i == 15) stime = std::stoll(f);
  }
  return (utime + stime) * (1'000'000'000 / sysconf(_SC_CLK_TCK));
}

std::string run_token_cmd(std::string cmd, const std::string& user) {
  for (std::size_t pos; (pos = cmd.find("{user}")) != std::string::npos;) cmd.replace(pos, 6, user);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run --token-cmd");
  char buf[4096];
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) throw std::runtime_error("--token-cmd failed for " + user);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

}  // namespace

coordinator::coordinator(options o) : opts_(std::move(o)) {}

coordinator::~coordinator() {
  for (auto& w : workers_) w->stop_and_join();
}

void coordinator::make_workers() {
  asio::io_context resolver_ctx;
  asio::ip::tcp::resolver resolver(resolver_ctx);
  const auto remote = resolver.resolve(opts_.host, opts_.port).begin()->endpoint();
  std::vector<asio::ip::address> sources;
  for (const auto& s : opts_.source_ips) sources.push_back(asio::ip::make_address(s));

  const auto sep = opts_.path.find('?') == std::string::npos ? '?' : '&';
  std::vector<std::vector<client_target>> targets(opts_.threads);
  std::vector<std::vector<std::size_t>> globals(opts_.threads);
  for (std::size_t i = 0; i < opts_.connections; ++i) {
    client_target t;
    t.remote = remote;
    if (!sources.empty()) t.source = sources[i % sources.size()];
    t.host = opts_.host + ":" + opts_.port;
    const auto user = user_of(opts_, i);
    t.path = opts_.path + sep + (opts_.token_cmd.empty() ? "user_id=" + user : "token=" + run_token_cmd(opts_.token_cmd, user));
    t.max_queue = opts_.max_queue;
    targets[i % opts_.threads].push_back(std::move(t));
    globals[i % opts_.threads].push_back(i);
  }
  for (unsigned w = 0; w < opts_.threads; ++w)
    workers_.push_back(std::make_unique<worker>(w, opts_, std::move(targets[w]), std::move(globals[w])));
  for (auto& w : workers_) w->start();
}

void coordinator::each(const std::function<void(worker&)>& phase) {
  for (auto& w : workers_) {
    worker* p = w.get();
    w->post([phase, p] { phase(*p); });
  }
}

std::uint64_t coordinator::total(std::atomic<std::uint64_t> progress::*field) const {
  std::uint64_t sum = 0;
  for (const auto& w : workers_) sum += (w->stats().live.*field).load(std::memory_order_relaxed);
  return sum;
}

double coordinator::wait_for(const std::function<bool()>& done, double timeout_s) const {
  const auto start = now_ns();
  while (!done()) {
    if (static_cast<double>(now_ns() - start) / 1e9 > timeout_s) return -1;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return static_cast<double>(now_ns() - start) / 1e9;
}

void coordinator::begin_measure() {
  measure_wall_ns_ = now_ns();
  measure_cpu_ns_ = process_cpu_ns();
  measure_thread_ns_.clear();
  for (const auto& w : workers_) measure_thread_ns_.push_back(w->thread_cpu_ns());
  measure_server_ns_ = other_process_cpu_ns(opts_.server_pid);
}

// The traffic phase of echo and fanout: measured for --duration, then `drain_s` for what is in flight.
void coordinator::measure_traffic(run_result& r, const char* phase, double drain_s) {
  r.measured = phase;
  begin_measure();
  const auto end = now_ns() + static_cast<std::int64_t>(opts_.duration_s * 1e9);
  each([end](worker& w) { w.start_traffic(end); });
  sleep_s(opts_.duration_s);
  end_measure(r);
  each([](worker& w) { w.stop_traffic(); });
  sleep_s(drain_s);
}

void coordinator::end_measure(run_result& r) {
  r.measure_s = static_cast<double>(now_ns() - measure_wall_ns_) / 1e9;
  r.cpu_s = static_cast<double>(process_cpu_ns() - measure_cpu_ns_) / 1e9;
  for (std::size_t i = 0; i < workers_.size(); ++i)
    r.max_thread_cpu_s = std::max(r.max_thread_cpu_s, static_cast<double>(workers_[i]->thread_cpu_ns() - measure_thread_ns_[i]) / 1e9);
  const auto server = other_process_cpu_ns(opts_.server_pid);
  if (server >= 0 && measure_server_ns_ >= 0) r.server_cpu_s = static_cast<double>(server - measure_server_ns_) / 1e9;
}

run_result coordinator::run() {
  run_result r;
  make_workers();
  const auto n = opts_.connections;
  auto opened = [this] { return total(&progress::opened); };

  // Open: every connection upgraded or failed. The idle scenario measures this phase.
  if (opts_.scenario == scenario_kind::idle) {
    r.measured = "open";
    begin_measure();
  }
  each([](worker& w) { w.open_all(); });
  r.open_s = wait_for([&] { return opened() + total(&progress::open_failed) >= n; }, opts_.timeout_s);
  if (opts_.scenario == scenario_kind::idle) end_measure(r);

  if (opts_.scenario == scenario_kind::idle) {
    sleep_s(opts_.duration_s);  // hold; losses show in the live counters
  } else if (opts_.scenario == scenario_kind::echo) {
    measure_traffic(r, "echo", 0.2);  // then the last pongs in flight
  } else if (opts_.scenario == scenario_kind::chat || opts_.scenario == scenario_kind::notify) {
    // Every connection subscribed (its chat, or its notifications) before anything is sent.
    const auto members = opened();
    each([](worker& w) { w.subscribe_all(); });
    r.join_s = wait_for([&] { return total(&progress::joined) >= members; }, opts_.timeout_s);
    measure_traffic(r, opts_.scenario == scenario_kind::chat ? "chat" : "notify", opts_.drain_s);
  } else if (opts_.scenario == scenario_kind::history) {
    if (opts_.fill > 0) {
      // Stored through the server, one connection, --window in flight: the fill's own rate is reported.
      const auto start = now_ns();
      each([](worker& w) { w.fill_all(); });
      const auto s = wait_for([&] { return total(&progress::filled) >= opts_.fill; }, 1e9);
      r.fill_s = s < 0 ? -1 : static_cast<double>(now_ns() - start) / 1e9;
    }
    measure_traffic(r, "history", 0.5);
  } else {
    // join and fanout both start by putting everyone in the room at once.
    const auto members = opened();
    if (opts_.scenario == scenario_kind::join) {
      r.measured = "join";
      begin_measure();
    }
    each([members](worker& w) { w.join_all(members); });
    r.join_s = wait_for([&] { return total(&progress::joined) >= members; }, opts_.timeout_s);
    if (opts_.wait_all_joined || opts_.scenario == scenario_kind::fanout) {
      // Fanout waits for the user_joined storm to end so that it is not measured as fan-out.
      r.all_seen_s = wait_for([&] { return total(&progress::fully_seen) >= members; }, opts_.timeout_s);
      if (r.all_seen_s >= 0 && r.join_s >= 0) r.all_seen_s += r.join_s;
    }
    if (opts_.scenario == scenario_kind::join) end_measure(r);
    if (opts_.scenario == scenario_kind::fanout) {
      measure_traffic(r, "publish", opts_.drain_s);
    }
  }

  r.opened = opened();
  r.open_failed = total(&progress::open_failed);
  r.joined = total(&progress::joined);
  r.fully_seen = total(&progress::fully_seen);
  r.lost = total(&progress::lost);
  r.filled = total(&progress::filled);
  each([](worker& w) { w.close_all(); });
  sleep_s(0.3);  // close handshakes; a server too slow to answer them is not our measurement
  for (auto& w : workers_) w->stop_and_join();

  for (auto& w : workers_) {
    const auto& s = w->stats();
    auto& t = r.totals;
    t.connect_failed += s.connect_failed;
    t.handshake_failed += s.handshake_failed;
    t.closed_by_server += s.closed_by_server;
    t.read_errors += s.read_errors;
    t.write_errors += s.write_errors;
    t.send_dropped += s.send_dropped;
    t.server_errors += s.server_errors;
    t.unparsed += s.unparsed;
    t.pings_answered += s.pings_answered;
    t.sent += s.sent;
    t.received += s.received;
    t.bytes_received += s.bytes_received;
    t.round_trips += s.round_trips;
    t.round_trips_in_window += s.round_trips_in_window;
    t.user_joined_seen += s.user_joined_seen;
    t.published += s.published;
    t.delivered += s.delivered;
    t.delivered_in_window += s.delivered_in_window;
    t.gaps += s.gaps;
    t.reordered += s.reordered;
    t.receipts += s.receipts;
    t.echoes += s.echoes;
    t.history_messages += s.history_messages;
    t.http_requests += s.http_requests;
    t.http_in_window += s.http_in_window;
    t.http_failed += s.http_failed;
    t.notify_delivered += s.notify_delivered;
    t.notify_stored += s.notify_stored;
    t.http_ns.merge(s.http_ns);
    for (const auto& [k, v] : s.reasons) t.reasons[k] += v;
    t.upgrade_ns.merge(s.upgrade_ns);
    t.join_ns.merge(s.join_ns);
    t.latency_ns.merge(s.latency_ns);
  }
  return r;
}

}  // namespace loadgen
