#pragma once
// One generator thread: its own io_context, its share of the connections, its own stats.
// The main thread drives the phases by posting to it (open, join, start/stop traffic, close)
// and watches worker_stats::live to know when a phase is over.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/loadgen/client.hpp"
#include "bench/loadgen/options.hpp"
#include "bench/loadgen/worker_stats.hpp"

namespace loadgen {

// Nanoseconds of CLOCK_MONOTONIC (steady_clock on Linux): one clock for every thread of the process.
std::int64_t now_ns();

class worker : public client_events {
 public:
  // targets: the connections of this worker, in order; global[i] is the run-wide index of targets[i].
  worker(unsigned id, const options& o, std::vector<client_target> targets, std::vector<std::size_t> global);
  ~worker() override;

  void start();
  void post(std::function<void()> f);
  void stop_and_join();
  // CPU time of this worker's thread so far (ns).
  std::int64_t thread_cpu_ns() const;

  worker_stats& stats() { return stats_; }

  // Phases, each run on the worker's thread through post().
  void open_all();
  // room_size: the members the room will end with (the connections that opened).
  void join_all(std::uint64_t room_size);
  // chat, notify: subscribe every connection (counted as joined on `subscribed`).
  void subscribe_all();
  // history --fill: connection 0 sends --fill messages into the chat, --window in flight.
  void fill_all();
  // window_end: deliveries after it count as drained (the throughput is the in-window count).
  void start_traffic(std::int64_t window_end);
  void stop_traffic();
  void close_all();

  // client_events
  void on_open(client& c) override;
  void on_open_failed(client& c, const char* stage, const std::string& reason) override;
  void on_text(client& c, std::string_view text) override;
  void on_lost(client& c, const char* stage, const std::string& reason) override;
  void on_ping(client& c) override;
  void on_send_dropped(client& c) override;

 private:
  // What the generator remembers per connection for the scenarios.
  struct member {
    std::shared_ptr<client> conn;
    std::size_t global = 0;
    std::int64_t open_started_ns = 0;
    std::int64_t join_sent_ns = 0;
    std::uint64_t user_joined_due = UINT64_MAX;  // N - occupancy, known once room_joined came
    std::uint64_t user_joined_seen = 0;
    bool joined = false;
    bool fully_seen = false;
    bool gone = false;
    std::vector<std::uint64_t> next_seq;  // fanout: next seq expected from each publisher
    std::uint64_t pub_seq = 0;            // fanout: this member's next seq when it publishes
    std::unique_ptr<asio::steady_timer> pub_timer;
    std::int64_t pub_next_ns = 0;
    std::string chat;                     // chat, history: the chat it sends to / reads
    std::int64_t last_message_id = 0;     // chat: the last message_id it received
    std::int64_t max_id = 0;              // history: the newest id, from its first answer
    std::uint64_t fill_sent = 0;          // history: --fill messages sent
  };

  void send_chat(member& m);
  void on_new_message(member& m, std::string_view text, std::int64_t now);
  void send_history(member& m);
  void on_history(member& m, std::string_view text, std::int64_t now);
  void on_notification(std::string_view text, std::int64_t now);
  void start_posters();
  void open_more();
  void count_reason(const std::string& what);
  void send(member& m, std::string text);
  void on_room_joined(member& m, std::string_view text, std::int64_t now);
  void on_user_joined(member& m);
  void on_room_message(member& m, std::string_view text, std::int64_t now);
  void on_pong(member& m, std::string_view text, std::int64_t now);
  void send_ping(member& m);
  void publish(member& m);
  void schedule_publish(member& m);
  bool is_publisher(const member& m) const { return m.global < opts_.publishers; }

  unsigned id_;
  const options& opts_;
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::vector<client_target> targets_;
  std::vector<member> members_;
  std::size_t next_to_open_ = 0;
  std::size_t pending_ = 0;
  std::int64_t open_began_ns_ = 0;
  asio::steady_timer open_timer_;
  bool traffic_on_ = false;
  std::vector<std::shared_ptr<class http_poster>> posters_;
  std::uint64_t notify_seq_ = 0;
  std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;  // history: xorshift for before_id
  std::uint64_t room_size_ = 0;
  std::int64_t window_end_ns_ = INT64_MAX;  // deliveries after it count as drained, not in-window
  worker_stats stats_;
};

}  // namespace loadgen
