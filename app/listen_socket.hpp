#pragma once
// The listening socket of `serve`, opened before anything else starts so that a bad server.bind or
// a port in use stops start-up at once with a message naming the address (rather than leaving a
// half-started process behind).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>

namespace tether {

// Resolves `host` (an IP address or a host name such as "localhost") and binds and listens on
// the first of its addresses that works, IPv4 addresses first (so "localhost" means 127.0.0.1,
// like the default bind, and port 0 gives one port). Throws startup_error
// (exit_code::cannot_listen) naming host:port and why each address failed.
boost::asio::ip::tcp::acceptor open_listen_socket(boost::asio::io_context& ioc, const std::string& host,
                                                  std::uint16_t port);

}  // namespace tether
