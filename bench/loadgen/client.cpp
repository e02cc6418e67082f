#include "bench/loadgen/client.hpp"

#include <boost/beast/websocket/error.hpp>
#include <netinet/in.h>

#include <chrono>

namespace loadgen {

namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {
constexpr auto open_timeout = std::chrono::seconds(15);
constexpr std::size_t max_message = 16 * 1024 * 1024;  // a room_joined of 10 000 members fits
}  // namespace

client::client(asio::io_context& ioc, std::size_t index, client_events& events)
    : ws_(ioc.get_executor()), buffer_(max_message), index_(index), events_(events) {}

void client::start(const client_target& t) {
  target_ = t;
  auto& sock = beast::get_lowest_layer(ws_).socket();
  if (t.source) {
    beast::error_code ec;
    sock.open(t.remote.protocol(), ec);
    // Without this, bind() picks the source port before connect() knows the destination, and
    // the ports of one address run out at ~28 000 whatever the destination.
    if (!ec) sock.set_option(asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>(true), ec);
    if (!ec) sock.bind(tcp::endpoint(*t.source, 0), ec);
    if (ec) {
      ended_ = true;
      events_.on_open_failed(*this, "connect", "bind: " + ec.message());
      return;
    }
  }
  beast::get_lowest_layer(ws_).expires_after(open_timeout);
  beast::get_lowest_layer(ws_).async_connect(
      t.remote, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
}

void client::on_connect(beast::error_code ec) {
  if (ec) {
    ended_ = true;
    events_.on_open_failed(*this, "connect", ec.message());
    return;
  }
  beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);  // small frames, now
  ws_.read_message_max(max_message);
  ws_.auto_fragment(false);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) events_.on_ping(*this);
  });
  ws_.async_handshake(response_, target_.host, target_.path,
                      [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
}

void client::on_handshake(beast::error_code ec) {
  if (ec) {
    ended_ = true;
    std::string reason = ec.message();
    if (ec == websocket::error::upgrade_declined) reason = "http_" + std::to_string(response_.result_int());
    events_.on_open_failed(*this, "handshake", reason);
    return;
  }
  response_ = {};
  beast::get_lowest_layer(ws_).expires_never();
  // The server pings us; Beast answers while a read is pending. We never time out on our side.
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws_.text(true);
  open_ = true;
  events_.on_open(*this);
  do_read();
  if (!queue_.empty() && !writing_) do_write();
}

void client::do_read() {
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void client::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) return lost("read", ec);
  const auto data = buffer_.data();
  events_.on_text(*this, std::string_view(static_cast<const char*>(data.data()), data.size()));
  buffer_.consume(buffer_.size());
  do_read();
}

void client::send(std::shared_ptr<const std::string> text) {
  if (ended_ || closing_) return;
  if (queue_.size() >= target_.max_queue) {
    events_.on_send_dropped(*this);
    return;
  }
  queue_.push_back(std::move(text));
  if (open_ && !writing_) do_write();
}

void client::do_write() {
  writing_ = true;
  ws_.async_write(asio::buffer(*queue_.front()),
                  [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_write(ec, n); });
}

void client::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) return lost("write", ec);
  queue_.pop_front();
  if (!queue_.empty() && !closing_) do_write();
}

void client::close() {
  if (closing_ || ended_) return;
  closing_ = true;
  if (!open_) return;  // still opening: its handlers see closing_ and the io_context stops anyway
  ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
}

void client::lost(const char* stage, beast::error_code ec) {
  if (ended_) return;
  ended_ = true;
  open_ = false;
  if (closing_) return;  // we asked for it
  std::string reason = ec.message();
  if (ec == websocket::error::closed) {
    reason = "close_" + std::to_string(ws_.reason().code);
    stage = "closed";
  }
  events_.on_lost(*this, stage, reason);
}

}  // namespace loadgen
