#pragma once
// How the webhook sender reaches the receiver: one signed POST. The actor side sees only this
// interface; the implementation (net/webhook_client, Beast on the server's io_context) lives in
// net/, so actors/ never includes Beast, and tests can put a fake in its place.
#include <functional>
#include <string>

namespace tether {

class webhook_transport {
public:
  virtual ~webhook_transport() = default;
  // POSTs `body` with X-Tether-Signature: `signature`. Never blocks the caller; calls `done`
  // exactly once, on any thread, with an empty string for a 2xx answer, else what went wrong
  // ("HTTP 500", "timeout", "connection refused"...).
  virtual void post(std::string body, std::string signature, std::function<void(std::string error)> done) = 0;
};

}  // namespace tether
