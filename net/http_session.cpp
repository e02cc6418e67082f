#include "net/http_session.hpp"

#include "net/ask.hpp"
#include "net/codec.hpp"
#include "net/http_api.hpp"
#include "net/random.hpp"
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

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr std::size_t max_api_body = 1024 * 1024;
constexpr std::size_t max_file_name = 255;

bool is_websocket_path(const std::string& path) { return path == "/ws" || path == "/ws/file-cleanup"; }

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
      self->tcp().expires_after(request_timeout);
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
  body_parser_.reset();
  upload_parser_.reset();
  tcp().expires_after(request_timeout);
  http::async_read_header(stream_, buffer_, *header_parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read_header(ec); });
}

template <class Stream>
void http_session<Stream>::on_read_header(beast::error_code ec) {
  if (ec) {
    if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != net::error::operation_aborted)
      spdlog::debug("http {}: {}", remote_ip_, ec.message());
    tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    return;
  }
  auto& req = header_parser_->get();
  if (req.method() == http::verb::post && path_of(req.target()) == "/api/files") return do_upload();
  do_read_body();
}

template <class Stream>
void http_session<Stream>::do_read_body() {
  body_parser_.emplace(std::move(*header_parser_));
  body_parser_->body_limit(max_api_body);
  http::async_read(stream_, buffer_, *body_parser_,
                   [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read_body(ec); });
}

template <class Stream>
void http_session<Stream>::on_read_body(beast::error_code ec) {
  if (ec == http::error::body_limit)
    return respond(http::message_generator(error_response(11, http::status::payload_too_large, "too_large",
                                                          "request body over 1 MiB")));
  if (ec) return;
  auto req = body_parser_->release();
  if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
  if (is_websocket_path(path_of(req.target())))
    return respond(http::message_generator(
        error_response(req.version(), http::status::upgrade_required, "invalid_field", "WebSocket endpoint: upgrade")));
  handle_api(ctx_, std::move(req), [self = this->shared_from_this()](http::message_generator msg) {
    self->respond(std::move(msg));
  });
}

// ---- uploads: streamed to blob_dir/.incoming, recorded, then moved into place ----

template <class Stream>
void http_session<Stream>::do_upload() {
  auto& req = header_parser_->get();
  auto version = req.version();
  auto fail = [&](http::status s, const char* code, const std::string& message, const std::string& field = {}) {
    auto res = error_response(version, s, code, message, field);
    res.keep_alive(false);  // the body was not read
    respond(http::message_generator(std::move(res)));
  };
  auto user = authenticate_user(*ctx_, bearer_token(req));
  if (!user) return fail(http::status::unauthorized, "unauthorized", "a valid user token is required");
  auto max = static_cast<std::uint64_t>(ctx_->cfg->storage.max_upload_bytes);
  if (header_parser_->content_length() && *header_parser_->content_length() > max)
    return fail(http::status::payload_too_large, "too_large",
                "file over storage.max_upload_bytes (" + std::to_string(max) + ")");
  upload_name_ = query_param(req.target(), "name").value_or("");
  if (upload_name_.size() > max_file_name || upload_name_.find('\0') != std::string::npos)
    return fail(http::status::bad_request, "invalid_field", "name must be at most 255 bytes", "name");
  upload_user_ = user->sub;
  upload_id_ = "f_" + random_hex(16);

  upload_parser_.emplace(std::move(*header_parser_));
  upload_parser_->body_limit(max);
  beast::error_code ec;
  upload_parser_->get().body().open(ctx_->blobs->incoming_path(upload_id_).c_str(), beast::file_mode::write, ec);
  if (ec) {
    spdlog::error("upload: cannot create {}: {}", ctx_->blobs->incoming_path(upload_id_), ec.message());
    return fail(http::status::internal_server_error, "internal", "cannot store the file");
  }
  read_upload_chunk();
}

// A large upload may take long, but a stalled one must not hold the connection: the timeout
// restarts with every chunk that arrives.
template <class Stream>
void http_session<Stream>::read_upload_chunk() {
  tcp().expires_after(request_timeout);
  http::async_read_some(stream_, buffer_, *upload_parser_,
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                          if (!ec && !self->upload_parser_->is_done()) return self->read_upload_chunk();
                          self->on_upload(ec);
                        });
}

template <class Stream>
void http_session<Stream>::on_upload(beast::error_code ec) {
  auto& req = upload_parser_->get();
  auto version = req.version();
  req.body().close();
  auto blobs = ctx_->blobs;
  auto id = upload_id_;
  std::error_code size_ec;
  auto size = static_cast<std::int64_t>(std::filesystem::file_size(blobs->incoming_path(id), size_ec));
  if (ec) {
    std::remove(blobs->incoming_path(id).c_str());
    if (ec == http::error::body_limit) {
      auto res = error_response(version, http::status::payload_too_large, "too_large",
                                "file over storage.max_upload_bytes");
      res.keep_alive(false);
      respond(http::message_generator(std::move(res)));
    }
    return;
  }
  bool keep_alive = req.keep_alive();
  file_record f{id, upload_user_, upload_name_, size, "active", false};
  auto self = this->shared_from_this();
  // Recorded first, then moved into place: a crash between the two leaves a record whose blob
  // is missing (deleting it counts as done), never an unrecorded blob.
  ask<bool>(ctx_->sys, ctx_->deps.storage, [self, blobs, f, version, keep_alive](caf::expected<bool> r) {
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
void http_session<Stream>::upgrade(http_request req) {
  auto version = req.version();
  auto refuse = [&](http::status s, const char* code, const std::string& message) {
    auto res = error_response(version, s, code, message);
    res.keep_alive(false);
    respond(http::message_generator(std::move(res)));
  };
  if (!is_websocket_path(path_of(req.target()))) return refuse(http::status::not_found, "not_found", "no such endpoint");
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

  auto res = std::make_shared<http_response>(websocket_handshake_response(req));
  if (res->result() != http::status::switching_protocols) {
    res->keep_alive(false);
    return respond(http::message_generator(std::move(*res)));
  }
  if (!ctx_->limiter.acquire(remote_ip_))
    return refuse(http::status::too_many_requests, "rate_limited", "too many connections from this address");

  tcp().expires_after(request_timeout);
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
  auto on_gone = [ctx, ip] {
    ctx->limiter.release(ip);
    --ctx->websocket_connections;
  };
  if constexpr (is_tls) {
    auto conn = std::make_shared<tls_ws_connection>(std::move(stream_), std::move(leftover), limits, on_gone);
    start.link = conn;
    conn->start(spawn_session(ctx->sys, ctx->deps, std::move(start)));
  } else {
    auto conn = std::make_shared<plain_ws_connection>(stream_.release_socket(), std::move(leftover), limits, on_gone);
    start.link = conn;
    conn->start(spawn_session(ctx->sys, ctx->deps, std::move(start)));
  }
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
  tcp().expires_after(request_timeout);
  beast::async_write(stream_, std::move(msg), [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
    self->on_write(keep_alive, ec);
  });
}

template <class Stream>
void http_session<Stream>::on_write(bool keep_alive, beast::error_code ec) {
  if (ec) return;
  if (!keep_alive) {
    tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    return;
  }
  do_read_header();
}

template class http_session<beast::tcp_stream>;
template class http_session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace tether
