#pragma once
// One HTTP/1.1 connection: reads requests (keep-alive), answers the API, streams uploads to the
// blob store, and hands WebSocket upgrades to a ws_connection and a new session actor.
#include "net/handshake.hpp"
#include "actors/session.hpp"
#include "proto/multipart_reader.hpp"
#include "net/server_context.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>

namespace tether {

// `Stream` is beast::tcp_stream, or beast::ssl_stream<beast::tcp_stream> when server.tls_cert is set.
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<server_context> ctx);
  void run();

private:
  static constexpr bool is_tls = !std::is_same_v<Stream, boost::beast::tcp_stream>;
  boost::beast::tcp_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }
  // How long a read or write of one step of a request may take (server.request_timeout_ms).
  std::chrono::milliseconds request_timeout() const {
    return std::chrono::milliseconds(ctx_->cfg->server.request_timeout_ms);
  }
  void on_handshake(boost::beast::error_code ec);
  void start_websocket(std::string leftover, session_start start);
  void do_read_header();
  void on_read_header(boost::beast::error_code ec);
  void on_header_error(boost::beast::error_code ec);
  void continue_then(void (http_session::*next)());
  void do_read_body();
  void on_read_body(boost::beast::error_code ec);
  void do_upload();
  void read_upload_chunk();
  void on_upload_chunk(boost::beast::error_code ec);
  bool store_upload_bytes(std::string_view bytes);
  void on_upload_cut(boost::beast::error_code ec);
  void finish_upload();
  void upload_failed(boost::beast::http::status status, const char* code, std::string message);
  void upgrade(http_request req);
  // A chat endpoint with a token: the user must be a member (403 otherwise), then accept_upgrade.
  void check_membership(http_request req, session_start start);
  // The upgrade once its token is known to be good: the handshake, then the WebSocket.
  void accept_upgrade(http_request req, session_start start);
  void refuse_upgrade(unsigned version, boost::beast::http::status s, const char* code, const std::string& message);
  void refuse_unread(http_response res);
  void respond(boost::beast::http::message_generator msg);
  void do_write(boost::beast::http::message_generator msg);
  void on_write(bool keep_alive, boost::beast::error_code ec);
  void drain();

  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<server_context> ctx_;
  std::string remote_ip_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> header_parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> body_parser_;
  // Uploads are read into a fixed buffer and written to the file as they come (raw body), or
  // through a multipart reader that writes only the file part (HTML forms).
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> upload_parser_;
  std::unique_ptr<char[]> upload_buffer_;
  boost::beast::file upload_file_;
  std::optional<multipart_reader> upload_form_;
  std::uint64_t upload_size_ = 0;
  boost::beast::error_code upload_write_error_;
  bool upload_name_given_ = false;
  std::string upload_id_, upload_name_, upload_user_;
  // A request whose body was not read is answered, then its bytes are read and dropped for a
  // moment before the socket closes: closing with unread data sends a RST, which can destroy the
  // answer before the client has read it.
  bool body_unread_ = false;
  std::uint64_t drained_ = 0;
};

using plain_http_session = http_session<boost::beast::tcp_stream>;
using tls_http_session = http_session<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace tether
