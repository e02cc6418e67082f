#pragma once
// Accepts TCP connections and starts an http_session for each, each on its own strand.
#include "net/server_context.hpp"

#include <boost/asio.hpp>
#include <memory>

namespace tether {

class listener : public std::enable_shared_from_this<listener> {
public:
  // Binds and listens; throws boost::system::system_error at start-up.
  listener(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint endpoint, std::shared_ptr<server_context> ctx);
  // Takes over an acceptor that is already bound and listening (see app/listen_socket.hpp).
  listener(boost::asio::io_context& ioc, boost::asio::ip::tcp::acceptor listening, std::shared_ptr<server_context> ctx);
  void run();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after an accept error (e.g. out of file descriptors)
  std::shared_ptr<server_context> ctx_;
};

}  // namespace tether
