#include "net/http_session.hpp"

#include "net/ask.hpp"
#include "proto/codec.hpp"
#include "net/http_api.hpp"
#include "proto/random.hpp"
#include "net/ws_connection.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;

namespace tether {

namespace {

// Fixed, not options: each is a protocol rule or an internal trade-off nobody needs to tune.
// (The timeout clients see is server.request_timeout_ms; the upload limit storage.max_upload_bytes.)
//
// API bodies are small JSON documents (POST /api/files/register: two ids); 1 MiB only stops a
// client from making the server buffer much. docs/protocol.md states it.
constexpr std::size_t max_api_body = 1024 * 1024;
// docs/protocol.md: a file name is at most 255 bytes (NAME_MAX of the file systems clients use).
constexpr std::size_t max_file_name = 255;
// One read buffer per upload in flight: 64 KiB keeps syscalls few (16 per MiB) and memory per
// upload small; it bounds nothing a client sees.
constexpr std::size_t upload_chunk = 64 * 1024;
// After refusing a request whose body was not read: how long and how much to read and drop. Only
// a courtesy so the client reads the answer before the close: enough for a client that stops
// sending once it has the answer, too little to be a way of keeping a connection open.
constexpr auto drain_timeout = std::chrono::seconds(2);
constexpr std::uint64_t max_drain_bytes = 16 * 1024 * 1024;

// The WebSocket endpoints (PROTOCOL.md §2): "" for the plain ones, the channel an endpoint
// subscribes to for the others, nullopt for a path that is none (404).
std::optional<std::string> endpoint_channel(const std::string& path) {
  if (path == "/ws" || path == "/ws/file-cleanup") return std::string();
  for (const char* c : {"notifications", "connections", "feed", "online"})
    if (path == std::string("/ws/") + c) return std::string(c);
  static const std::string chat_prefix = "/ws/messages/";
  if (path.compare(0, chat_prefix.size(), chat_prefix) == 0) {
    // Percent-decoded: a client may encode the ':' of dm:{a}:{b} (encodeURIComponent does).
    auto chat = percent_decode(path.substr(chat_prefix.size()));
    if (codec::valid_chat_id(chat)) return "messages/" + chat;
  }
  return std::nullopt;
}

// ?since_id=N: a non-negative integer.
std::optional<std::int64_t> parse_since(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(text);
}

template <class Stream>
Stream make_stream(net::ip::tcp::socket socket, server_context& ctx) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>)
    return beast::tcp_stream(std::move(socket));
  else
    return Stream(beast::tcp_stream(std::move(socket)), *ctx.tls);
}

}  // namespace

template <class Stream>
http_session<Stream>::http_session(net::ip::tcp::socket socket, std::shared_ptr<server_context> ctx)
    : stream_(make_stream<Stream>(std::move(socket), *ctx)), ctx_(std::move(ctx)) {
  beast::error_code ec;
  auto ep = tcp().socket().remote_endpoint(ec);
  remote_ip_ = ec ? std::string("unknown") : ep.address().to_string();
}

template <class Stream>
void http_session<Stream>::run() {
  net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (is_tls) {
      self->tcp().expires_after(self->request_timeout());
      self->stream_.async_handshake(net::ssl::stream_base::server,
                                    [self](beast::error_code ec) { self->on_handshake(ec); });
    } else {
      self->do_read_header();
    }
  });
}

template <class Stream>
void http_session<Stream>::on_handshake(beast::error_code ec) {
  if (ec) {
    spdlog::debug("tls handshake with {}: {}", remote_ip_, ec.message());
    return;
  }
  do_read_header();
}

template <class Stream>
void http_session<Stream>::do_read_header() {
  header_parser_.emplace();
  // No body limit while the header is read: Beast's default (1 MiB) is checked against
  // Content-Length as soon as the header ends, which cut every larger upload without an answer.
  // Each route sets its own limit once the target is known.
  header_parser_->body_limit(boost::none);
  body_parser_.reset();
  upload_parser_.reset();
  body_unread_ = false;
  tcp().expires_after(request_timeout());
  http::async_read_header(stream_, buffer_, *header_parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read_header(ec); });
}

