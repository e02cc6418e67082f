#pragma once
// What every network object shares: settings, the actor handles, the blob store, readiness and
// per-IP connection counts.
#include "actors/live_counts.hpp"
#include "actors/session.hpp"
#include "actors/supervisor.hpp"
#include "net/connection_registry.hpp"
#include "net/guest_limiter.hpp"
#include "storage/blob_store.hpp"
#include "net/readiness_probe.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <caf/actor_system.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tether {

class ip_limiter {
public:
  explicit ip_limiter(std::int64_t per_ip) : per_ip_(per_ip) {}
  // Counts a connection from `ip`; false (and not counted) when the address is at its limit.
  bool acquire(const std::string& ip) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& n = counts_[ip];
    if (n >= per_ip_) {
      if (n == 0) counts_.erase(ip);  // a limit of 0 admits nobody and keeps no entry
      return false;
    }
    ++n;
    live().ip_entries = static_cast<std::int64_t>(counts_.size());
    return true;
  }
  void release(const std::string& ip) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = counts_.find(ip);
    if (it != counts_.end() && --it->second <= 0) counts_.erase(it);
    live().ip_entries = static_cast<std::int64_t>(counts_.size());
  }

private:
  std::int64_t per_ip_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> counts_;
};

struct server_context {
  server_context(caf::actor_system& s, std::shared_ptr<const settings> c)
      : sys(s),
        cfg(std::move(c)),
        limiter(cfg->limits.max_connections_per_ip),
        guest_limits(cfg->limits.guests_per_ip_per_minute) {}
  caf::actor_system& sys;
  std::shared_ptr<const settings> cfg;
  session_deps deps;
  supervisor_actor supervisor;
  std::shared_ptr<local_blob_store> blobs;
  std::shared_ptr<readiness_probe> storage_probe;  // set: /readyz also says whether the disk takes writes
  std::shared_ptr<boost::asio::ssl::context> tls;  // set: every connection is TLS (https, wss)
  // The I/O threads: where answers that need the disk (opening a file to send) continue, so that
  // no scheduler thread waits on it.
  std::optional<boost::asio::any_io_executor> io;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> websocket_connections{0};
  ip_limiter limiter;
  guest_limiter guest_limits;  // POST /api/guests
  connection_registry connections;
};

}  // namespace tether
