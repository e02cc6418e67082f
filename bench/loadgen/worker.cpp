#include "bench/loadgen/worker.hpp"

#include "bench/loadgen/http_poster.hpp"

#include <boost/asio/post.hpp>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <chrono>

namespace loadgen {

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

worker::worker(unsigned id, const options& o, std::vector<client_target> targets, std::vector<std::size_t> global)
    : id_(id), opts_(o), guard_(asio::make_work_guard(ioc_)), targets_(std::move(targets)), open_timer_(ioc_) {
  members_.resize(targets_.size());
  for (std::size_t i = 0; i < members_.size(); ++i) {
    members_[i].global = global[i];
    if (o.scenario == scenario_kind::chat || o.scenario == scenario_kind::history) members_[i].chat = chat_of(o, global[i]);
    if (o.scenario == scenario_kind::fanout) members_[i].next_seq.assign(o.publishers, 0);
  }
}

worker::~worker() { stop_and_join(); }

void worker::start() {
  thread_ = std::thread([this] { ioc_.run(); });
}

void worker::post(std::function<void()> f) { asio::post(ioc_, std::move(f)); }

void worker::stop_and_join() {
  if (!thread_.joinable()) return;
  guard_.reset();
  ioc_.stop();
  thread_.join();
}

std::int64_t worker::thread_cpu_ns() const {
  clockid_t cid{};
  timespec ts{};
  // const_cast: native_handle() is not const, reading the clock changes nothing.
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &cid) != 0) return 0;
  if (clock_gettime(cid, &ts) != 0) return 0;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void worker::open_all() {
  open_began_ns_ = now_ns();
  open_more();
}

// Opens as many as the pacing and the in-flight cap allow, then looks again in 1 ms.
void worker::open_more() {
  std::size_t allowed = members_.size();
  if (opts_.open_rate > 0) {
    const double per_thread = opts_.open_rate / opts_.threads;
    const double elapsed_s = static_cast<double>(now_ns() - open_began_ns_) / 1e9;
    allowed = std::min(allowed, static_cast<std::size_t>(elapsed_s * per_thread) + 1);
  }
  while (next_to_open_ < allowed && pending_ < opts_.max_pending) {
    auto& m = members_[next_to_open_];
    m.conn = std::make_shared<client>(ioc_, next_to_open_, *this);
    m.open_started_ns = now_ns();
    ++pending_;
    m.conn->start(targets_[next_to_open_]);
    ++next_to_open_;
  }
  if (next_to_open_ < members_.size()) {
    open_timer_.expires_after(std::chrono::milliseconds(1));
    open_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) open_more();
    });
  }
}

void worker::on_open(client& c) {
  auto& m = members_[c.index()];
  --pending_;
  stats_.upgrade_ns.record(now_ns() - m.open_started_ns);
  stats_.live.opened.fetch_add(1, std::memory_order_relaxed);
}

void worker::on_open_failed(client& c, const char* stage, const std::string& reason) {
  --pending_;
  members_[c.index()].gone = true;
  if (std::string_view(stage) == "connect") ++stats_.connect_failed;
  else ++stats_.handshake_failed;
  count_reason(std::string(stage) + ": " + reason);
  stats_.live.open_failed.fetch_add(1, std::memory_order_relaxed);
}

void worker::on_lost(client& c, const char* stage, const std::string& reason) {
  auto& m = members_[c.index()];
  m.gone = true;
  if (m.pub_timer) m.pub_timer->cancel();
  if (std::string_view(stage) == "closed") ++stats_.closed_by_server;
  else if (std::string_view(stage) == "read") ++stats_.read_errors;
  else ++stats_.write_errors;
  count_reason(std::string(stage) + ": " + reason);
  stats_.live.lost.fetch_add(1, std::memory_order_relaxed);
}

void worker::on_ping(client&) { ++stats_.pings_answered; }

void worker::on_send_dropped(client&) { ++stats_.send_dropped; }

void worker::count_reason(const std::string& what) { ++stats_.reasons[what]; }

void worker::send(member& m, std::string text) {
  if (!m.conn || m.gone) return;
  ++stats_.sent;
  m.conn->send(std::make_shared<const std::string>(std::move(text)));
}

void worker::close_all() {
  traffic_on_ = false;
  for (auto& p : posters_) p->stop();
  open_timer_.cancel();
  for (auto& m : members_) {
    if (m.pub_timer) m.pub_timer->cancel();
    if (m.conn) m.conn->close();
  }
}

}  // namespace loadgen
