#include "net/ws_connection.hpp"

#include "actors/session.hpp"
#include "net/codec.hpp"

#include <caf/all.hpp>

namespace net = boost::asio;
using boost::system::error_code;

namespace tether {

namespace {

// Reads land in one buffer per I/O thread, so an idle connection holds no read buffer at all.
constexpr std::size_t read_chunk = 64 * 1024;
// How long a closing connection waits for the peer's close before dropping the socket.
constexpr auto close_linger = std::chrono::seconds(2);

const frame& ping_frame() {
  static const frame f = std::make_shared<const std::string>(ws::encode(ws::opcode::ping, ""));
  return f;
}

}  // namespace

ws_connection::ws_connection(socket_type socket, std::string leftover, limits lim, std::function<void()> on_gone)
    : socket_(std::move(socket)), leftover_(std::move(leftover)), limits_(lim), on_gone_(std::move(on_gone)),
      reader_(lim.max_message_bytes) {}

ws_connection::~ws_connection() {
  if (on_gone_) on_gone_();
}

void ws_connection::start(caf::actor session) {
  session_ = std::move(session);
  error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(net::ip::tcp::no_delay(true), ec);
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
    if (!self->leftover_.empty()) {
      std::string bytes = std::move(self->leftover_);
      self->leftover_.clear();
      self->leftover_.shrink_to_fit();
      self->consume(bytes.data(), bytes.size());
    }
    self->do_read();
  });
}

// ---- reading ----

void ws_connection::do_read() {
  // Wait for readability, then read into the thread's buffer: no per-connection read buffer.
  socket_.async_wait(socket_type::wait_read,
                     [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void ws_connection::on_readable(error_code ec) {
  if (ec) {
    report_closed(1006, false);
    shut();
    return;
  }
  static thread_local std::vector<char> buffer(read_chunk);
  for (;;) {
    std::size_t n = socket_.read_some(net::buffer(buffer), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) break;
    if (ec || n == 0) {
      // EOF or reset: if no close frame came first, it is a drop.
      report_closed(1006, false);
      shut();
      return;
    }
    if (!reader_.failed()) consume(buffer.data(), n);
    if (n < buffer.size()) break;
  }
  do_read();
}

void ws_connection::consume(const char* data, std::size_t size) {
  static thread_local std::vector<ws::event> events;
  events.clear();
  reader_.feed(data, size, events);
  for (auto& e : events) dispatch(e);
  events.clear();
}

void ws_connection::dispatch(ws::event& e) {
  switch (e.kind) {
    case ws::event::text:
      if (reported_) return;
      std::visit([this](auto&& m) { caf::anon_send(session_, std::move(m)); }, codec::decode(e.payload));
      return;
    case ws::event::binary:
      if (!reported_) caf::anon_send(session_, codec::binary_frame_error());
      return;
    case ws::event::ping:
      enqueue(std::make_shared<const std::string>(ws::encode(ws::opcode::pong, e.payload)), false);
      if (!reported_) caf::anon_send(session_, activity_atom::value);
      return;
    case ws::event::pong:
      if (!reported_) caf::anon_send(session_, activity_atom::value);
      return;
    case ws::event::close: {
      // Echo the peer's code (RFC 6455 §5.5.1), then report the close as the client's.
      std::uint16_t code = e.close_code == 1005 ? 1000 : e.close_code;
      report_closed(e.close_code, false);
      close(code, "");
      return;
    }
    case ws::event::protocol_error:
      report_closed(e.close_code, true);
      close(e.close_code, e.payload);
      return;
  }
}

void ws_connection::report_closed(std::uint16_t code, bool by_server) {
  if (reported_) return;
  reported_ = true;
  if (session_) caf::anon_send(session_, closed_atom::value, code, by_server);
  session_ = nullptr;
}

// ---- writing ----

void ws_connection::send(frame f) { enqueue(std::move(f), true); }

void ws_connection::ping() { enqueue(ping_frame(), false); }

void ws_connection::enqueue(frame f, bool counts_toward_limit) {
  bool overflow = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (close_queued_) return;
    if (counts_toward_limit && queued_bytes_ + f->size() > limits_.max_outbound_bytes) {
      overflow = true;
    } else {
      queued_bytes_ += f->size();
      queue_.push_back(std::move(f));
      if (write_scheduled_) return;
      write_scheduled_ = true;
    }
  }
  if (overflow) {
    // A slow reader: nothing else waits for it (§8). Reported as a server-side close (1008).
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      self->report_closed(1008, true);
      self->close(1008, "outbound queue limit");
    });
    return;
  }
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
}

void ws_connection::close(std::uint16_t code, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (close_queued_) return;
    close_queued_ = true;
    auto f = std::make_shared<const std::string>(ws::encode_close(code, reason));
    queued_bytes_ += f->size();
    queue_.push_back(std::move(f));
    if (write_scheduled_) return;
    write_scheduled_ = true;
  }
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
}

void ws_connection::do_write() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    inflight_.swap(queue_);
    close_in_flight_ = close_queued_;
  }
  if (inflight_.empty() || !socket_.is_open()) {
    std::lock_guard<std::mutex> lock(mutex_);
    write_scheduled_ = false;
    return;
  }
  buffers_.clear();
  for (const auto& f : inflight_) buffers_.emplace_back(net::buffer(*f));
  net::async_write(socket_, buffers_,
                   [self = shared_from_this()](error_code ec, std::size_t n) { self->on_write(ec, n); });
}

void ws_connection::on_write(error_code ec, std::size_t bytes) {
  inflight_.clear();
  buffers_.clear();
  if (ec) {
    report_closed(1006, false);
    shut();
    return;
  }
  bool more, closing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queued_bytes_ -= std::min(queued_bytes_, bytes);
    closing = close_in_flight_;
    more = !queue_.empty() && !closing;
    if (!more) write_scheduled_ = false;
  }
  if (closing) {
    after_close_frame_written();
    return;
  }
  if (more) do_write();
  if (inflight_.capacity() > 64) inflight_.shrink_to_fit();
}

void ws_connection::after_close_frame_written() {
  // Our close is out: stop sending, and give the peer a moment to answer before dropping it.
  error_code ec;
  socket_.shutdown(socket_type::shutdown_send, ec);
  linger_ = std::make_unique<net::steady_timer>(socket_.get_executor(), close_linger);
  linger_->async_wait([self = shared_from_this()](error_code) { self->shut(); });
}

void ws_connection::shut() {
  error_code ec;
  if (linger_) linger_->cancel();
  if (socket_.is_open()) socket_.close(ec);
  std::lock_guard<std::mutex> lock(mutex_);
  close_queued_ = true;  // nothing more is accepted
  queue_.clear();
  queued_bytes_ = 0;
}

}  // namespace tether
