#include "net/readiness_probe.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace tether {

namespace {

// Creates, writes one byte to, and removes `dir`/.readyz-probe; the error text, or empty.
std::string probe_dir(const std::string& dir) {
  auto path = dir + "/.readyz-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::strerror(errno);
  std::string error;
  if (::write(fd, "x", 1) != 1) error = std::strerror(errno);
  if (::close(fd) != 0 && error.empty()) error = std::strerror(errno);
  if (::unlink(path.c_str()) != 0 && error.empty()) error = std::strerror(errno);
  return error;
}

// The database file must still be there and writable (SQLite keeps writing to a file that was
// removed or replaced under it, and nothing of it would survive a restart).
std::string probe_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  return {};
}

}  // namespace

readiness_probe::readiness_probe(std::string blob_dir, std::string data_dir, std::chrono::milliseconds interval)
    : blob_dir_(std::move(blob_dir)), data_dir_(std::move(data_dir)), interval_(interval), failures_(check()) {
  thread_ = std::thread([this] { run(); });
}

readiness_probe::~readiness_probe() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::vector<readiness_probe::failure> readiness_probe::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

std::vector<readiness_probe::failure> readiness_probe::check() const {
  std::vector<failure> out;
  auto incoming = blob_dir_ + "/.incoming";
  if (auto e = probe_dir(incoming); !e.empty()) out.push_back({"blob_dir", incoming, e});
  if (auto e = probe_dir(data_dir_); !e.empty()) out.push_back({"data_dir", data_dir_, e});
  auto db = data_dir_ + "/tether.db";
  if (auto e = probe_file(db); !e.empty()) out.push_back({"database", db, e});
  return out;
}

void readiness_probe::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    auto now = check();
    lock.lock();
    // Logged on every change, not every second.
    if (now.size() != failures_.size()) {
      if (now.empty())
        spdlog::info("readiness: storage writable again; /readyz answers 200");
      else
        for (const auto& f : now) spdlog::warn("readiness: {} {} not writable: {}; /readyz answers 503", f.check, f.path, f.error);
    }
    failures_ = std::move(now);
  }
}

boost::json::array readiness_probe::to_json(const std::vector<failure>& failures) {
  boost::json::array out;
  for (const auto& f : failures) out.push_back(boost::json::object{{"check", f.check}, {"path", f.path}, {"error", f.error}});
  return out;
}

}  // namespace tether
