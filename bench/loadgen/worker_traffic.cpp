// The scenarios' side of a worker: what each connection sends, and what it makes of what it
// receives (joins, user_joined counts, pongs, room messages and their latency and gaps).
#include <chrono>
#include <string>

#include "bench/loadgen/message_scan.hpp"
#include "bench/loadgen/http_poster.hpp"
#include "bench/loadgen/worker.hpp"

namespace loadgen {

namespace {
// A bound on the catch-up burst of a late rate-paced publisher, so one slow tick cannot queue
// an unbounded burst; what it could not send shows as a lower publish count, not hidden.
constexpr int max_publish_burst = 64;
}  // namespace

void worker::join_all(std::uint64_t room_size) {
  room_size_ = room_size;
  const std::string text = R"({"type":"join_room","room_id":")" + opts_.room + "\"}";
  for (auto& m : members_) {
    if (m.gone || !m.conn) continue;
    m.join_sent_ns = now_ns();
    send(m, text);
  }
}

void worker::start_traffic(std::int64_t window_end) {
  traffic_on_ = true;
  window_end_ns_ = window_end;
  const auto now = now_ns();
  for (auto& m : members_) {
    if (m.gone || !m.conn) continue;
    if (opts_.scenario == scenario_kind::echo) {
      for (std::size_t i = 0; i < opts_.window; ++i) send_ping(m);
    } else if (opts_.scenario == scenario_kind::history) {
      for (std::size_t i = 0; i < opts_.window; ++i) send_history(m);
    } else if ((opts_.scenario == scenario_kind::fanout && is_publisher(m)) || opts_.scenario == scenario_kind::chat) {
      if (opts_.publish_rate > 0) {
        // Spread the publishers over one interval so they do not all fire together.
        const auto interval = static_cast<std::int64_t>(1e9 / opts_.publish_rate);
        const auto senders = opts_.scenario == scenario_kind::chat ? opts_.connections : opts_.publishers;
        m.pub_next_ns = now + interval * static_cast<std::int64_t>(m.global) / static_cast<std::int64_t>(senders);
        m.pub_timer = std::make_unique<asio::steady_timer>(ioc_);
        schedule_publish(m);
      } else {
        for (std::size_t i = 0; i < opts_.window; ++i) opts_.scenario == scenario_kind::chat ? send_chat(m) : publish(m);
      }
    }
  }
  if (opts_.scenario == scenario_kind::notify) start_posters();
}

void worker::stop_traffic() {
  traffic_on_ = false;
  for (auto& m : members_)
    if (m.pub_timer) m.pub_timer->cancel();
  for (auto& p : posters_) p->stop();
}

void worker::on_text(client& c, std::string_view text) {
  auto& m = members_[c.index()];
  const auto now = now_ns();
  ++stats_.received;
  stats_.bytes_received += text.size();
  const auto type = message_type(text);
  if (type == "new_message") {
    on_new_message(m, text, now);
  } else if (type == "history") {
    on_history(m, text, now);
  } else if (type == "notification") {
    on_notification(text, now);
  } else if (type == "message_delivered") {
    ++stats_.receipts;
  } else if (type == "subscribed") {
    if (!m.joined) {
      m.joined = true;
      stats_.live.joined.fetch_add(1, std::memory_order_relaxed);
    }
  } else if (type == "room_message") {
    on_room_message(m, text, now);
  } else if (type == "pong") {
    on_pong(m, text, now);
  } else if (type == "user_joined") {
    on_user_joined(m);
  } else if (type == "room_joined") {
    on_room_joined(m, text, now);
  } else if (type == "error") {
    ++stats_.server_errors;
    const auto code = string_field(text, "code");
    count_reason("error: " + std::string(code ? *code : "?"));
  } else if (type.empty()) {
    ++stats_.unparsed;
  }
  // connected, user_left, queued, ...: nothing to measure.
}

