#include "net/webhook_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <stdexcept>

namespace tether {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// An answer's body is read and thrown away; a receiver that sends more than this is cut off (the
// status line already said what matters).
constexpr std::uint64_t max_answer_bytes = 64 * 1024;

// One POST: resolve, connect, write, read the answer. Holds itself alive through its handlers;
// `done` is called once, from the last step or from the deadline, whichever comes first.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  // Its own strand: the deadline and the I/O steps never run at once on two I/O threads.
  exchange(const asio::any_io_executor& ex, std::function<void(std::string)> done)
      : strand_(asio::make_strand(ex)), resolver_(strand_), stream_(strand_), deadline_(strand_), done_(std::move(done)) {}

  const asio::any_io_executor& executor() const { return strand_; }

  // Builds the request (copies what it needs: the client may be gone when the exchange runs).
  void prepare(const webhook_client& c, std::string body, std::string signature) {
    host_ = c.host();
    port_ = c.port();
    req_.method(http::verb::post);
    req_.target(c.target());
    req_.set(http::field::host, c.port() == "80" ? c.host() : c.host() + ":" + c.port());
    req_.set(http::field::user_agent, "tether-webhooks");
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::connection, "close");
    req_.set("X-Tether-Signature", signature);
    req_.body() = std::move(body);
    req_.prepare_payload();
    parser_.body_limit(max_answer_bytes);
  }

  void run(std::chrono::milliseconds timeout) {
    // One deadline for the whole exchange, the name resolution included (tcp_stream's own
    // timeouts would not cover it).
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the exchange finished first
      self->finish("timeout");
    });
    resolver_.async_resolve(host_, port_, [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
      self->on_resolve(ec, std::move(r));
    });
  }

private:
  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return finish("resolve: " + ec.message());
    stream_.async_connect(results, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return self->finish("connect: " + ec.message());
      http::async_write(self->stream_, self->req_, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->finish("write: " + ec.message());
        http::async_read(self->stream_, self->buffer_, self->parser_, [self](beast::error_code ec, std::size_t) {
          if (ec) return self->finish("read: " + ec.message());
          const unsigned status = self->parser_.get().result_int();
          self->finish(status >= 200 && status < 300 ? std::string() : "HTTP " + std::to_string(status));
        });
      });
    });
  }

  void finish(std::string error) {
    if (!done_) return;  // the deadline and the last step may both arrive
    auto done = std::move(done_);
    done_ = nullptr;
    deadline_.cancel();
    resolver_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    done(std::move(error));
  }

  asio::any_io_executor strand_;
  std::string host_, port_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer deadline_;
  std::function<void(std::string)> done_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

}  // namespace

webhook_client::webhook_client(asio::any_io_executor ex, const std::string& url, std::chrono::milliseconds timeout)
    : ex_(std::move(ex)), timeout_(timeout) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::invalid_argument("webhooks.url: " + url + " is not an http:// URL (https is not supported)");
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  target_ = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos)
    throw std::invalid_argument("webhooks.url: " + url + " has no host (or has credentials, which are not supported)");
  port_ = "80";
  // [v6]:port, host:port, host
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("webhooks.url: " + url + " has a bad IPv6 address");
    host_ = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_ = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
    host_ = authority.substr(0, colon);
    port_ = authority.substr(colon + 1);
  } else {
    host_ = authority;
  }
  if (host_.empty() || port_.empty() || port_.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument("webhooks.url: " + url + " has a bad host or port");
}

void webhook_client::post(std::string body, std::string signature, std::function<void(std::string error)> done) {
  auto x = std::make_shared<exchange>(ex_, std::move(done));
  x->prepare(*this, std::move(body), std::move(signature));
  // Started on the io_context, never inline on the caller's (an actor's) thread.
  asio::post(x->executor(), [x, timeout = timeout_] { x->run(timeout); });
}

}  // namespace tether
