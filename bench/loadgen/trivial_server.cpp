// trivial-ws-server: the least a WebSocket server can do for the load generator's scenarios,
// to show the generator's own ceiling ("it can push more than tetherd takes"). It answers
// ping with pong (ref echoed), join_room with room_joined (+ user_joined to the others), and
// relays publish as room_message to every member, sender included, building the frame once.
// No auth, no limits, no persistence. Not a product: one file on purpose.
//
// usage: trivial-ws-server [--port P] [--threads T]   (prints "listening on 127.0.0.1:P")
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_outbound_bytes = 16 * 1024 * 1024;  // then the reader is cut off, like tetherd
constexpr std::size_t max_frames_per_write = 256;
std::atomic<std::uint64_t> next_session{1};
bool single_thread = true;  // then a delivery needs no hop onto the receiver's strand

class session;
using frame = std::shared_ptr<const std::string>;

// The rooms, shared by all threads; one lock, held only to copy a member list.
class rooms {
 public:
  // Adds s; returns the members before it (to announce to) and the room's participants.
  std::vector<std::shared_ptr<session>> join(const std::string& room, const std::shared_ptr<session>& s);
  void leave(const std::string& room, const session* s);
  std::vector<std::shared_ptr<session>> members(const std::string& room);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::shared_ptr<session>>> rooms_;
};

