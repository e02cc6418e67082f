// The channels scenarios' side of a worker (docs/benchmarks.md, "Channels"):
//   chat:    2 members per dm chat, both subscribed, both sending; latency is send -> the other
//            member's new_message (the send time travels in client_msg_id "<t>.<sender>.<seq>");
//   history: `history` requests with a random before_id, --window in flight per connection;
//   notify:  keep-alive HTTP POST /api/notify/like in closed loop, half of them to a user with a
//            live `notifications` subscriber (one of the connections), half to nobody online;
//            the post_id is the send time, so a subscriber's notification gives the latency.
#include <charconv>
#include <string>

#include "bench/loadgen/http_poster.hpp"
#include "bench/loadgen/message_scan.hpp"
#include "bench/loadgen/worker.hpp"

namespace loadgen {

namespace {

// t and sender of a client_msg_id "<t>.<sender>.<seq>".
bool parse_client_msg_id(std::string_view id, std::int64_t& t, std::int64_t& sender) {
  const char* p = id.data();
  const char* end = p + id.size();
  auto r = std::from_chars(p, end, t);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != '.') return false;
  r = std::from_chars(r.ptr + 1, end, sender);
  return r.ec == std::errc{};
}

}  // namespace

void worker::subscribe_all() {
  for (auto& m : members_) {
    if (m.gone || !m.conn) continue;
    const auto channel = opts_.scenario == scenario_kind::chat ? "messages/" + m.chat : std::string("notifications");
    send(m, R"({"type":"subscribe","channel":")" + channel + "\"}");
  }
}

void worker::send_chat(member& m) {
  std::string text;
  text.reserve(128 + m.chat.size() + opts_.content_bytes);
  text += R"({"type":"message","chat_id":")";
  text += m.chat;
  text += R"(","content":")";
  text.append(opts_.content_bytes, 'x');
  text += R"(","client_msg_id":")";
  text += std::to_string(now_ns());
  text += '.';
  text += std::to_string(m.global);
  text += '.';
  text += std::to_string(m.pub_seq++);
  text += "\"}";
  if (traffic_on_) ++stats_.published;
  send(m, std::move(text));
}

void worker::fill_all() {
  for (auto& m : members_) {
    if (m.global != 0 || m.gone || !m.conn) continue;
    for (std::size_t i = 0; i < opts_.window && m.fill_sent < opts_.fill; ++i, ++m.fill_sent) send_chat(m);
  }
}

void worker::on_new_message(member& m, std::string_view text, std::int64_t now) {
  const auto id = string_field(text, "client_msg_id");
  std::int64_t t = 0, sender = -1;
  if (!id || !parse_client_msg_id(*id, t, sender)) {
    ++stats_.unparsed;
    return;
  }
  if (sender == static_cast<std::int64_t>(m.global)) {
    // Our own message, stored: a place in the window is free.
    ++stats_.echoes;
    if (opts_.scenario == scenario_kind::history) {
      stats_.live.filled.fetch_add(1, std::memory_order_relaxed);
      if (m.fill_sent < opts_.fill) {
        ++m.fill_sent;
        send_chat(m);
      }
    } else if (traffic_on_ && opts_.publish_rate <= 0) {
      send_chat(m);
    }
    return;
  }
  stats_.latency_ns.record(now - t);
  ++stats_.delivered;
  if (now <= window_end_ns_) ++stats_.delivered_in_window;
  const auto message_id = integer_field(text, "message_id");
  if (message_id) {
    if (*message_id <= m.last_message_id) ++stats_.reordered;
    m.last_message_id = *message_id;
  }
}

void worker::send_history(member& m) {
  std::string text = R"({"type":"history","chat_id":")" + m.chat + R"(","limit":)" + std::to_string(opts_.limit);
  if (m.max_id > 0) {
    // xorshift64: a before_id uniform in 1..max_id+1 (exclusive: the newest page included).
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    text += R"(,"before_id":)" + std::to_string(1 + rng_ % static_cast<std::uint64_t>(m.max_id + 1));
  }
  text += R"(,"ref":)" + std::to_string(now_ns()) + "}";
  send(m, std::move(text));
}

void worker::on_history(member& m, std::string_view text, std::int64_t now) {
  const auto sent = integer_field(text, "ref", text.rfind("\"ref\":"));
  if (!sent) {
    ++stats_.unparsed;
    return;
  }
  ++stats_.round_trips;
  if (now <= window_end_ns_) ++stats_.round_trips_in_window;
  stats_.latency_ns.record(now - *sent);
  // Messages in the answer, and the newest id (the first answer has no before_id: the last page).
  std::int64_t newest = 0;
  for (auto pos = text.find("\"message_id\":"); pos != std::string_view::npos; pos = text.find("\"message_id\":", pos + 1)) {
    ++stats_.history_messages;
    if (auto id = integer_field(text, "message_id", pos)) newest = std::max(newest, *id);
  }
  if (m.max_id == 0) m.max_id = newest;
  if (traffic_on_) send_history(m);
}

void worker::on_notification(std::string_view text, std::int64_t now) {
  const auto t = integer_field(text, "post_id");
  if (!t) {
    ++stats_.unparsed;
    return;
  }
  stats_.latency_ns.record(now - *t);
  ++stats_.delivered;
  if (now <= window_end_ns_) ++stats_.delivered_in_window;
}

void worker::start_posters() {
  if (targets_.empty()) return;
  const auto n = opts_.connections;
  for (std::size_t j = id_; j < opts_.http_connections; j += opts_.threads) {
    auto next = [this, n](http_poster::request& r) {
      if (!traffic_on_) return false;
      // Even: a user with a live subscriber (connection i's user); odd: a user never connected.
      const auto k = notify_seq_++;
      const auto i = (k / 2) % n;
      const auto owner = k % 2 ? opts_.user_prefix + "off" + std::to_string(i) : opts_.user_prefix + std::to_string(i);
      r.target = "/api/notify/like";
      r.body = R"({"post_owner_id":")" + owner + R"(","post_id":)" + std::to_string(now_ns()) +
               R"(,"user_id":"liker","user_name":"Liker"})";
      return true;
    };
    auto done = [this](unsigned status, std::int64_t ns, std::string_view body) {
      ++stats_.http_requests;
      if (status != 202) {
        ++stats_.http_failed;
        count_reason("http: " + std::to_string(status));
        return;
      }
      stats_.http_ns.record(ns);
      if (now_ns() <= window_end_ns_) ++stats_.http_in_window;
      if (auto d = integer_field(body, "delivered")) stats_.notify_delivered += static_cast<std::uint64_t>(*d);
      if (auto s = integer_field(body, "stored")) stats_.notify_stored += static_cast<std::uint64_t>(*s);
    };
    auto p = std::make_shared<http_poster>(ioc_, targets_.front().remote, targets_.front().host, opts_.api_key,
                                           std::move(next), std::move(done));
    posters_.push_back(p);
    p->start();
  }
}

}  // namespace loadgen
