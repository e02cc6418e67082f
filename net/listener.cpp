#include "net/listener.hpp"

#include "net/http_session.hpp"

#include <spdlog/spdlog.h>

namespace net = boost::asio;

namespace tether {

listener::listener(net::io_context& ioc, net::ip::tcp::endpoint endpoint, std::shared_ptr<server_context> ctx)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), retry_(acceptor_.get_executor()), ctx_(std::move(ctx)) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  // The largest backlog the kernel allows (net.core.somaxconn caps it): the operator tunes it there.
  acceptor_.listen(net::socket_base::max_listen_connections);
}

listener::listener(net::io_context& ioc, net::ip::tcp::acceptor listening, std::shared_ptr<server_context> ctx)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), retry_(acceptor_.get_executor()), ctx_(std::move(ctx)) {
  // Re-homed on the strand that serialises accept, stop and the retry timer.
  const auto protocol = listening.local_endpoint().protocol();
  acceptor_.assign(protocol, listening.release());
}

void listener::run() { do_accept(); }

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->retry_.cancel();
  });
}

void listener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](boost::system::error_code ec,
                                                                             net::ip::tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void listener::on_accept(boost::system::error_code ec, net::ip::tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: log, and try again shortly rather than spin. Fixed:
    // 100 ms is short next to a client's connect timeout and long enough not to flood the log.
    spdlog::warn("accept: {}; retrying in 100 ms", ec.message());
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  } else {
    if (ctx_->tls)
      std::make_shared<tls_http_session>(std::move(socket), ctx_)->run();
    else
      std::make_shared<plain_http_session>(std::move(socket), ctx_)->run();
  }
  do_accept();
}

}  // namespace tether
