#pragma once
// One server per data dir. Two servers on the same SQLite database and blob directory would each
// "recover" the other's live sessions and delete files their users still hold, so `serve` takes
// an exclusive flock() on DATA_DIR/tetherd.lock before it opens anything, and keeps it for the
// life of the process (the kernel drops it at exit, even after kill -9). The holder's pid is
// written into the file so that a refused second server can say who holds it.
#include <string>

namespace tether {

class data_dir_lock {
public:
  // Creates the data dir if needed and locks it; throws startup_error (exit_code::data_dir_busy)
  // naming the dir and the holder's pid when another process holds the lock.
  explicit data_dir_lock(const std::string& data_dir);
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

  static std::string lock_path(const std::string& data_dir);

private:
  int fd_ = -1;
};

}  // namespace tether