template <class Stream>
void http_session<Stream>::on_read_header(beast::error_code ec) {
  if (ec) return on_header_error(ec);
  auto& req = header_parser_->get();
  if (req.method() == http::verb::post && path_of(req.target()) == "/api/files") return do_upload();
  if (header_parser_->content_length() && *header_parser_->content_length() > max_api_body)
    return refuse_unread(error_response(req.version(), http::status::payload_too_large, "too_large",
                                        "request body over 1 MiB"));
  continue_then(&http_session::do_read_body);
}

// A client that closes or idles between requests is normal; a request we cannot parse gets an
// answer (the client sees why), and a request cut half-way is logged (the client may not know).
template <class Stream>
void http_session<Stream>::on_header_error(beast::error_code ec) {
  bool started = header_parser_->got_some();
  if (ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    bool too_long = ec == http::error::header_limit || ec == http::error::buffer_overflow;
    spdlog::warn("http {}: bad request ({}); answered {} and closed", remote_ip_, ec.message(), too_long ? 431 : 400);
    return refuse_unread(error_response(11, too_long ? http::status::request_header_fields_too_large
                                                     : http::status::bad_request,
                                        "invalid_field", "bad HTTP request: " + ec.message()));
  }
  if (ec == beast::error::timeout && started)
    spdlog::warn("http {}: request header not complete within {} ms; connection closed", remote_ip_,
                 request_timeout().count());
  else if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != net::error::operation_aborted)
    spdlog::debug("http {}: {}", remote_ip_, ec.message());
  tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

// `Expect: 100-continue` (curl sends it for large bodies, then waits a second for it): the
// interim answer goes out only once the request is accepted, so a refused one is never sent.
template <class Stream>
void http_session<Stream>::continue_then(void (http_session::*next)()) {
  auto expect = header_parser_ ? header_parser_->get()[http::field::expect]
                               : upload_parser_->get()[http::field::expect];
  if (!beast::iequals(expect, "100-continue") || (upload_parser_ && upload_parser_->is_done()) ||
      (header_parser_ && header_parser_->is_done()))
    return (this->*next)();
  static const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  tcp().expires_after(request_timeout());
  net::async_write(stream_, net::buffer(interim), [self = this->shared_from_this(), next](beast::error_code ec, std::size_t) {
    if (ec) return;
    ((*self).*next)();
  });
}

template <class Stream>
void http_session<Stream>::do_read_body() {
  body_parser_.emplace(std::move(*header_parser_));
  header_parser_.reset();
  body_parser_->body_limit(max_api_body);
  http::async_read(stream_, buffer_, *body_parser_,
                   [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read_body(ec); });
}

template <class Stream>
void http_session<Stream>::on_read_body(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    spdlog::warn("http {}: request body over 1 MiB; answered 413 and closed", remote_ip_);
    return refuse_unread(error_response(11, http::status::payload_too_large, "too_large", "request body over 1 MiB"));
  }
  if (ec) {
    if (ec != http::error::end_of_stream && ec != http::error::partial_message)
      spdlog::warn("http {}: request body not read ({}); connection closed", remote_ip_, ec.message());
    return;
  }
  auto req = body_parser_->release();
  if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
  if (endpoint_channel(path_of(req.target())))
    return respond(http::message_generator(
        error_response(req.version(), http::status::upgrade_required, "invalid_field", "WebSocket endpoint: upgrade")));
  handle_api(ctx_, std::move(req), remote_ip_, [self = this->shared_from_this()](http::message_generator msg) {
    self->respond(std::move(msg));
  });
}

// ---- uploads: streamed to blob_dir/.incoming, recorded, then moved into place ----
//
// The body is read chunk by chunk into one 64 KiB buffer and written to the file at once, so an
// upload never sits in memory whatever its size. A multipart/form-data body (an HTML form) goes
// through a multipart_reader that writes only the file part's bytes.

