#include "app/data_dir_lock.hpp"

#include "app/startup_error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace tether {

namespace {

// The pid the holder wrote, or "unknown" (it may be between its flock() and its write()).
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

std::string data_dir_lock::lock_path(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "tetherd.lock").string();
}

data_dir_lock::data_dir_lock(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw startup_error(exit_code::failure, "storage.data_dir: cannot create " + data_dir + ": " + ec.message());
  const std::string path = lock_path(data_dir);
  // O_CLOEXEC: a child process must not inherit (and so prolong) the lock.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw startup_error(exit_code::failure, "cannot open the data dir lock " + path + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string pid = error == EWOULDBLOCK ? holder_pid(fd_) : "";
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw startup_error(exit_code::data_dir_busy,
                          "data dir " + data_dir + " is in use by another tetherd (pid " + pid + ", lock " + path +
                              "); one server per data dir: stop it, or give this one another storage.data_dir");
    throw startup_error(exit_code::failure, "cannot lock " + path + ": " + std::strerror(error));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // The pid is only for messages: failing to write it doesn't weaken the lock.
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace tether
