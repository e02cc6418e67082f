#include "bench/loadgen/http_poster.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "bench/loadgen/worker.hpp"

namespace loadgen {

namespace http = beast::http;

http_poster::http_poster(asio::io_context& ioc, asio::ip::tcp::endpoint remote, std::string host, std::string api_key,
                         next_fn next, done_fn done)
    : stream_(ioc), remote_(remote), host_(std::move(host)), auth_("Bearer " + api_key), next_(std::move(next)),
      done_(std::move(done)) {}

void http_poster::start() { connect(); }

void http_poster::connect() {
  stream_.async_connect(remote_, [self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->failed();
    self->stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    self->send_next();
  });
}

void http_poster::send_next() {
  request r;
  if (stopped_ || !next_(r)) return;
  req_ = {};
  req_.method(http::verb::post);
  req_.target(r.target);
  req_.version(11);
  req_.keep_alive(true);
  req_.set(http::field::host, host_);
  req_.set(http::field::authorization, auth_);
  req_.set(http::field::content_type, "application/json");
  req_.body() = std::move(r.body);
  req_.prepare_payload();
  sent_ns_ = now_ns();
  http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_written(ec); });
}

void http_poster::on_written(beast::error_code ec) {
  if (ec) return failed();
  res_ = {};
  http::async_read(stream_, buffer_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void http_poster::on_read(beast::error_code ec) {
  if (ec) return failed();
  done_(res_.result_int(), now_ns() - sent_ns_, res_.body());
  if (!res_.keep_alive()) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
    return connect();
  }
  send_next();
}

// Counted as status 0; one new connection, unless stopped.
void http_poster::failed() {
  done_(0, now_ns() - sent_ns_, {});
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
  if (!stopped_) connect();
}

}  // namespace loadgen