template <class Stream>
void http_session<Stream>::do_upload() {
  auto& req = header_parser_->get();
  auto version = req.version();
  auto fail = [&](http::status s, const char* code, const std::string& message, const std::string& field = {}) {
    refuse_unread(error_response(version, s, code, message, field));
  };
  auto user = authenticate_user(*ctx_, bearer_token(req));
  if (!user) return fail(http::status::unauthorized, "unauthorized", "a valid user token is required");
  auto max = static_cast<std::uint64_t>(ctx_->cfg->storage.max_upload_bytes);
  if (header_parser_->content_length() && *header_parser_->content_length() > max)
    return fail(http::status::payload_too_large, "too_large",
                "file over storage.max_upload_bytes (" + std::to_string(max) + ")");
  auto given_name = query_param(req.target(), "name");
  upload_name_given_ = given_name.has_value() && !given_name->empty();
  upload_name_ = given_name.value_or("");
  if (upload_name_.size() > max_file_name || upload_name_.find('\0') != std::string::npos)
    return fail(http::status::bad_request, "invalid_field", "name must be at most 255 bytes", "name");
  upload_form_.reset();
  auto content_type = req[http::field::content_type];
  if (multipart_reader::is_multipart(content_type)) {
    auto boundary = multipart_reader::boundary_of(content_type);
    if (!boundary)
      return fail(http::status::unsupported_media_type, "invalid_field",
                  "only multipart/form-data with a boundary is accepted; or send the file as the raw body "
                  "(curl --data-binary @FILE)",
                  "content_type");
    upload_form_.emplace(*boundary);
  }
  upload_user_ = user->sub;
  upload_id_ = "f_" + random_hex(16);
  upload_size_ = 0;
  upload_write_error_ = {};

  upload_parser_.emplace(std::move(*header_parser_));
  header_parser_.reset();
  upload_parser_->body_limit(max);
  beast::error_code ec;
  upload_file_.open(ctx_->blobs->incoming_path(upload_id_).c_str(), beast::file_mode::write, ec);
  if (ec) {
    spdlog::error("upload: cannot create {}: {}", ctx_->blobs->incoming_path(upload_id_), ec.message());
    upload_parser_.reset();
    return refuse_unread(error_response(version, http::status::internal_server_error, "internal", "cannot store the file"));
  }
  upload_buffer_ = std::make_unique<char[]>(upload_chunk);
  // Content-Length: 0 (or no body at all): the request is complete with its header.
  if (upload_parser_->is_done()) return finish_upload();
  continue_then(&http_session::read_upload_chunk);
}

// A large upload may take long, but a stalled one must not hold the connection: the timeout
// restarts with every chunk that arrives.
template <class Stream>
void http_session<Stream>::read_upload_chunk() {
  auto& body = upload_parser_->get().body();
  body.data = upload_buffer_.get();
  body.size = upload_chunk;
  body.more = true;
  tcp().expires_after(request_timeout());
  http::async_read_some(stream_, buffer_, *upload_parser_,
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                          self->on_upload_chunk(ec);
                        });
}

template <class Stream>
void http_session<Stream>::on_upload_chunk(beast::error_code ec) {
  if (ec == http::error::need_buffer) ec = {};  // the buffer is full: store it, read on
  if (ec) return on_upload_cut(ec);
  auto& body = upload_parser_->get().body();
  std::string_view bytes(upload_buffer_.get(), upload_chunk - body.size);
  if (!bytes.empty()) {
    bool ok = upload_form_ ? upload_form_->feed(bytes, [this](std::string_view b) { return store_upload_bytes(b); }) !=
                                 multipart_reader::status::error
                           : store_upload_bytes(bytes);
    if (!ok && upload_write_error_) {
      spdlog::error("upload {} from {}: writing failed: {}", upload_id_, remote_ip_, upload_write_error_.message());
      return upload_failed(http::status::internal_server_error, "internal",
                           "cannot store the file: " + upload_write_error_.message());
    }
    if (!ok) return upload_failed(http::status::bad_request, "invalid_field", upload_form_->error());
  }
  if (!upload_parser_->is_done()) return read_upload_chunk();
  finish_upload();
}

