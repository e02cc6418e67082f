#include "net/ws_connection.hpp"

#include "actors/live_counts.hpp"
#include "actors/session.hpp"
#include "proto/codec.hpp"

#include <caf/all.hpp>

namespace net = boost::asio;
using boost::system::error_code;

namespace tether {

namespace {

// Reads land in one buffer per I/O thread, so an idle connection holds no read buffer at all.
constexpr std::size_t read_chunk = 64 * 1024;
// How long a closing connection waits for the peer's close before dropping the socket.
constexpr auto close_linger = std::chrono::seconds(2);
constexpr std::size_t tls_read_chunk = 4096;
// While on hold (a resume hand-over: one actor round trip and one commit) the connection keeps
// what it reads. The session's rate limit bounds what a client can send meanwhile; past this many
// the client is flooding, and the connection closes (1008) rather than buffer without bound.
constexpr std::size_t max_held_inbound = 256;

std::atomic<link_id> next_link_id{1};

const frame& ping_frame() {
  static const frame f = std::make_shared<const std::string>(ws::encode(ws::opcode::ping, ""));
  return f;
}

}  // namespace

template <class Stream>
ws_connection<Stream>::ws_connection(socket_type socket, std::string leftover, limits lim, std::function<void()> on_gone)
    : socket_(std::move(socket)), leftover_(std::move(leftover)), limits_(lim), on_gone_(std::move(on_gone)),
      reader_(lim.max_message_bytes), id_(next_link_id.fetch_add(1, std::memory_order_relaxed)) {
  ++live().connections;
}

template <class Stream>
ws_connection<Stream>::~ws_connection() {
  --live().connections;
  if (on_gone_) on_gone_();
}

template <class Stream>
void ws_connection<Stream>::start(session_actor session) {
  session_ = std::move(session);
  error_code ec;
  tcp_socket().non_blocking(true, ec);
  tcp_socket().set_option(net::ip::tcp::no_delay(true), ec);
  net::dispatch(socket_.get_executor(), [self = this->shared_from_this()] {
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

template <class Stream>
void ws_connection<Stream>::do_read() {
  if constexpr (is_tls) {
    // TLS keeps decrypted bytes inside the stream, so readiness of the socket says nothing:
    // read into a small buffer of this connection's own.
    if (!tls_buffer_) tls_buffer_.reset(new char[tls_read_chunk]);
    socket_.async_read_some(net::buffer(tls_buffer_.get(), tls_read_chunk),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return self->on_read_error();
                              if (!self->reader_.failed()) self->consume(self->tls_buffer_.get(), n);
                              self->do_read();
                            });
  } else {
    // Wait for readability, then read into the thread's buffer: no per-connection read buffer.
    socket_.async_wait(socket_type::wait_read,
                       [self = this->shared_from_this()](error_code ec) { self->on_readable(ec); });
  }
}

template <class Stream>
void ws_connection<Stream>::on_read_error() {
  // EOF or reset: if no close frame came first, it is a drop.
  report_closed(1006, false);
  shut();
}

template <class Stream>
void ws_connection<Stream>::on_readable(error_code ec) {
  if constexpr (!is_tls) {
    if (ec) return on_read_error();
    static thread_local std::vector<char> buffer(read_chunk);
    for (;;) {
      std::size_t n = socket_.read_some(net::buffer(buffer), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) break;
      if (ec || n == 0) return on_read_error();
      if (!reader_.failed()) consume(buffer.data(), n);
      if (n < buffer.size()) break;
    }
    do_read();
  }
}

template <class Stream>
net::ip::tcp::socket& ws_connection<Stream>::tcp_socket() {
  if constexpr (is_tls)
    return boost::beast::get_lowest_layer(socket_).socket();
  else
    return socket_;
}

template <class Stream>
void ws_connection<Stream>::consume(const char* data, std::size_t size) {
  static thread_local std::vector<ws::event> events;
  events.clear();
  reader_.feed(data, size, events);
  for (auto& e : events) dispatch(e);
  events.clear();
}

template <class Stream>
void ws_connection<Stream>::dispatch(ws::event& e) {
  switch (e.kind) {
    case ws::event::text:
      if (reported_) return;
      std::visit([this](auto&& m) { deliver(std::move(m)); }, codec::decode(e.payload));
      return;
    case ws::event::binary:
      if (!reported_) deliver(codec::binary_frame_error());
      return;
    case ws::event::ping:
      enqueue(std::make_shared<const std::string>(ws::encode(ws::opcode::pong, e.payload)), limit::none);
      if (!reported_) deliver(activity_atom::value);
      return;
    case ws::event::pong:
      if (!reported_) deliver(activity_atom::value);
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

template <class Stream>
void ws_connection<Stream>::report_closed(std::uint16_t code, bool by_server) {
  if (reported_) return;
  reported_ = true;
  deliver(closed_report{code, by_server});
}

template <class Stream>
void ws_connection<Stream>::deliver(inbound item) {
  if (holding_) {
    bool is_close = std::holds_alternative<closed_report>(item);
    if (std::holds_alternative<activity_atom>(item) && !held_.empty() &&
        std::holds_alternative<activity_atom>(held_.back()))
      return;  // one pending activity says it all
    if (held_.size() >= max_held_inbound && !is_close) {
      report_closed(1008, true);
      close(1008, "too many messages during a resume");
      return;
    }
    held_.push_back(std::move(item));
    return;
  }
  if (session_) deliver_to(session_, item);
  if (reported_) session_ = nullptr;  // the close was the last word: don't keep the actor alive
}

template <class Stream>
void ws_connection<Stream>::deliver_to(const session_actor& to, inbound& item) {
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, activity_atom>)
          caf::anon_send(to, activity_atom::value, id_);
        else if constexpr (std::is_same_v<T, closed_report>)
          caf::anon_send(to, closed_atom::value, id_, x.code, x.by_server);
        else
          caf::anon_send(to, id_, std::move(x));
      },
      item);
}

template <class Stream>
void ws_connection<Stream>::hold() {
  net::dispatch(socket_.get_executor(), [self = this->shared_from_this()] {
    if (!self->session_) return;  // closed and reported already: the actor knows
    self->holding_ = true;
    caf::anon_send(self->session_, held_atom::value, self->id_);
  });
}

template <class Stream>
void ws_connection<Stream>::rebind(session_actor to) {
  net::dispatch(socket_.get_executor(), [self = this->shared_from_this(), to = std::move(to)]() mutable {
    self->holding_ = false;
    auto held = std::move(self->held_);
    self->held_.clear();
    self->held_.shrink_to_fit();
    self->session_ = std::move(to);
    for (auto& item : held) self->deliver_to(self->session_, item);
    if (self->reported_) self->session_ = nullptr;
  });
}

// ---- writing ----

template <class Stream>
send_result ws_connection<Stream>::send(frame f, delivery d) {
  return enqueue(std::move(f), d == delivery::droppable ? limit::droppable : limit::must);
}

template <class Stream>
std::size_t ws_connection<Stream>::queued_bytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_bytes_;
}

template <class Stream>
void ws_connection<Stream>::ping() { enqueue(ping_frame(), limit::none); }

template <class Stream>
send_result ws_connection<Stream>::enqueue(frame f, limit l) {
  bool overflow = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (close_queued_) return send_result::closed;
    // A droppable frame gives way at half the limit, so that the frames that must arrive still
    // have room behind it.
    if (l == limit::droppable && queued_bytes_ + f->size() > limits_.max_outbound_bytes / 2)
      return send_result::dropped;
    if (l != limit::none && queued_bytes_ + f->size() > limits_.max_outbound_bytes)
      overflow = true;
    else if (!push_locked(std::move(f)))
      return send_result::queued;
  }
  if (overflow) {
    // A slow reader: nothing else waits for it (§8). Reported as a server-side close (1008).
    net::post(socket_.get_executor(), [self = this->shared_from_this()] {
      self->report_closed(1008, true);
      self->close(1008, "outbound queue limit");
    });
    return send_result::closed;
  }
  schedule_write();
  return send_result::queued;
}

