#include "actors/channel_registry.hpp"

#include "actors/live_counts.hpp"
#include "actors/timer.hpp"
#include "proto/channel_messages.hpp"
#include "proto/clock.hpp"
#include "proto/codec.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

namespace tether {

namespace {

using codec::err;

// Fixed, not options (docs/protocol.md states them):
// A replay reads this many rows at a time: one page is one read on the reader's connection and
// at most ~1 MB of frames (200 messages of the 4000-byte default content).
constexpr std::int64_t replay_page = 200;
// How long a paused replay waits before it looks at the subscriber's queue again.
constexpr auto replay_pause = std::chrono::milliseconds(20);
// `typing` with the same state from the same user within this long is not forwarded: a client
// that sends it on every key press costs its chat one frame per second, not one per key.
constexpr std::int64_t typing_repeat_ms = 1000;

// live: gets every new item. replaying: reading what it missed (new items wait in SQLite).
// lagging: its connection dropped; nothing is sent until catch_up.
enum class sub_state { live, replaying, lagging };

struct subscription {
  std::string user_id;
  session_actor session;
  std::shared_ptr<outbox> out;
  sub_state state = sub_state::live;
  std::int64_t last_id = 0;  // history channels: the last item queued to it
  std::uint64_t gen = 0;     // a replay of an older subscription (re-subscribed) stops
};

struct typing_seen {
  bool is_typing = false;
  std::int64_t at_ms = 0;
};

struct channel_state {
  std::string key;
  channel_key what;
  channel_deps deps;
  std::unordered_map<std::string, subscription> subs;  // by session id
  // Chats: who may use it. Loaded when the channel starts; a chat that does not exist yet is
  // looked up again when someone tries it (POST /api/chats may create it meanwhile).
  bool chat_exists = false;
  std::unordered_set<std::string> members;
  std::int64_t latest_id = 0;  // the last id stored in this channel (the replay's target)
  std::unordered_map<std::string, typing_seen> typing;
  std::uint64_t next_gen = 1;
  // Storage and reader requests not answered yet (access checks included: a channel never asks
  // to go while one could still add a subscriber or a message).
  std::int64_t in_flight = 0;
  std::uint64_t ops_seen = 0;  // from the registry: compared on vacate
  bool vacating = false;
  bool retired = false;  // the registry let it go: it quits once what is in flight is done
  channel_state() { ++live().channels; }
  ~channel_state() {
    --live().channels;
    live().channel_subscriptions -= static_cast<std::int64_t>(subs.size());
  }
  static inline const char* name = "channel";
};

using channel_self = channel_actor::stateful_pointer<channel_state>;

void maybe_vacate(channel_self self);

// ---- access: the one place it is decided ----

bool allowed_now(const channel_state& st, const std::string& user) {
  switch (st.what.what) {
    case channel_key::kind::feed: return true;
    case channel_key::kind::stream: return user == st.what.user_id;
    case channel_key::kind::chat: return st.members.count(user) > 0;
    case channel_key::kind::invalid: return false;
  }
  return false;
}

void learn_chat(channel_state& st, chat_info& info) {
  st.chat_exists = info.exists;
  st.members = std::unordered_set<std::string>(info.members.begin(), info.members.end());
  st.latest_id = std::max(st.latest_id, info.last_id);
}

void refuse(const std::shared_ptr<outbox>& out, const channel_state& st, const boost::json::value& ref) {
  out->send(codec::error_frame(err::forbidden, "not allowed in " + st.what.wire_name(), ref));
}

// Runs `then` if `user` may use the channel, else sends `out` forbidden and runs `refused`. A chat
// not known to exist is looked up first; the channel handles nothing else meanwhile (await), so
// what the session sent next is still handled in its order. Both run now or later: they own what
// they use.
template <class F, class G>
void with_access(channel_self self, const std::string& user, const std::shared_ptr<outbox>& out,
                 const boost::json::value& ref, F then, G refused) {
  auto& st = self->state;
  if (allowed_now(st, user)) return then();
  if (st.what.what != channel_key::kind::chat || st.chat_exists) {
    refuse(out, st, ref);
    return refused();
  }
  ++st.in_flight;
  self->request(st.deps.reader, caf::infinite, chat_info_atom::value, st.what.chat_id)
      .await(
          [self, user, out, ref, then, refused](chat_info& info) mutable {
            --self->state.in_flight;
            learn_chat(self->state, info);
            if (allowed_now(self->state, user))
              return then();
            refuse(out, self->state, ref);
            refused();
          },
          [self, out, ref, refused](caf::error&) mutable {
            --self->state.in_flight;
            out->send(codec::error_frame(err::internal, "could not check access; try again", ref));
            refused();
          });
}

template <class F>
void with_access(channel_self self, const std::string& user, const std::shared_ptr<outbox>& out,
                 const boost::json::value& ref, F then) {
  with_access(self, user, out, ref, std::move(then), [] {});
}

// ---- delivering ----

// The subscriber's connection is gone: nothing is sent until catch_up, and where it stopped is
// recorded, so that a resume after a restart replays from there too.
void become_lagging(channel_self self, const std::string& session_id, subscription& s) {
  if (s.state == sub_state::lagging) return;
  s.state = sub_state::lagging;
  if (self->state.what.has_history())
    self->send(self->state.deps.storage, sub_mark_atom::value, session_id, self->state.what.wire_name(), s.last_id);
}

// Sends `f` (item `id`; 0 for items without ids) to every live subscriber but the sessions of
// `except_user`; the users reached.
std::unordered_set<std::string> deliver_live(channel_self self, const frame& f, std::int64_t id,
                                             delivery d = delivery::must, const std::string& except_user = {}) {
  std::unordered_set<std::string> reached;
  for (auto& [sid, s] : self->state.subs) {
    if (s.state != sub_state::live || (id > 0 && id <= s.last_id)) continue;
    if (!except_user.empty() && s.user_id == except_user) continue;
    switch (s.out->send(f, d)) {
      case send_result::queued:
        reached.insert(s.user_id);
        if (id > 0) s.last_id = id;
        break;
      case send_result::closed:
        // Its connection is gone: what it misses now is replayed if it resumes.
        if (id > 0) become_lagging(self, sid, s);
        break;
      case send_result::dropped:
        break;
    }
  }
  return reached;
}

// To the live subscribed sessions of `user` (receipts go to the sender's sessions).
void send_to_user(channel_self self, const std::string& user, const frame& f) {
  for (auto& [sid, s] : self->state.subs)
    if (s.user_id == user && s.state == sub_state::live) s.out->send(f);
}

// ---- replay ----

void replay(channel_self self, const std::string& session_id, std::uint64_t gen);

template <class Items>
void replay_page_arrived(channel_self self, const std::string& session_id, std::uint64_t gen, Items& items) {
  auto& st = self->state;
  auto it = st.subs.find(session_id);
  if (it == st.subs.end() || it->second.gen != gen || it->second.state != sub_state::replaying) return;
  auto& s = it->second;
  for (auto& item : items) {
    auto id = [&] {
      if constexpr (std::is_same_v<std::decay_t<decltype(item)>, chat_message>)
        return item.message_id;
      else
        return item.id;
    }();
    if (id <= s.last_id) continue;
    if (s.out->send(codec::encode(item)) == send_result::closed) {
      become_lagging(self, session_id, s);
      return;
    }
    s.last_id = id;
  }
  bool more = static_cast<std::int64_t>(items.size()) == replay_page;
  if (!more && s.last_id < st.latest_id) {
    // Not in a page although the channel delivered it: only rows pruned by retention or a
    // stream's ids shared with the other stream. Nothing more to read.
    more = !items.empty();
    if (!more) s.last_id = st.latest_id;
  }
  if (!more) {
    s.state = sub_state::live;  // caught up: every later item is delivered live, in order
    return;
  }
  auto link = s.out->link();
  if (link && link->queued_bytes() > st.deps.replay_pause_bytes) {
    ++st.in_flight;
    start_timer(self, replay_pause, [self, session_id, gen] {
      --self->state.in_flight;
      replay(self, session_id, gen);
      maybe_vacate(self);
    });
    return;
  }
  replay(self, session_id, gen);
}

void replay(channel_self self, const std::string& session_id, std::uint64_t gen) {
  auto& st = self->state;
  auto it = st.subs.find(session_id);
  if (it == st.subs.end() || it->second.gen != gen) return;
  it->second.state = sub_state::replaying;
  auto after = it->second.last_id;
  ++st.in_flight;
  auto failed = [self, session_id, gen](caf::error& e) {
    --self->state.in_flight;
    spdlog::error("channel {}: replay for {} failed: {}", self->state.key, session_id, to_string(e));
    auto s = self->state.subs.find(session_id);
    // Live again, with a gap it is told of: the client can subscribe again with since_id.
    if (s != self->state.subs.end() && s->second.gen == gen) {
      s->second.state = sub_state::live;
      s->second.out->send(codec::error_frame(err::internal, "replay failed; subscribe again with since_id", nullptr));
    }
    maybe_vacate(self);
  };
  if (st.what.what == channel_key::kind::chat) {
    self->request(st.deps.reader, caf::infinite, chat_after_atom::value, st.what.chat_id, after, replay_page)
        .then(
            [self, session_id, gen](message_list& page) {
              --self->state.in_flight;
              replay_page_arrived(self, session_id, gen, page.messages);
              maybe_vacate(self);
            },
            failed);
  } else {
    self->request(st.deps.reader, caf::infinite, notes_after_atom::value, st.what.user_id, st.what.stream, after,
                  replay_page)
        .then(
            [self, session_id, gen](note_list& page) {
              --self->state.in_flight;
              replay_page_arrived(self, session_id, gen, page.notes);
              maybe_vacate(self);
            },
            failed);
  }
}

// ---- membership ----

caf::result<subscribe_result> on_subscribe(channel_self self, channel_subscriber& m) {
  auto rp = self->make_response_promise<subscribe_result>();
  auto me = caf::actor_cast<channel_actor>(self);
  auto user = m.user_id;
  auto out = m.out;
  auto ref = m.ref;
  with_access(
      self, user, out, ref,
      [self, rp, me, m]() mutable {
        auto& st = self->state;
        auto [it, fresh] = st.subs.try_emplace(m.session_id);
        auto& s = it->second;
        if (fresh) {
          self->monitor(m.session);
          ++live().channel_subscriptions;
        }
        s.user_id = m.user_id;
        s.session = m.session;
        s.out = m.out;
        if (!m.quiet) s.out->send(codec::encode(codec::subscribed{st.what.wire_name(), m.ref}));
        if (st.what.has_history() && m.since_id) {
          // Nothing after the latest id exists: a since_id past it (a client that kept ids across a
          // reset database) must not make live delivery skip the next messages.
          s.last_id = std::min(*m.since_id, st.latest_id);
          s.gen = st.next_gen++;
          replay(self, m.session_id, s.gen);
        } else if (fresh) {
          s.last_id = st.latest_id;
          s.gen = st.next_gen++;
          s.state = sub_state::live;
        }
        // A re-subscribe without since_id changes nothing: a replay or a lag under way goes on
        // (a client re-subscribing right after a resume must not cut the resume's replay short).
        rp.deliver(subscribe_result{true, me, st.what.has_history() ? s.last_id : -1});
      },
      [self, rp, me]() mutable {
        rp.deliver(subscribe_result{false, me, -1});
        maybe_vacate(self);
      });
  return rp;
}

void on_unsubscribe(channel_self self, const unsubscribe_request& r) {
  auto& st = self->state;
  auto it = st.subs.find(r.session_id);
  if (it != st.subs.end()) {
    self->demonitor(it->second.session.address());
    st.subs.erase(it);
    --live().channel_subscriptions;
  }
  if (r.answer && r.out) r.out->send(codec::encode(codec::unsubscribed{st.what.wire_name(), r.ref}));
  maybe_vacate(self);
}

void maybe_vacate(channel_self self) {
  auto& st = self->state;
  if (!st.subs.empty() || st.in_flight > 0) return;
  if (st.retired) return self->quit();
  if (st.vacating) return;
  st.vacating = true;
  auto registry = caf::actor_cast<channel_registry_actor>(st.deps.registry);
  self->request(registry, caf::infinite, vacate_atom::value, st.key, st.ops_seen)
      .then(
          [self](bool retire) {
            auto& s = self->state;
            s.vacating = false;
            if (!retire) return;
            // Nothing can reach it from now on; what it still has in flight finishes first.
            s.retired = true;
            maybe_vacate(self);
          },
          [self](caf::error&) { self->quit(); });
}

// ---- chat ----

void on_post(channel_self self, const chat_post& p) {
  with_access(self, p.from.user_id, p.from.out, p.from.ref, [self, p] {
    auto& st = self->state;
    ++st.in_flight;
    self->request(st.deps.storage, caf::infinite, chat_post_atom::value, st.what.chat_id, p.from.user_id,
                  p.client_msg_id, p.content, p.attachment)
        .then(
            [self, from = p.from](append_result& r) {
              auto& s = self->state;
              --s.in_flight;
              auto f = codec::encode(r.message);
              if (r.duplicate) {
                // A resend (the client never saw its new_message): the sender gets it again, alone.
                from.out->send(f);
                return maybe_vacate(self);
              }
              s.latest_id = std::max(s.latest_id, r.message.message_id);
              auto reached = deliver_live(self, f, r.message.message_id);
              auto sub = s.subs.find(from.session_id);
              // The sending session always gets its own: live just now, or from the replay it is in.
              bool covered = sub != s.subs.end() && (sub->second.state == sub_state::replaying ||
                                                      sub->second.last_id >= r.message.message_id);
              if (!covered) from.out->send(f);
              // Receipts: live delivery only, once per recipient user.
              reached.erase(from.user_id);
              for (const auto& user : reached) {
                auto d = codec::encode(codec::message_delivered{r.message.message_id, s.what.chat_id, user});
                send_to_user(self, from.user_id, d);
                if (sub == s.subs.end()) from.out->send(d);
              }
              maybe_vacate(self);
            },
            [self, from = p.from](caf::error& e) {
              --self->state.in_flight;
              spdlog::error("channel {}: storing a message failed: {}", self->state.key, to_string(e));
              from.out->send(codec::error_frame(err::internal, "the message could not be stored; send it again", from.ref));
              maybe_vacate(self);
            });
  });
  maybe_vacate(self);
}

void on_read(channel_self self, const chat_read& r) {
  with_access(self, r.from.user_id, r.from.out, r.from.ref, [self, r] {
    auto& st = self->state;
    ++st.in_flight;
    self->request(st.deps.storage, caf::infinite, chat_read_atom::value, st.what.chat_id, r.message_id, r.from.user_id)
        .then(
            [self, r](read_receipt& receipt) {
              auto& s = self->state;
              --s.in_flight;
              if (!receipt.found) {
                r.from.out->send(codec::error_frame(
                    err::not_found, "no message " + std::to_string(r.message_id) + " in " + s.what.chat_id, r.from.ref));
                return maybe_vacate(self);
              }
              r.from.out->send(codec::encode(codec::ack_message_read{s.what.chat_id, r.message_id, r.from.ref}));
              if (receipt.first && receipt.sender_id != r.from.user_id)
                send_to_user(self, receipt.sender_id,
                             codec::encode(codec::message_read_receipt{r.message_id, s.what.chat_id, r.from.user_id,
                                                                       receipt.read_ms}));
              maybe_vacate(self);
            },
            [self, r](caf::error& e) {
              --self->state.in_flight;
              spdlog::error("channel {}: storing a read failed: {}", self->state.key, to_string(e));
              r.from.out->send(codec::error_frame(err::internal, "the read could not be stored; try again", r.from.ref));
              maybe_vacate(self);
            });
  });
  maybe_vacate(self);
}

void on_typing(channel_self self, const chat_typing& t) {
  with_access(self, t.from.user_id, t.from.out, t.from.ref, [self, t] {
    auto& st = self->state;
    auto now = unix_ms();
    auto& seen = st.typing[t.from.user_id];
    if (seen.at_ms > 0 && seen.is_typing == t.is_typing && now - seen.at_ms < typing_repeat_ms) return;
    seen = typing_seen{t.is_typing, now};  // kept for stops too (one entry per member who typed)
    // Droppable: the next typing supersedes it; a slow reader loses these first (§8).
    deliver_live(self, codec::encode(codec::typing_event{st.what.chat_id, t.from.user_id, t.is_typing}), 0,
                 delivery::droppable, t.from.user_id);
  });
  maybe_vacate(self);
}

void on_history(channel_self self, const chat_history& h) {
  with_access(self, h.from.user_id, h.from.out, h.from.ref, [self, h] {
    auto& st = self->state;
    ++st.in_flight;
    self->request(st.deps.reader, caf::infinite, history_atom::value, st.what.chat_id, h.before_id, h.limit)
        .then(
            [self, from = h.from](history_page& page) {
              --self->state.in_flight;
              from.out->send(codec::encode(codec::history_reply{self->state.what.chat_id, &page, from.ref}));
              maybe_vacate(self);
            },
            [self, from = h.from](caf::error& e) {
              --self->state.in_flight;
              spdlog::error("channel {}: history failed: {}", self->state.key, to_string(e));
              from.out->send(codec::error_frame(err::internal, "history could not be read; try again", from.ref));
              maybe_vacate(self);
            });
  });
  maybe_vacate(self);
}

channel_actor::behavior_type channel_behavior(channel_self self, std::string key, channel_deps deps) {
  self->set_default_handler(caf::print_and_drop);
  auto& st = self->state;
  st.key = std::move(key);
  st.what = parse_channel_key(st.key);
  st.deps = std::move(deps);
  // A subscriber's session that went away without unsubscribing (it crashed).
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& subs = self->state.subs;
    for (auto it = subs.begin(); it != subs.end();) {
      if (it->second.session.address() != msg.source) {
        ++it;
        continue;
      }
      it = subs.erase(it);
      --live().channel_subscriptions;
    }
    maybe_vacate(self);
  });
  // What the channel starts from (its members, its last id), before anything else is handled.
  if (st.what.what == channel_key::kind::chat) {
    self->request(st.deps.reader, caf::infinite, chat_info_atom::value, st.what.chat_id)
        .await([self](chat_info& info) { learn_chat(self->state, info); },
               [self](caf::error& e) {
                 spdlog::error("channel {}: reading the chat failed: {}", self->state.key, to_string(e));
               });
  } else if (st.what.what == channel_key::kind::stream) {
    self->request(st.deps.reader, caf::infinite, stream_last_atom::value, st.what.user_id, st.what.stream)
        .await([self](std::int64_t last) { self->state.latest_id = std::max(self->state.latest_id, last); },
               [self](caf::error& e) {
                 spdlog::error("channel {}: reading the stream failed: {}", self->state.key, to_string(e));
               });
  }
  auto seen = [self] { ++self->state.ops_seen; };
  return {
      [=](subscribe_atom, channel_subscriber& m) {
        seen();
        return on_subscribe(self, m);
      },
      [=](unsubscribe_atom, const unsubscribe_request& r) {
        seen();
        on_unsubscribe(self, r);
      },
      [=](post_atom, const chat_post& p) {
        seen();
        on_post(self, p);
      },
      [=](mark_read_atom, const chat_read& r) {
        seen();
        on_read(self, r);
      },
      [=](typing_atom, const chat_typing& t) {
        seen();
        on_typing(self, t);
      },
      [=](history_atom, const chat_history& h) {
        seen();
        on_history(self, h);
      },
      [=](lag_atom, const std::string& session_id) {
        seen();
        auto it = self->state.subs.find(session_id);
        if (it != self->state.subs.end()) become_lagging(self, session_id, it->second);
        maybe_vacate(self);
      },
      [=](catch_up_atom, const std::string& session_id) {
        seen();
        auto& s = self->state;
        auto it = s.subs.find(session_id);
        if (it == s.subs.end()) return maybe_vacate(self);
        it->second.gen = s.next_gen++;
        if (s.what.has_history())
          replay(self, session_id, it->second.gen);
        else
          it->second.state = sub_state::live;
      },
      [=](deliver_atom, const stored_notification& n) {
        seen();
        auto& s = self->state;
        s.latest_id = std::max(s.latest_id, n.id);
        bool reached = !deliver_live(self, codec::encode(n), n.id).empty();
        maybe_vacate(self);
        return reached;
      },
      [=](broadcast_atom, const frame& f) {
        seen();
        auto reached = static_cast<std::int64_t>(deliver_live(self, f, 0).size());
        maybe_vacate(self);
        return reached;
      },
  };
}

}  // namespace

