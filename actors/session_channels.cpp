// The channels part of a session (PROTOCOL.md §7): subscriptions, chat, receipts, typing, history.
// The session decides only what is about itself (which channels it is in, the size of what it
// sends, the chat an endpoint names); whether the user may use a channel is decided by the channel
// (actors/channel.cpp), and everything goes through the channel registry, so a session's messages
// reach a channel in the order sent.
#include "actors/session_state.hpp"

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tether {

namespace {

using codec::err;

// Channels one session may be subscribed to at once: each holds a handle to the session. A page
// needs a handful (a chat or two, notifications, connections, feed, online). Fixed, like rooms.
constexpr std::size_t max_channels_per_session = 256;

constexpr const char* online_channel = "online";

channel_subscriber subscriber_of(session_self self, std::optional<std::int64_t> since, boost::json::value ref,
                                 bool quiet) {
  auto& st = self->state;
  return channel_subscriber{st.session_id, st.user_id, caf::actor_cast<session_actor>(self), st.out, since,
                            std::move(ref), quiet};
}

chat_request request_of(session_self self, const boost::json::value& ref) {
  auto& st = self->state;
  return chat_request{st.session_id, st.user_id, st.out, ref};
}

// The channel answered the subscription: its actor is monitored from now on. False when the
// session unsubscribed (or ended) meanwhile: the channel got that after the subscribe, in order,
// and nothing is left to remember.
bool remember(session_self self, const std::string& channel, const caf::actor_addr& by) {
  auto& subs = self->state.channels.subscribed;
  auto it = subs.find(channel);
  if (it == subs.end()) return false;
  auto& e = it->second;
  if (e.channel && e.channel != by) self->demonitor(e.channel);
  if (by && e.channel != by) self->monitor(by);
  e.channel = by;
  return true;
}

// A refused subscription: gone again, unless an earlier one of the same channel was confirmed.
void forget_pending(session_self self, const std::string& channel) {
  auto& subs = self->state.channels.subscribed;
  auto it = subs.find(channel);
  if (it != subs.end() && !it->second.channel && channel != online_channel) subs.erase(it);
}

// `endpoint`: the endpoint's own channel; refused, the connection closes with 4003 (§11).
// The subscription counts from now (a client may unsubscribe as soon as it reads `subscribed`,
// which the channel sends before this session hears back): an unsubscribe sent meanwhile follows
// the subscribe to the channel, in order.
void subscribe(session_self self, const std::string& channel, std::optional<std::int64_t> since,
               boost::json::value ref, bool quiet, bool endpoint) {
  auto& st = self->state;
  auto key = channel == online_channel ? std::string(online_channel) : channel_key_for(channel, st.user_id);
  st.channels.subscribed[channel].key = key;
  auto keep = [self, channel](std::int64_t last_id) {
    // Kept for a resume after a restart (§4), with where the subscription starts.
    self->send(self->state.deps.storage, sub_atom::value, self->state.session_id, channel, last_id);
  };
  auto failed = [self, channel, ref](caf::error& e) {
    spdlog::error("session {}: subscribing to {} failed: {}", self->state.session_id, channel, to_string(e));
    forget_pending(self, channel);
    send_error(self, err::internal, "could not subscribe; try again", ref);
  };
  if (channel == online_channel) {
    self->request(st.deps.presence, caf::infinite, subscribe_atom::value, subscriber_of(self, since, ref, quiet))
        .then(
            [self, keep](bool) {
              if (!ended(self) && remember(self, online_channel, caf::actor_addr{})) keep(-1);
            },
            failed);
    return;
  }
  self->request(st.deps.channels, caf::infinite, subscribe_atom::value, key, subscriber_of(self, since, ref, quiet))
      .then(
          [self, channel, endpoint, keep](subscribe_result& r) {
            if (ended(self)) return;  // its end unsubscribed it, after this subscribe
            if (r.ok) {
              if (remember(self, channel, r.channel.address())) keep(r.last_id);
              return;
            }
            forget_pending(self, channel);
            if (endpoint) end_session(self, "closed", 4003, "forbidden");
          },
          failed);
}

// The chat a message is about: its chat_id, else the endpoint's. Empty (and answered): none.
std::string chat_of(session_self self, const std::string& chat_id, const boost::json::value& ref) {
  if (!chat_id.empty()) return chat_id;
  if (!self->state.channels.endpoint_chat.empty()) return self->state.channels.endpoint_chat;
  send_error(self, err::invalid_field, "chat_id is required (except on /ws/messages/{chat_id})", ref);
  return {};
}

std::string chat_key(const std::string& chat) { return "messages/" + chat; }

// Out of one channel: its actor is no longer watched, and whoever serves it is told.
void leave_channel(session_self self, const std::string& channel, const subscription_entry& e, unsubscribe_request r) {
  if (e.channel) self->demonitor(e.channel);
  if (channel == online_channel)
    self->send(self->state.deps.presence, unsubscribe_atom::value, std::move(r));
  else
    self->send(self->state.deps.channels, unsubscribe_atom::value, e.key, std::move(r));
}

}  // namespace

void on_message(session_self self, const codec::subscribe_msg& m) {
  auto& st = self->state;
  if (!st.channels.subscribed.count(m.channel) && st.channels.subscribed.size() >= max_channels_per_session) {
    send_error(self, err::capacity, "a session may be subscribed to at most 256 channels", m.ref);
    return;
  }
  subscribe(self, m.channel, m.since_id, m.ref, false, false);
}

void on_message(session_self self, const codec::unsubscribe_msg& m) {
  auto& st = self->state;
  auto it = st.channels.subscribed.find(m.channel);
  if (it == st.channels.subscribed.end()) {
    send_error(self, err::not_found, "not subscribed to " + m.channel, m.ref);
    return;
  }
  leave_channel(self, m.channel, it->second, unsubscribe_request{st.session_id, true, st.out, m.ref, m.channel});
  st.channels.subscribed.erase(it);
  self->send(st.deps.storage, unsub_atom::value, st.session_id, m.channel);
}

void on_message(session_self self, const codec::chat_message_msg& m) {
  auto chat = chat_of(self, m.chat_id, m.ref);
  if (chat.empty()) return;
  auto limit = cfg(self).chat.max_content_bytes;
  if (static_cast<std::int64_t>(m.content.size()) > limit) {
    send_error(self, err::too_large,
               "content is " + std::to_string(m.content.size()) + " bytes; at most " + std::to_string(limit) + " (chat.max_content_bytes)",
               m.ref);
    return;
  }
  chat_post p{request_of(self, m.ref), m.content, m.attachment.is_null() ? std::string() : boost::json::serialize(m.attachment),
              m.client_msg_id.value_or("")};
  self->send(self->state.deps.channels, post_atom::value, chat_key(chat), std::move(p));
}

void on_message(session_self self, const codec::message_read_msg& m) {
  auto chat = chat_of(self, m.chat_id, m.ref);
  if (chat.empty()) return;
  self->send(self->state.deps.channels, mark_read_atom::value, chat_key(chat), chat_read{request_of(self, m.ref), m.message_id});
}

void on_message(session_self self, const codec::typing_msg& m) {
  auto chat = chat_of(self, m.chat_id, m.ref);
  if (chat.empty()) return;
  self->send(self->state.deps.channels, typing_atom::value, chat_key(chat), chat_typing{request_of(self, m.ref), m.is_typing});
}

void on_message(session_self self, const codec::history_msg& m) {
  auto chat = chat_of(self, m.chat_id, m.ref);
  if (chat.empty()) return;
  self->send(self->state.deps.channels, history_atom::value, chat_key(chat),
             chat_history{request_of(self, m.ref), m.before_id.value_or(0), m.limit});
}

void subscribe_endpoint(session_self self) {
  auto& ch = self->state.channels;
  if (ch.endpoint_channel.empty()) return;
  subscribe(self, ch.endpoint_channel, ch.endpoint_since, nullptr, false, true);
}

void resubscribe_restored(session_self self, const std::vector<channel_place>& channels) {
  // The session has no connection yet: each channel replays into nothing, marks it lagging at the
  // id it had, and replays from there when the client resumes.
  for (const auto& c : channels)
    subscribe(self, c.channel, c.last_id >= 0 ? std::optional<std::int64_t>(c.last_id) : std::nullopt, nullptr, true,
              false);
}

void lag_channels(session_self self) {
  auto& st = self->state;
  for (auto& [channel, e] : st.channels.subscribed)
    if (channel != online_channel) self->send(st.deps.channels, lag_atom::value, e.key, st.session_id);
}

void catch_up_channels(session_self self) {
  auto& st = self->state;
  for (auto& [channel, e] : st.channels.subscribed) {
    if (channel == online_channel)
      // What changed while it had no connection is not replayed: the current list instead.
      self->request(st.deps.presence, caf::infinite, subscribe_atom::value, subscriber_of(self, std::nullopt, nullptr, true))
          .then([](bool) {}, [](caf::error&) {});
    else
      self->send(st.deps.channels, catch_up_atom::value, e.key, st.session_id);
  }
}

void leave_all_channels(session_self self) {
  auto& st = self->state;
  for (auto& [channel, e] : st.channels.subscribed)
    leave_channel(self, channel, e, unsubscribe_request{st.session_id, false, nullptr, nullptr, channel});
  st.channels.subscribed.clear();
}

bool on_channel_down(session_self self, const caf::down_msg& msg) {
  auto& subs = self->state.channels.subscribed;
  for (auto& [channel, e] : subs) {
    if (!e.channel || e.channel != msg.source) continue;
    e.channel = caf::actor_addr{};
    if (!ended(self)) {
      spdlog::warn("session {}: channel {} went away ({}); subscribing again", self->state.session_id, channel,
                   to_string(msg.reason));
      subscribe(self, channel, std::nullopt, nullptr, true, false);
    }
    return true;
  }
  return false;
}

}  // namespace tether
