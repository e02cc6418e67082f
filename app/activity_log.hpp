#pragma once
// The info-level summary of what the server did: at most one line per interval (1 s), and only
// when something happened, e.g. "activity in the last 1.0s: 3 session(s) opened, 2 ended,
// 4 file(s) deleted". A busy server must not write one info line per session; the per-event lines
// are at debug level (database::audit). Runs on the io_context; it only reads atomic counters.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace tether {

class activity_log : public std::enable_shared_from_this<activity_log> {
public:
  explicit activity_log(boost::asio::io_context& ioc,
                        std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  void run();

private:
  void schedule();
  void summarise();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point since_;  // the last summary line, or the start
};

}  // namespace tether
