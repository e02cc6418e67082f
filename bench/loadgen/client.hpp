#pragma once
// One WebSocket connection of the generator: connect (bound to a source address if asked),
// upgrade, then read forever and write from a bounded queue. It knows nothing of scenarios: it
// hands every text message and every failure to its client_events, on its io_context's thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;

class client;

class client_events {
 public:
  virtual ~client_events() = default;
  virtual void on_open(client& c) = 0;
  // stage: "connect" or "handshake"; reason: a short name to count it under.
  virtual void on_open_failed(client& c, const char* stage, const std::string& reason) = 0;
  virtual void on_text(client& c, std::string_view text) = 0;
  // The connection ended after it was open and before we closed it.
  virtual void on_lost(client& c, const char* stage, const std::string& reason) = 0;
  virtual void on_ping(client& c) = 0;
  virtual void on_send_dropped(client& c) = 0;
};

struct client_target {
  asio::ip::tcp::endpoint remote;
  std::optional<asio::ip::address> source;
  std::string host;          // the Host header
  std::string path;          // path and query of the upgrade request
  std::size_t max_queue = 4096;
};

// The stream names its executor type: the default any_io_executor is copied and destroyed
// through type erasure on every read step, which was 8 % of the generator's CPU.
using client_stream = beast::basic_stream<asio::ip::tcp, asio::io_context::executor_type, beast::unlimited_rate_policy>;

class client : public std::enable_shared_from_this<client> {
 public:
  client(asio::io_context& ioc, std::size_t index, client_events& events);

  void start(const client_target& t);
  // Queues one text message; over max_queue it is dropped and reported, never waited for.
  void send(std::shared_ptr<const std::string> text);
  // Starts the close handshake; what fails after this is not reported as lost.
  void close();

  std::size_t index() const { return index_; }
  bool is_open() const { return open_; }

 private:
  void on_connect(beast::error_code ec);
  void on_handshake(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void do_write();
  void on_write(beast::error_code ec, std::size_t bytes);
  void lost(const char* stage, beast::error_code ec);

  beast::websocket::stream<client_stream> ws_;
  beast::flat_buffer buffer_;
  beast::websocket::response_type response_;  // to tell an HTTP 429 from a refused connection
  std::deque<std::shared_ptr<const std::string>> queue_;
  client_target target_;
  std::size_t index_;
  client_events& events_;
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool ended_ = false;
};

}  // namespace loadgen
