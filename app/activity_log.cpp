#include "app/activity_log.hpp"

#include "storage/activity_counts.hpp"

#include <spdlog/spdlog.h>

#include <string>

namespace tether {

activity_log::activity_log(boost::asio::io_context& ioc, std::chrono::milliseconds interval)
    : timer_(ioc), interval_(interval), since_(std::chrono::steady_clock::now()) {}

void activity_log::run() { schedule(); }

void activity_log::schedule() {
  timer_.expires_after(interval_);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return;
    self->summarise();
    self->schedule();
  });
}

void activity_log::summarise() {
  auto& c = activity();
  const auto opened = c.sessions_opened.exchange(0);
  const auto ended = c.sessions_ended.exchange(0);
  const auto deleted = c.files_deleted.exchange(0);
  const auto failed = c.deletions_failed.exchange(0);
  if (opened == 0 && ended == 0 && deleted == 0 && failed == 0) return;  // quiet: no line
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - since_).count();
  since_ = now;
  std::string line = std::to_string(opened) + " session(s) opened, " + std::to_string(ended) + " ended, " +
                     std::to_string(deleted) + " file(s) deleted";
  if (failed > 0) line += ", " + std::to_string(failed) + " deletion(s) failed for good";
  spdlog::info("activity in the last {:.1f}s: {}", seconds, line);
}

}  // namespace tether
