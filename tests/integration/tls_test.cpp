// HTTPS and WSS with server.tls_cert / server.tls_key (PROTOCOL.md §1), against a throwaway
// self-signed certificate made with the openssl command.
#include "support.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace tether::it {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

struct certificate {
  std::string dir, cert, key;
  certificate() {
    char tmpl[] = "/tmp/tether-tls-XXXXXX";
    dir = ::mkdtemp(tmpl);
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    auto r = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                          "-days", "1", "-subj", "/CN=localhost"},
                         30s);
    if (r.status != 0) throw std::runtime_error("openssl req failed: " + r.err);
  }
  ~certificate() { std::filesystem::remove_all(dir); }
};

// A TLS connection to the server, every step bounded by run_for.
class tls_client {
public:
  explicit tls_client(std::uint16_t port) : ctx_(ssl::context::tls_client), stream_(ioc_, ctx_), port_(port) {
    ctx_.set_verify_mode(ssl::verify_none);  // self-signed: this test checks the transport, not PKI
  }
  bool handshake() {
    bool done = false;
    beast::error_code result;
    beast::get_lowest_layer(stream_).async_connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), [&](beast::error_code ec) {
          if (ec) {
            result = ec;
            done = true;
            return;
          }
          stream_.async_handshake(ssl::stream_base::client, [&](beast::error_code ec2) {
            result = ec2;
            done = true;
          });
        });
    ioc_.run_for(5s);
    ioc_.restart();
    return done && !result;
  }
  int get(const std::string& target, std::string& body) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    bool done = false;
    http::async_write(stream_, req, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        done = true;
        return;
      }
      http::async_read(stream_, buffer, res, [&](beast::error_code, std::size_t) { done = true; });
    });
    ioc_.run_for(5s);
    ioc_.restart();
    body = res.body();
    return done ? res.result_int() : 0;
  }
  tls_stream& stream() { return stream_; }
  net::io_context& ioc() { return ioc_; }

private:
  net::io_context ioc_;
  ssl::context ctx_;
  tls_stream stream_;
  std::uint16_t port_;
};

// The TLS server's /readyz, polled over TLS (the support library polls plain HTTP).
bool ready_over_tls(const server_process& s) {
  return wait_until(
      [&] {
        tls_client probe(s.port());
        std::string body;
        return probe.handshake() && probe.get("/readyz", body) == 200;
      },
      10s);
}

TEST(Tls, HttpsAndWssServeTheProtocol) {
  certificate c;
  server_process s({"server.tls_cert=" + c.cert, "server.tls_key=" + c.key});
  ASSERT_TRUE(ready_over_tls(s));

  // A WebSocket session over TLS: connected, then a ping answered.
  auto token = s.token("tina");
  tls_client client(s.port());
  ASSERT_TRUE(client.handshake());
  beast::websocket::stream<tls_stream&> ws(client.stream());
  bool done = false;
  beast::error_code result;
  ws.async_handshake("localhost", "/ws?token=" + token, [&](beast::error_code ec) {
    result = ec;
    done = true;
  });
  client.ioc().run_for(5s);
  client.ioc().restart();
  ASSERT_TRUE(done && !result) << result.message();

  auto read_json = [&]() -> json::object {
    beast::flat_buffer buffer;
    bool got = false;
    ws.async_read(buffer, [&](beast::error_code ec, std::size_t) { got = !ec; });
    client.ioc().run_for(5s);
    client.ioc().restart();
    if (!got) return {};
    return json::parse(beast::buffers_to_string(buffer.data())).as_object();
  };
  auto connected = read_json();
  EXPECT_EQ(str(connected, "type"), "connected");
  EXPECT_EQ(str(connected, "user_id"), "tina");

  // A message larger than one TLS read (4 KiB) still arrives whole.
  std::string pad(20000, 'x');
  bool sent = false;
  ws.async_write(net::buffer(json::serialize(json::object{{"type", "ping"}, {"ref", 7}, {"pad", pad}})),
                 [&](beast::error_code ec, std::size_t) { sent = !ec; });
  client.ioc().run_for(5s);
  client.ioc().restart();
  ASSERT_TRUE(sent);
  auto pong = read_json();
  EXPECT_EQ(str(pong, "type"), "pong");
  EXPECT_EQ(pong.at("ref").as_int64(), 7);
}

TEST(Tls, PlainConnectionsAreRefused) {
  certificate c;
  server_process s({"server.tls_cert=" + c.cert, "server.tls_key=" + c.key});
  ASSERT_TRUE(ready_over_tls(s));
  // Plain HTTP to a TLS port gets no HTTP answer: no token ever travels in clear text.
  auto r = http_call(s.port(), http::verb::get, "/healthz", "", "", "", 2s);
  EXPECT_EQ(r.status, 0);
}

TEST(Tls, AMissingCertificateStopsStartUp) {
  auto r = run_command({tetherd_path(), "--set", "server.port=0", "--set", "storage.data_dir=/tmp/tether-tls-none",
                        "--set", "server.tls_cert=/nonexistent/cert.pem", "--set", "server.tls_key=/nonexistent/key.pem"},
                       10s);
  std::filesystem::remove_all("/tmp/tether-tls-none");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("server.tls_cert"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tether::it