rooms all_rooms;

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket&& s) : ws_(std::move(s)), id_(next_session++) {}
  const std::string& user() const { return user_; }

  void run() {
    http::async_read(ws_.next_layer(), buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

  // Thread-safe: hops onto this session's strand when there are several threads.
  void deliver(frame f) {
    if (single_thread) return queue(std::move(f));
    asio::post(ws_.get_executor(), [self = shared_from_this(), f = std::move(f)] { self->queue(f); });
  }

 private:
  void on_request(beast::error_code ec) {
    if (ec) return;
    const std::string target(request_.target());
    const auto pos = target.find("user_id=");
    user_ = pos == std::string::npos ? "u" + std::to_string(id_) : target.substr(pos + 8, target.find('&', pos) - pos - 8);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  void on_accept(beast::error_code ec) {
    if (ec) return;
    ws_.text(true);
    queue(std::make_shared<const std::string>(json::serialize(json::object{
        {"type", "connected"}, {"session_id", std::to_string(id_)}, {"user_id", user_}})));
    do_read();
  }

  void do_read() {
    in_.clear();
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return end();
    handle(beast::buffers_to_string(in_.data()));
    do_read();
  }

  void handle(const std::string& text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return queue(make_error("bad_json"));
    auto& o = v.as_object();
    const auto* type = o.if_contains("type");
    if (!type || !type->is_string()) return queue(make_error("invalid_field"));
    const auto& t = type->as_string();
    if (t == "ping") {
      json::object pong{{"type", "pong"}};
      if (auto* ref = o.if_contains("ref")) pong["ref"] = *ref;
      queue(std::make_shared<const std::string>(json::serialize(pong)));
    } else if (t == "join_room") {
      join(o);
    } else if (t == "publish") {
      publish(o);
    } else {
      queue(make_error("unknown_type"));
    }
  }

  void join(const json::object& o) {
    const auto* room = o.if_contains("room_id");
    if (!room || !room->is_string()) return queue(make_error("invalid_field"));
    const std::string r(room->as_string());
    auto others = all_rooms.join(r, shared_from_this());
    room_ = r;
    json::array participants;
    for (const auto& m : others) participants.push_back(json::object{{"user_id", m->user()}});
    participants.push_back(json::object{{"user_id", user_}});
    queue(std::make_shared<const std::string>(json::serialize(json::object{
        {"type", "room_joined"}, {"room_id", r}, {"participants", std::move(participants)},
        {"occupancy", others.size() + 1}, {"capacity", 1000000}})));
    const auto announce = std::make_shared<const std::string>(
        json::serialize(json::object{{"type", "user_joined"}, {"room_id", r}, {"user_id", user_}}));
    for (const auto& m : others) m->deliver(announce);
  }

  void publish(json::object& o) {
    const auto* room = o.if_contains("room_id");
    if (!room || !room->is_string() || room->as_string() != room_) return queue(make_error("forbidden"));
    const auto f = std::make_shared<const std::string>(json::serialize(json::object{
        {"type", "room_message"}, {"room_id", room_}, {"user_id", user_}, {"data", o["data"]}}));
    for (const auto& m : all_rooms.members(room_)) m->deliver(f);  // built once, shared by all
  }

  static frame make_error(const char* code) {
    return std::make_shared<const std::string>(std::string(R"({"type":"error","code":")") + code + "\"}");
  }

  void queue(frame f) {
    if (closed_) return;
    queued_bytes_ += f->size();
    if (queued_bytes_ > max_outbound_bytes) {  // a slow reader is cut off, nobody waits for it
      closed_ = true;
      beast::get_lowest_layer(ws_).close();
      return;
    }
    out_.push_back(std::move(f));
    if (!writing_) do_write();
  }

  // Everything queued leaves in one gather write of ready-made frames (as tetherd does), not one
  // Beast write (one syscall) per message: a fan-out queues many. Server frames are unmasked, so
  // the header is all there is to add. Beast itself writes only the answer to a close frame.
  void do_write() {
    writing_ = true;
    in_flight_ = std::min(out_.size(), max_frames_per_write);
    headers_.resize(in_flight_);
    buffers_.clear();
    for (std::size_t i = 0; i < in_flight_; ++i) {
      const auto& payload = *out_[i];
      auto& h = headers_[i];
      std::size_t n = 0;
      h[n++] = 0x81;  // FIN, text
      if (payload.size() < 126) {
        h[n++] = static_cast<unsigned char>(payload.size());
      } else if (payload.size() <= 0xffff) {
        h[n++] = 126;
        h[n++] = static_cast<unsigned char>(payload.size() >> 8);
        h[n++] = static_cast<unsigned char>(payload.size());
      } else {
        h[n++] = 127;
        for (int shift = 56; shift >= 0; shift -= 8) h[n++] = static_cast<unsigned char>(payload.size() >> shift);
      }
      buffers_.push_back(asio::buffer(h.data(), n));
      buffers_.push_back(asio::buffer(payload));
    }
    asio::async_write(ws_.next_layer(), buffers_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (ec) return end();
    for (std::size_t i = 0; i < in_flight_; ++i) {
      queued_bytes_ -= out_.front()->size();
      out_.pop_front();
    }
    if (!out_.empty() && !closed_) do_write();
  }

  // The queue is left alone: a write in flight still points into its front frame.
  void end() {
    if (!room_.empty()) all_rooms.leave(room_, this);
    room_.clear();
    closed_ = true;
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  beast::flat_buffer in_;
  http::request<http::string_body> request_;
  std::deque<frame> out_;
  std::vector<std::array<unsigned char, 10>> headers_;
  std::vector<asio::const_buffer> buffers_;
  std::size_t in_flight_ = 0;
  bool writing_ = false;
  std::size_t queued_bytes_ = 0;
  std::uint64_t id_;
  std::string user_;
  std::string room_;
  bool closed_ = false;
};

std::vector<std::shared_ptr<session>> rooms::join(const std::string& room, const std::shared_ptr<session>& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& list = rooms_[room];
  auto before = list;
  list.push_back(s);
  return before;
}

void rooms::leave(const std::string& room, const session* s) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& list = rooms_[room];
  for (auto it = list.begin(); it != list.end(); ++it)
    if (it->get() == s) {
      list.erase(it);
      break;
    }
}

std::vector<std::shared_ptr<session>> rooms::members(const std::string& room) {
  std::lock_guard<std::mutex> lock(mutex_);
  return rooms_[room];
}

void accept_loop(tcp::acceptor& acceptor, asio::io_context& ioc) {
  acceptor.async_accept(asio::make_strand(ioc), [&acceptor, &ioc](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true), ec);
      std::make_shared<session>(std::move(s))->run();
    }
    accept_loop(acceptor, ioc);  // an accept error (EMFILE) must not stop the server
  });
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    else if (flag == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: trivial-ws-server [--port P] [--threads T]\n");
      return 2;
    }
  }
  single_thread = threads == 1;
  asio::io_context ioc(threads);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  acceptor.listen(4096);
  std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
  accept_loop(acceptor, ioc);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
}
