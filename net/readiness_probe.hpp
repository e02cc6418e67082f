#pragma once
// Whether the server can still write where it must: the blob directory (uploads land in
// blob_dir/.incoming) and the data directory (tether.db and its journal). A background thread
// creates and removes a small probe file in each about once a second and keeps the result, so
// /readyz reads a cached answer and never does disk work on an I/O thread, however often it is
// scraped.
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tether {

class readiness_probe {
public:
  struct failure {
    std::string check;  // "blob_dir" or "data_dir" or "database"
    std::string path;
    std::string error;
  };

  // Runs the first check at once (start-up may block), then every `interval` on its own thread.
  // Not an option: with the default /readyz is at most a second stale, and two tiny files a second
  // cost the disk nothing.
  readiness_probe(std::string blob_dir, std::string data_dir,
                  std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  ~readiness_probe();
  readiness_probe(const readiness_probe&) = delete;
  readiness_probe& operator=(const readiness_probe&) = delete;

  // The failures of the last check (empty: healthy).
  std::vector<failure> failures() const;
  static boost::json::array to_json(const std::vector<failure>& f);

private:
  std::vector<failure> check() const;
  void run();

  std::string blob_dir_, data_dir_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<failure> failures_;
  std::thread thread_;
};

}  // namespace tether
