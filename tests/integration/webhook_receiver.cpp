#include "webhook_receiver.hpp"

#include <boost/asio.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>

namespace tether::it {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct webhook_receiver::impl {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<delivery> received;
  std::deque<int> statuses;

  int next_status() {
    std::lock_guard<std::mutex> lock(mutex);
    if (statuses.empty()) return 200;
    int s = statuses.front();
    statuses.pop_front();
    return s;
  }

  void accept() {
    if (!acceptor) return;
    acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed by stop()
      serve(std::make_shared<beast::tcp_stream>(std::move(socket)));
      accept();
    });
  }

  void serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    stream->expires_after(5s);
    http::async_read(*stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec, std::size_t) {
      if (ec) return;
      delivery d;
      d.body = req->body();
      d.signature = std::string((*req)["X-Tether-Signature"]);
      d.answered = next_status();
      boost::system::error_code jec;
      auto v = json::parse(d.body, jec);
      if (!jec && v.is_object()) d.event = v.as_object();
      auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(d.answered), 11);
      res->set(http::field::connection, "close");
      res->body() = "ok";
      res->prepare_payload();
      {
        std::lock_guard<std::mutex> lock(mutex);
        received.push_back(std::move(d));
      }
      http::async_write(*stream, *res, [stream, res](beast::error_code, std::size_t) {
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }
};

webhook_receiver::webhook_receiver(bool listening) : impl_(std::make_unique<impl>()) {
  {
    // The port: one the kernel picks, then kept (SO_REUSEADDR lets start() bind it again).
    tcp::acceptor probe(impl_->ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = probe.local_endpoint().port();
  }
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
  if (listening) start();
}

webhook_receiver::~webhook_receiver() {
  stop();
  impl_->work.reset();
  impl_->ioc.stop();
  impl_->thread.join();
}

void webhook_receiver::start() {
  std::promise<void> done;
  asio::post(impl_->ioc, [this, &done] {
    auto& a = impl_->acceptor.emplace(impl_->ioc);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
    a.open(ep.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    a.bind(ep);
    a.listen();
    impl_->accept();
    done.set_value();
  });
  done.get_future().wait();
}

void webhook_receiver::stop() {
  std::promise<void> done;
  asio::post(impl_->ioc, [this, &done] {
    if (impl_->acceptor) {
      beast::error_code ignored;
      impl_->acceptor->close(ignored);
      impl_->acceptor.reset();
    }
    done.set_value();
  });
  done.get_future().wait();
}

void webhook_receiver::answer_next(std::vector<int> statuses) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->statuses.assign(statuses.begin(), statuses.end());
}

std::vector<webhook_receiver::delivery> webhook_receiver::received() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->received;
}

bool webhook_receiver::wait_for(const std::function<bool(const std::vector<delivery>&)>& pred, ms timeout) {
  return wait_until([&] { return pred(received()); }, timeout);
}

std::optional<webhook_receiver::delivery> webhook_receiver::wait_event(
    const std::string& type, const std::function<bool(const json::object&)>& match, ms timeout) {
  std::optional<delivery> found;
  wait_for(
      [&](const std::vector<delivery>& all) {
        for (const auto& d : all)
          if (d.answered / 100 == 2 && str(d.event, "type") == type && match(d.event)) {
            found = d;
            return true;
          }
        return false;
      },
      timeout);
  return found;
}

std::vector<json::object> webhook_receiver::delivered(const std::string& type) const {
  std::vector<json::object> out;
  for (const auto& d : received())
    if (d.answered / 100 == 2 && str(d.event, "type") == type) out.push_back(d.event);
  return out;
}

bool valid_signature(const std::string& body, const std::string& signature, const std::string& secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 0xf];
  }
  return signature == "sha256=" + hex;
}

}  // namespace tether::it
