#pragma once
// One upgraded socket in its data phase. Reads client frames (proto/ws_frame), decodes them
// (proto/codec) on the I/O thread and hands typed messages to its session actor; writes the
// session's pre-framed frames, coalescing everything queued into one gather write.
#include "actors/client_link.hpp"
#include "actors/session_actor.hpp"
#include "proto/codec.hpp"
#include "proto/ws_frame.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <caf/actor.hpp>

#include <functional>
#include <mutex>
#include <variant>
#include <vector>

namespace tether {

struct ws_limits {
  std::size_t max_message_bytes;
  std::size_t max_outbound_bytes;
};

// `Stream` is a plain tcp::socket or a TLS stream (beast::ssl_stream<beast::tcp_stream>).
template <class Stream>
class ws_connection : public client_link, public std::enable_shared_from_this<ws_connection<Stream>> {
public:
  using socket_type = Stream;
  using limits = ws_limits;

  // `leftover`: bytes that arrived after the upgrade request. `on_gone` runs when the
  // connection object is destroyed (per-IP accounting).
  ws_connection(socket_type socket, std::string leftover, limits lim, std::function<void()> on_gone);
  ~ws_connection() override;

  void start(session_actor session);

  link_id id() const override { return id_; }
  send_result send(frame f, delivery d) override;
  std::size_t queued_bytes() override;
  void ping() override;
  void close(std::uint16_t code, const std::string& reason) override;
  void hold() override;
  void rebind(session_actor to) override;

private:
  void do_read();
  void on_readable(boost::system::error_code ec);
  void on_read_error();
  static constexpr bool is_tls = !std::is_same_v<Stream, boost::asio::ip::tcp::socket>;
  void consume(const char* data, std::size_t size);
  void dispatch(ws::event& e);
  // What the connection tells its actor, kept in order while on hold.
  struct closed_report {
    std::uint16_t code;
    bool by_server;
  };
  using inbound = std::variant<codec::client_message, codec::decode_error, activity_atom, closed_report>;
  void deliver(inbound item);
  void deliver_to(const session_actor& to, inbound& item);
  enum class limit { must, droppable, none };  // how the outbound byte limit applies
  send_result enqueue(frame f, limit l);
  bool push_locked(frame f);
  void schedule_write();
  void do_write();
  void on_write(boost::system::error_code ec, std::size_t bytes);
  void after_close_frame_written();
  void report_closed(std::uint16_t code, bool by_server);
  void shut();
  boost::asio::ip::tcp::socket& tcp_socket();

  socket_type socket_;
  std::string leftover_;
  limits limits_;
  std::function<void()> on_gone_;
  ws::frame_reader reader_;
  const link_id id_;
  session_actor session_;        // strand only; released once the close is reported
  bool reported_ = false;        // strand only
  bool holding_ = false;         // strand only: between hold() and rebind()
  std::vector<inbound> held_;    // strand only

  std::mutex mutex_;             // guards the fields below: send() comes from actor threads
  std::vector<frame> queue_;
  std::size_t queued_bytes_ = 0;
  bool write_scheduled_ = false; // a do_write is posted or a write is in flight
  bool close_queued_ = false;
  bool close_in_flight_ = false; // the close frame is part of the current write

  std::vector<frame> inflight_;  // strand only
  std::vector<boost::asio::const_buffer> buffers_;
  std::unique_ptr<boost::asio::steady_timer> linger_;  // only while closing
  std::unique_ptr<char[]> tls_buffer_;  // TLS only: decrypted bytes can't be read from a shared buffer
};

using plain_ws_connection = ws_connection<boost::asio::ip::tcp::socket>;
using tls_ws_connection = ws_connection<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace tether
