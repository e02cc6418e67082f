#pragma once
// The webhook transport over HTTP/1.1 (Beast's async client on the server's io_context): one
// connection per POST (Connection: close), the whole exchange bounded by webhooks.timeout_ms. The
// sender actor bounds how many are under way. Plain http:// only (refused otherwise at start-up).
#include "actors/webhook_transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <string>

namespace tether {

class webhook_client : public webhook_transport {
public:
  // Throws std::invalid_argument for a URL that is not http://host[:port][/path] (start-up only).
  webhook_client(boost::asio::any_io_executor ex, const std::string& url, std::chrono::milliseconds timeout);
  void post(std::string body, std::string signature, std::function<void(std::string error)> done) override;

  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  const std::string& target() const { return target_; }

private:
  boost::asio::any_io_executor ex_;
  std::string host_, port_, target_;
  std::chrono::milliseconds timeout_;
};

}  // namespace tether
