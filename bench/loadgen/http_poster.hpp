#pragma once
// One keep-alive HTTP/1.1 connection that POSTs in closed loop (notify scenario): the body of
// each request comes from a callback, the answer's status, latency and body go to another, all on
// its io_context's thread. Reconnects once per failure and counts it; never waits on a lock.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;

class http_poster : public std::enable_shared_from_this<http_poster> {
 public:
  struct request {
    std::string target;
    std::string body;
  };
  // Returns the next request, or nothing to stop.
  using next_fn = std::function<bool(request&)>;
  // status (0: the connection failed), the time it took, the answer's body.
  using done_fn = std::function<void(unsigned status, std::int64_t ns, std::string_view body)>;

  http_poster(asio::io_context& ioc, asio::ip::tcp::endpoint remote, std::string host, std::string api_key,
              next_fn next, done_fn done);
  void start();
  void stop() { stopped_ = true; }

 private:
  void connect();
  void send_next();
  void on_written(beast::error_code ec);
  void on_read(beast::error_code ec);
  void failed();

  beast::tcp_stream stream_;
  asio::ip::tcp::endpoint remote_;
  std::string host_;
  std::string auth_;
  next_fn next_;
  done_fn done_;
  beast::flat_buffer buffer_;
  beast::http::request<beast::http::string_body> req_;
  beast::http::response<beast::http::string_body> res_;
  std::int64_t sent_ns_ = 0;
  bool stopped_ = false;
};

}  // namespace loadgen