template <class Stream>
bool http_session<Stream>::store_upload_bytes(std::string_view bytes) {
  upload_file_.write(bytes.data(), bytes.size(), upload_write_error_);
  if (upload_write_error_) return false;
  upload_size_ += bytes.size();
  return true;
}

// The body did not arrive whole: over the limit (the client gets 413), or the connection stalled
// or broke (nobody can be told; the log says why).
template <class Stream>
void http_session<Stream>::on_upload_cut(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    spdlog::warn("upload from {}: body over storage.max_upload_bytes after {} bytes; answered 413 and closed",
                 remote_ip_, upload_size_);
    return upload_failed(http::status::payload_too_large, "too_large", "file over storage.max_upload_bytes");
  }
  if (ec == beast::error::timeout)
    spdlog::warn("upload from {}: no data for {} ms after {} bytes; connection closed", remote_ip_,
                 request_timeout().count(), upload_size_);
  else if (ec == http::error::partial_message || ec == http::error::end_of_stream)
    spdlog::info("upload from {}: the client closed the connection after {} bytes", remote_ip_, upload_size_);
  else
    spdlog::warn("upload from {}: cut after {} bytes: {}", remote_ip_, upload_size_, ec.message());
  upload_failed(http::status::bad_request, "invalid_field", "");  // no answer can reach the client
}

template <class Stream>
// `message` by value: it is often the multipart reader's own error text, and the reader is freed here.
void http_session<Stream>::upload_failed(http::status status, const char* code, std::string message) {
  beast::error_code ignored;
  upload_file_.close(ignored);
  std::remove(ctx_->blobs->incoming_path(upload_id_).c_str());
  upload_buffer_.reset();
  upload_form_.reset();
  if (message.empty()) return;
  bool unread = !upload_parser_->is_done();
  auto res = error_response(upload_parser_->get().version(), status, code, message);
  if (unread) return refuse_unread(std::move(res));
  res.keep_alive(upload_parser_->get().keep_alive());
  respond(http::message_generator(std::move(res)));
}

template <class Stream>
void http_session<Stream>::finish_upload() {
  if (upload_form_) {
    if (upload_form_->finish() != multipart_reader::status::done)
      return upload_failed(http::status::bad_request, "invalid_field", upload_form_->error());
    if (!upload_name_given_) upload_name_ = upload_form_->filename();
    if (upload_name_.size() > max_file_name || upload_name_.find('\0') != std::string::npos)
      return upload_failed(http::status::bad_request, "invalid_field", "the file name must be at most 255 bytes");
  }
  beast::error_code ec;
  upload_file_.close(ec);
  upload_buffer_.reset();
  upload_form_.reset();
  auto& req = upload_parser_->get();
  auto version = req.version();
  bool keep_alive = req.keep_alive();
  auto blobs = ctx_->blobs;
  if (ec) {
    spdlog::error("upload {}: closing the file failed: {}", upload_id_, ec.message());
    std::remove(blobs->incoming_path(upload_id_).c_str());
    return respond(http::message_generator(
        error_response(version, http::status::internal_server_error, "internal", "cannot store the file")));
  }
  file_record f{upload_id_, upload_user_, upload_name_, static_cast<std::int64_t>(upload_size_), "active", false};
  auto self = this->shared_from_this();
  // Recorded first, then moved into place: a crash between the two leaves a record whose blob
  // is missing (deleting it counts as done), never an unrecorded blob. The answer comes back on
  // this connection's strand: the rename (or the removal) is disk work, kept off actor threads.
  ask<bool>(ctx_->sys, stream_.get_executor(), ctx_->deps.storage, [self, blobs, f, version, keep_alive](caf::expected<bool> r) {
    if (!r) {
      std::remove(blobs->incoming_path(f.file_id).c_str());
      return self->respond(http::message_generator(
          error_response(version, http::status::internal_server_error, "internal", "cannot record the file")));
    }
    if (auto err = blobs->publish(f.file_id)) spdlog::error("upload: publishing {} failed: {}", f.file_id, err.message());
    auto res = json_response(version, http::status::created,
                             json::serialize(json::object{{"file_id", f.file_id}, {"size", f.size}, {"name", f.name}}));
    res.keep_alive(keep_alive);
    self->respond(http::message_generator(std::move(res)));
  }, add_file_atom::value, f);
}

