// A real HTTP receiver of webhooks for the integration tests: a small Beast server on loopback,
// on its own io_context and thread. It records every POST (body, signature header) and answers
// each with the next status the test queued (200 once the queue is empty). It can be stopped
// (connections refused) and started again on the same port.
#pragma once

#include "support.hpp"

#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace tether::it {

class webhook_receiver {
public:
  struct delivery {
    std::string body, signature;
    int answered = 0;  // the status it got
    json::object event;  // the body parsed ({} when it was not a JSON object)
  };

  // Listening at once on a free loopback port unless `listening` is false (then the port is
  // reserved by binding it and closing it again: connections are refused until start()).
  explicit webhook_receiver(bool listening = true);
  ~webhook_receiver();
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void start();
  void stop();
  // The statuses to answer the next POSTs with, in order.
  void answer_next(std::vector<int> statuses);

  std::vector<delivery> received() const;
  // Polls until `pred` holds for what was received (or `timeout` passes); returns the last value.
  bool wait_for(const std::function<bool(const std::vector<delivery>&)>& pred, ms timeout);
  // Waits for a delivery (answered 2xx) of an event of `type` matching `match`; the first one.
  std::optional<delivery> wait_event(const std::string& type, const std::function<bool(const json::object&)>& match,
                                     ms timeout);
  std::optional<delivery> wait_event(const std::string& type, ms timeout) {
    return wait_event(type, [](const json::object&) { return true; }, timeout);
  }
  // Every 2xx-answered event of `type`.
  std::vector<json::object> delivered(const std::string& type) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
};

// Whether `signature` is "sha256=" + the hex HMAC-SHA256 of `body` with `secret`.
bool valid_signature(const std::string& body, const std::string& signature, const std::string& secret);

}  // namespace tether::it