std::string channel_key::wire_name() const {
  switch (what) {
    case kind::chat: return "messages/" + chat_id;
    case kind::feed: return "feed";
    case kind::stream: return stream;
    case kind::invalid: return {};
  }
  return {};
}

channel_key parse_channel_key(const std::string& key) {
  channel_key k;
  static const std::string chat_prefix = "messages/";
  if (key.compare(0, chat_prefix.size(), chat_prefix) == 0 && key.size() > chat_prefix.size()) {
    k.what = channel_key::kind::chat;
    k.chat_id = key.substr(chat_prefix.size());
  } else if (key == "feed") {
    k.what = channel_key::kind::feed;
  } else if (auto colon = key.find(':'); colon != std::string::npos) {
    auto stream = key.substr(0, colon);
    if ((stream == "notifications" || stream == "connections") && colon + 1 < key.size()) {
      k.what = channel_key::kind::stream;
      k.stream = std::move(stream);
      k.user_id = key.substr(colon + 1);
    }
  }
  return k;
}

std::string channel_key_for(const std::string& wire_channel, const std::string& user_id) {
  if (wire_channel == "notifications" || wire_channel == "connections") return wire_channel + ":" + user_id;
  return wire_channel;
}

channel_actor spawn_channel(caf::actor_system& sys, std::string key, channel_deps deps) {
  return sys.spawn(channel_behavior, std::move(key), std::move(deps));
}

}  // namespace tether