// ---- WebSocket upgrade ----

template <class Stream>
void http_session<Stream>::refuse_upgrade(unsigned version, http::status s, const char* code,
                                          const std::string& message) {
  auto res = error_response(version, s, code, message);
  res.keep_alive(false);
  respond(http::message_generator(std::move(res)));
}

template <class Stream>
void http_session<Stream>::upgrade(http_request req) {
  auto version = req.version();
  auto refuse = [&](http::status s, const char* code, const std::string& message) {
    refuse_upgrade(version, s, code, message);
  };
  auto endpoint = endpoint_channel(path_of(req.target()));
  if (!endpoint) return refuse(http::status::not_found, "not_found", "no such endpoint");
  if (!ctx_->ready || ctx_->stopping)
    return refuse(http::status::service_unavailable, "capacity", "the server is starting or stopping");

  session_start start;
  auto token = query_param(req.target(), "token").value_or(bearer_token(req));
  if (!token.empty()) {
    auto r = jwt::verify(token, ctx_->cfg->auth.jwt_secret, ctx_->cfg->auth.allow_no_exp);
    if (!r.ok) return refuse(http::status::unauthorized, "unauthorized", "invalid token: " + r.why);
    start.user = r.ok;
  } else if (auto uid = query_param(req.target(), "user_id"); uid && ctx_->cfg->auth.insecure_user_id) {
    if (!codec::valid_user_id(*uid)) return refuse(http::status::bad_request, "invalid_field", "bad user_id");
    start.user = jwt::claims{*uid, std::nullopt, "", false};
  }
  start.resume_token = query_param(req.target(), "resume").value_or("");
  start.endpoint_channel = *endpoint;
  if (auto since = query_param(req.target(), "since_id")) {
    start.endpoint_since = parse_since(*since);
    if (!start.endpoint_since)
      return refuse(http::status::bad_request, "invalid_field", "since_id must be a non-negative integer");
  }
  if (start.user && start.user->guest) {
    // A deleted guest's token is refused from then on (§11): one read, on the reader's connection,
    // answered on this connection's strand. If the read fails, the session's own check at open
    // (on the writer) still refuses it.
    auto self = this->shared_from_this();
    auto held = std::make_shared<std::pair<http_request, session_start>>(std::move(req), std::move(start));
    auto user_id = held->second.user->sub;
    ask<bool>(ctx_->sys, stream_.get_executor(), ctx_->deps.reader, [self, held, version](caf::expected<bool> gone) {
      if (gone && *gone)
        return self->refuse_upgrade(version, http::status::unauthorized, "unauthorized", "this guest no longer exists");
      self->check_membership(std::move(held->first), std::move(held->second));
    }, guest_gone_atom::value, user_id);
    return;
  }
  check_membership(std::move(req), std::move(start));
}

template <class Stream>
void http_session<Stream>::check_membership(http_request req, session_start start) {
  auto key = parse_channel_key(start.endpoint_channel);
  if (!start.user || key.what != channel_key::kind::chat) return accept_upgrade(std::move(req), std::move(start));
  // §11: a non-member whose token came with the upgrade is refused here (one committed read);
  // with a token sent by message, the channel refuses the subscription and the session closes 4003.
  auto version = req.version();
  auto self = this->shared_from_this();
  auto held = std::make_shared<std::pair<http_request, session_start>>(std::move(req), std::move(start));
  auto user_id = held->second.user->sub;
  ask<bool>(ctx_->sys, stream_.get_executor(), ctx_->deps.reader, [self, held, version](caf::expected<bool> member) {
    if (!member)
      return self->refuse_upgrade(version, http::status::internal_server_error, "internal", "could not check the chat");
    if (!*member)
      return self->refuse_upgrade(version, http::status::forbidden, "forbidden", "not a member of this chat");
    self->accept_upgrade(std::move(held->first), std::move(held->second));
  }, is_member_atom::value, key.chat_id, user_id);
}