template <class Stream>
void ws_connection<Stream>::close(std::uint16_t code, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (close_queued_) return;
    close_queued_ = true;
    if (!push_locked(std::make_shared<const std::string>(ws::encode_close(code, reason)))) return;
  }
  schedule_write();
}

// Queues a frame (mutex held); true when no write is scheduled yet, so the caller must schedule one.
template <class Stream>
bool ws_connection<Stream>::push_locked(frame f) {
  queued_bytes_ += f->size();
  queue_.push_back(std::move(f));
  if (write_scheduled_) return false;
  write_scheduled_ = true;
  return true;
}

template <class Stream>
void ws_connection<Stream>::schedule_write() {
  net::post(socket_.get_executor(), [self = this->shared_from_this()] { self->do_write(); });
}

template <class Stream>
void ws_connection<Stream>::do_write() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    inflight_.swap(queue_);
    close_in_flight_ = close_queued_;
  }
  if (inflight_.empty() || !tcp_socket().is_open()) {
    std::lock_guard<std::mutex> lock(mutex_);
    write_scheduled_ = false;
    return;
  }
  buffers_.clear();
  for (const auto& f : inflight_) buffers_.emplace_back(net::buffer(*f));
  net::async_write(socket_, buffers_,
                   [self = this->shared_from_this()](error_code ec, std::size_t n) { self->on_write(ec, n); });
}

template <class Stream>
void ws_connection<Stream>::on_write(error_code ec, std::size_t bytes) {
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

template <class Stream>
void ws_connection<Stream>::after_close_frame_written() {
  // Our close is out: stop sending, and give the peer a moment to answer before dropping it.
  error_code ec;
  tcp_socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  linger_ = std::make_unique<net::steady_timer>(socket_.get_executor(), close_linger);
  linger_->async_wait([self = this->shared_from_this()](error_code) { self->shut(); });
}

template <class Stream>
void ws_connection<Stream>::shut() {
  error_code ec;
  if (linger_) linger_->cancel();
  if (tcp_socket().is_open()) tcp_socket().close(ec);
  std::lock_guard<std::mutex> lock(mutex_);
  close_queued_ = true;  // nothing more is accepted
  queue_.clear();
  queued_bytes_ = 0;
}

template class ws_connection<net::ip::tcp::socket>;
template class ws_connection<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace tether