void worker::on_room_joined(member& m, std::string_view text, std::int64_t now) {
  if (m.joined) return;
  m.joined = true;
  stats_.join_ns.record(now - m.join_sent_ns);
  stats_.live.joined.fetch_add(1, std::memory_order_relaxed);
  const auto occupancy = integer_field(text, "occupancy");
  if (!occupancy || *occupancy < 1) {
    ++stats_.unparsed;
    return;
  }
  // Everyone who joins after us is announced to us: the room ends with N members.
  const auto n = static_cast<std::int64_t>(room_size_);
  m.user_joined_due = static_cast<std::uint64_t>(std::max<std::int64_t>(0, n - *occupancy));
  if (!m.fully_seen && m.user_joined_seen >= m.user_joined_due) {
    m.fully_seen = true;
    stats_.live.fully_seen.fetch_add(1, std::memory_order_relaxed);
  }
}

void worker::on_user_joined(member& m) {
  ++m.user_joined_seen;
  ++stats_.user_joined_seen;
  if (!m.fully_seen && m.user_joined_due != UINT64_MAX && m.user_joined_seen >= m.user_joined_due) {
    m.fully_seen = true;
    stats_.live.fully_seen.fetch_add(1, std::memory_order_relaxed);
  }
}

void worker::send_ping(member& m) {
  // The server echoes ref in its pong: the send time travels with the message, no table needed.
  send(m, R"({"type":"ping","ref":)" + std::to_string(now_ns()) + "}");
}

void worker::on_pong(member& m, std::string_view text, std::int64_t now) {
  const auto sent = integer_field(text, "ref");
  if (!sent) {
    ++stats_.unparsed;
    return;
  }
  ++stats_.round_trips;
  if (now <= window_end_ns_) ++stats_.round_trips_in_window;
  stats_.latency_ns.record(now - *sent);
  if (traffic_on_) send_ping(m);
}

void worker::publish(member& m) {
  std::string text;
  text.reserve(96 + opts_.room.size() + opts_.payload_bytes);
  text += R"({"type":"publish","room_id":")";
  text += opts_.room;
  text += R"(","data":{"t":)";
  text += std::to_string(now_ns());
  text += R"(,"seq":)";
  text += std::to_string(m.pub_seq++);
  text += R"(,"p":)";
  text += std::to_string(m.global);
  if (opts_.payload_bytes) {
    text += R"(,"pad":")";
    text.append(opts_.payload_bytes, 'x');
    text += '"';
  }
  text += "}}";
  ++stats_.published;
  send(m, std::move(text));
}

void worker::schedule_publish(member& m) {
  m.pub_timer->expires_at(asio::steady_timer::time_point(std::chrono::nanoseconds(m.pub_next_ns)));
  m.pub_timer->async_wait([this, &m](boost::system::error_code ec) {
    if (ec || !traffic_on_ || m.gone) return;
    const auto interval = static_cast<std::int64_t>(1e9 / opts_.publish_rate);
    const auto now = now_ns();
    int burst = 0;
    while (m.pub_next_ns <= now && burst < max_publish_burst) {
      opts_.scenario == scenario_kind::chat ? send_chat(m) : publish(m);
      m.pub_next_ns += interval;
      ++burst;
    }
    if (m.pub_next_ns <= now) {
      // Too far behind: skip ahead and count the skipped sends as the generator's shortfall.
      stats_.reasons["publish_skipped_generator_late"] += static_cast<std::uint64_t>((now - m.pub_next_ns) / interval + 1);
      m.pub_next_ns = now + interval;
    }
    schedule_publish(m);
  });
}

void worker::on_room_message(member& m, std::string_view text, std::int64_t now) {
  const auto st = publish_stamp(text);
  if (!st || st->p < 0 || static_cast<std::size_t>(st->p) >= m.next_seq.size()) {
    ++stats_.unparsed;
    return;
  }
  const auto t = st->t;
  const auto seq = st->seq;
  const auto p = st->p;
  stats_.latency_ns.record(now - t);
  ++stats_.delivered;
  if (now <= window_end_ns_) ++stats_.delivered_in_window;
  auto& expected = m.next_seq[static_cast<std::size_t>(p)];
  const auto s = static_cast<std::uint64_t>(seq);
  if (s >= expected) {
    stats_.gaps += s - expected;
    expected = s + 1;
  } else {
    ++stats_.reordered;
  }
  // Closed loop: a publisher's own message coming back frees a place in its window.
  if (traffic_on_ && opts_.publish_rate <= 0 && static_cast<std::size_t>(p) == m.global) publish(m);
}

}  // namespace loadgen