template <class Stream>
void http_session<Stream>::accept_upgrade(http_request req, session_start start) {
  auto version = req.version();
  auto refuse = [&](http::status s, const char* code, const std::string& message) {
    refuse_upgrade(version, s, code, message);
  };
  auto res = std::make_shared<http_response>(websocket_handshake_response(req));
  if (res->result() != http::status::switching_protocols) {
    res->keep_alive(false);
    return respond(http::message_generator(std::move(*res)));
  }
  if (!ctx_->limiter.acquire(remote_ip_))
    return refuse(http::status::too_many_requests, "rate_limited", "too many connections from this address");

  tcp().expires_after(request_timeout());
  http::async_write(stream_, *res, [self = this->shared_from_this(), res, start = std::move(start)](
                                       beast::error_code ec, std::size_t) mutable {
    auto ctx = self->ctx_;
    auto ip = self->remote_ip_;
    if (ec) {
      ctx->limiter.release(ip);
      return;
    }
    self->tcp().expires_never();
    self->start_websocket(beast::buffers_to_string(self->buffer_.data()), std::move(start));
  });
}

template <class Stream>
void http_session<Stream>::start_websocket(std::string leftover, session_start start) {
  auto ctx = ctx_;
  auto ip = remote_ip_;
  ++ctx->websocket_connections;
  auto limits = ws_limits{static_cast<std::size_t>(ctx->cfg->limits.max_message_bytes),
                          static_cast<std::size_t>(ctx->cfg->limits.max_outbound_bytes)};
  auto gone = std::make_shared<const client_link*>(nullptr);
  auto on_gone = [ctx, ip, gone] {
    ctx->connections.remove(*gone);
    ctx->limiter.release(ip);
    --ctx->websocket_connections;
  };
  auto launch = [&](auto conn) {
    *gone = conn.get();
    ctx->connections.add(conn);
    start.link = conn;
    conn->start(spawn_session(ctx->sys, ctx->deps, std::move(start)));
  };
  if constexpr (is_tls)
    launch(std::make_shared<tls_ws_connection>(std::move(stream_), std::move(leftover), limits, on_gone));
  else
    launch(std::make_shared<plain_ws_connection>(stream_.release_socket(), std::move(leftover), limits, on_gone));
}

// ---- responses ----

template <class Stream>
void http_session<Stream>::respond(http::message_generator msg) {
  // Answers may come from actor threads: hop onto this connection's strand.
  net::post(stream_.get_executor(), [self = this->shared_from_this(), msg = std::move(msg)]() mutable {
    self->do_write(std::move(msg));
  });
}

template <class Stream>
void http_session<Stream>::do_write(http::message_generator msg) {
  bool keep_alive = msg.keep_alive();
  tcp().expires_after(request_timeout());
  beast::async_write(stream_, std::move(msg), [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
    self->on_write(keep_alive, ec);
  });
}

template <class Stream>
void http_session<Stream>::refuse_unread(http_response res) {
  res.keep_alive(false);
  body_unread_ = true;
  respond(http::message_generator(std::move(res)));
}

template <class Stream>
void http_session<Stream>::on_write(bool keep_alive, beast::error_code ec) {
  if (ec) return;
  if (!keep_alive) {
    tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    if (body_unread_) {
      drained_ = 0;
      buffer_.clear();
      tcp().expires_after(drain_timeout);
      drain();
    }
    return;
  }
  do_read_header();
}

// Reads and drops what the client still sends after a refusal, until it closes, for at most
// drain_timeout and max_drain_bytes (the deadline is absolute: it is not renewed per read).
template <class Stream>
void http_session<Stream>::drain() {
  auto buf = buffer_.prepare(upload_chunk);
  stream_.async_read_some(buf, [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
    self->drained_ += n;
    if (ec || self->drained_ > max_drain_bytes) return;
    self->drain();
  });
}

template class http_session<beast::tcp_stream>;
template class http_session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace tether
