#pragma once
// Every open WebSocket connection, weakly, so that shutdown can close the ones no session asked
// to close: connections still authenticating or waiting for a place are known to no actor that
// outlives them. Without this, such a connection and its session keep each other alive and the
// actor system never finishes at exit. One mutex, taken once per connection open and close.
#include "actors/client_link.hpp"

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tether {

class connection_registry {
public:
  void add(const std::shared_ptr<client_link>& link) {
    std::lock_guard<std::mutex> lock(mutex_);
    links_.emplace(link.get(), link);
  }
  // From the connection's destructor.
  void remove(const client_link* link) {
    std::lock_guard<std::mutex> lock(mutex_);
    links_.erase(link);
  }
  void close_all(std::uint16_t code, const std::string& reason) {
    std::vector<std::shared_ptr<client_link>> open;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [ptr, weak] : links_)
        if (auto l = weak.lock()) open.push_back(std::move(l));
    }
    for (auto& l : open) l->close(code, reason);  // idempotent: the first close wins
  }

private:
  std::mutex mutex_;
  std::unordered_map<const client_link*, std::weak_ptr<client_link>> links_;
};

}  // namespace tether
