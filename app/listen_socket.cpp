#include "app/listen_socket.hpp"

#include "app/startup_error.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/socket_base.hpp>

#include <algorithm>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace tether {

namespace {

std::string show(const tcp::endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

std::vector<tcp::endpoint> resolve(net::io_context& ioc, const std::string& host, std::uint16_t port) {
  const std::string subject = host + ":" + std::to_string(port);
  boost::system::error_code ec;
  // A literal address needs no lookup (and must not be turned into another one).
  const auto literal = net::ip::make_address(host, ec);
  if (!ec) return {tcp::endpoint(literal, port)};
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(host, std::to_string(port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    throw startup_error(exit_code::cannot_listen, "cannot listen on " + subject + ": server.bind \"" + host +
                                                      "\" does not resolve (" +
                                                      (ec ? ec.message() : std::string("no addresses")) + ")");
  std::vector<tcp::endpoint> out;
  for (const auto& r : results)
    if (std::find(out.begin(), out.end(), r.endpoint()) == out.end()) out.push_back(r.endpoint());
  std::stable_partition(out.begin(), out.end(), [](const tcp::endpoint& e) { return e.address().is_v4(); });
  return out;
}

}  // namespace

tcp::acceptor open_listen_socket(net::io_context& ioc, const std::string& host, std::uint16_t port) {
  std::string failures;
  for (const auto& endpoint : resolve(ioc, host, port)) {
    tcp::acceptor acceptor(ioc);
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) return acceptor;
    failures += (failures.empty() ? "" : "; ") + show(endpoint) + ": " + ec.message();
  }
  throw startup_error(exit_code::cannot_listen, "cannot listen on " + host + ":" + std::to_string(port) + " (" +
                                                    failures + ")");
}

}  // namespace tether
