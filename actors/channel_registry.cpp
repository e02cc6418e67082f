#include "actors/channel_registry.hpp"

#include "config/settings.hpp"
#include "proto/channel_messages.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

namespace tether {

namespace {

struct channel_entry {
  channel_actor channel;
  std::uint64_t ops_sent = 0;  // messages sent to it: compared with what it has seen on vacate
};

struct registry_state {
  channel_registry_config cfg;
  std::unordered_map<std::string, channel_entry> channels;
  std::unordered_map<caf::actor_addr, std::string> by_actor;
  static inline const char* name = "channel_registry";
};

using registry_self = channel_registry_actor::stateful_pointer<registry_state>;

// The channel of `key`, spawned if needed (a key nobody can use is refused by the channel itself).
channel_entry& channel_of(registry_self self, const std::string& key) {
  auto& st = self->state;
  auto it = st.channels.find(key);
  if (it == st.channels.end()) {
    channel_deps deps{st.cfg.storage, st.cfg.reader, caf::actor_cast<caf::actor>(self), st.cfg.replay_pause_bytes};
    auto ch = spawn_channel(self->system(), key, std::move(deps));
    self->monitor(ch);
    st.by_actor[ch.address()] = key;
    it = st.channels.emplace(key, channel_entry{ch, 0}).first;
  }
  ++it->second.ops_sent;
  return it->second;
}

// The live channel of `key`, or null (nothing to tell a channel that is not there).
channel_entry* live_channel(registry_self self, const std::string& key) {
  auto it = self->state.channels.find(key);
  if (it == self->state.channels.end()) return nullptr;
  ++it->second.ops_sent;
  return &it->second;
}


// Feed events are not stored: only the feed's live subscribers see them.
void to_feed(registry_self self, const frame& f) {
  if (auto* e = live_channel(self, "feed"))
    self->request(e->channel, caf::infinite, broadcast_atom::value, f).then([](std::int64_t) {}, [](caf::error&) {});
}

// Counts the answers of the channels a notification was handed to; answers when all did.
struct notify_tally {
  caf::typed_response_promise<notify_result> rp;
  std::unordered_set<std::string> recipients, reached;
  std::size_t pending = 0;
  void done() {
    if (pending > 0) return;
    notify_result r;
    r.delivered = static_cast<std::int64_t>(reached.size());
    r.stored = static_cast<std::int64_t>(recipients.size() - reached.size());
    rp.deliver(r);
  }
};

void deliver_notes(registry_self self, note_list& stored, std::shared_ptr<notify_tally> tally) {
  for (auto& n : stored.notes) {
    tally->recipients.insert(n.user_id);
    auto* e = live_channel(self, n.stream + ":" + n.user_id);
    if (!e) continue;
    ++tally->pending;
    auto user = n.user_id;
    self->request(e->channel, caf::infinite, deliver_atom::value, std::move(n))
        .then(
            [tally, user](bool reached) {
              if (reached) tally->reached.insert(user);
              --tally->pending;
              tally->done();
            },
            [tally](caf::error&) {
              --tally->pending;  // stored: replayed on its next subscribe
              tally->done();
            });
  }
  tally->done();
}

channel_registry_actor::behavior_type registry_behavior(registry_self self, channel_registry_config cfg) {
  self->set_default_handler(caf::print_and_drop);
  self->state.cfg = std::move(cfg);
  // A channel that died: its subscribers' sessions see it too (they monitor their channels) and
  // subscribe again, which spawns a fresh one; here it is only forgotten.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.by_actor.find(msg.source);
    if (it == st.by_actor.end()) return;
    if (msg.reason) spdlog::error("channel {} died: {}", it->second, to_string(msg.reason));
    st.channels.erase(it->second);
    st.by_actor.erase(it);
  });
  return {
      [=](subscribe_atom a, const std::string& key, channel_subscriber& m) -> caf::delegated<subscribe_result> {
        return self->delegate(channel_of(self, key).channel, a, std::move(m));
      },
      [=](unsubscribe_atom a, const std::string& key, unsubscribe_request& r) {
        if (auto* e = live_channel(self, key)) return self->send(e->channel, a, std::move(r));
        // Not live (it died): the session is not subscribed anywhere, which is what it asked.
        if (r.answer && r.out) r.out->send(codec::encode(codec::unsubscribed{r.wire_name, r.ref}));
      },
      [=](post_atom a, const std::string& key, chat_post& p) { self->send(channel_of(self, key).channel, a, std::move(p)); },
      [=](mark_read_atom a, const std::string& key, chat_read& r) {
        self->send(channel_of(self, key).channel, a, std::move(r));
      },
      [=](typing_atom a, const std::string& key, chat_typing& t) {
        self->send(channel_of(self, key).channel, a, std::move(t));
      },
      [=](history_atom a, const std::string& key, chat_history& h) {
        self->send(channel_of(self, key).channel, a, std::move(h));
      },
      [=](lag_atom a, const std::string& key, const std::string& sid) {
        if (auto* e = live_channel(self, key)) self->send(e->channel, a, sid);
      },
      [=](catch_up_atom a, const std::string& key, const std::string& sid) {
        if (auto* e = live_channel(self, key)) self->send(e->channel, a, sid);
      },
      [=](vacate_atom, const std::string& key, std::uint64_t seen) -> bool {
        auto& st = self->state;
        auto it = st.channels.find(key);
        if (it == st.channels.end() || it->second.channel.address() != self->current_sender()) return true;
        if (it->second.ops_sent != seen) return false;  // something is on its way to it
        self->demonitor(it->second.channel.address());
        st.by_actor.erase(it->second.channel.address());
        st.channels.erase(it);
        return true;
      },
      [=](notify_atom, notify_batch& batch) -> caf::result<notify_result> {
        auto rp = self->make_response_promise<notify_result>();
        auto feed = std::move(batch.feed);
        if (batch.notes.notes.empty()) {
          if (feed)
            to_feed(self, *feed);
          rp.deliver(notify_result{});
          return rp;
        }
        // Stored first, all in one commit: a 202 never names a notification a crash could lose.
        self->request(self->state.cfg.storage, caf::infinite, notes_atom::value, std::move(batch.notes))
            .then(
                [self, rp, feed](note_list& stored) mutable {
                  if (feed)
                    to_feed(self, *feed);
                  auto tally = std::make_shared<notify_tally>();
                  tally->rp = rp;
                  deliver_notes(self, stored, tally);
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](broadcast_atom a, const std::string& key, const frame& f) -> caf::result<std::int64_t> {
        auto* e = live_channel(self, key);
        if (!e) return std::int64_t{0};
        return self->delegate(e->channel, a, f);
      },
      [=](count_atom) { return static_cast<std::int64_t>(self->state.channels.size()); },
  };
}

}  // namespace

channel_registry_config channels_config(const settings& s, storage_actor storage, reader_actor reader) {
  channel_registry_config c;
  c.storage = std::move(storage);
  c.reader = std::move(reader);
  c.replay_pause_bytes = static_cast<std::size_t>(s.limits.max_outbound_bytes) / 4;
  return c;
}

channel_registry_actor spawn_channel_registry(caf::actor_system& sys, channel_registry_config cfg) {
  return sys.spawn(registry_behavior, std::move(cfg));
}

}  // namespace tether
