#pragma once
// A channel (PROTOCOL.md §7): one actor per active channel, spawned by the channel registry on
// first use and gone once it has no subscribers and nothing in flight. It is the one place where
// access to the channel is decided (chat membership, a user's own streams), and where its
// subscribers are kept: every message is encoded once and written straight into each subscriber's
// outbox. Channels with history (a chat's messages, a user's notifications and connection events)
// replay what a subscriber missed before it goes live: pages read from SQLite (committed rows
// only) until the replay has caught up with the last id the channel delivered, with no buffer, so
// a replay can neither skip nor repeat what arrives while it runs. A chat's messages are appended
// through its channel, so their ids, their storage and their delivery share one order.
#include "actors/atoms.hpp"
#include "actors/outbox.hpp"
#include "actors/reader.hpp"
#include "actors/session_actor.hpp"
#include "actors/storage.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tether {

using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscr")>;
using post_atom = caf::atom_constant<caf::atom("post")>;
using mark_read_atom = caf::atom_constant<caf::atom("mark_read")>;
using typing_atom = caf::atom_constant<caf::atom("typing")>;
using lag_atom = caf::atom_constant<caf::atom("lag")>;
using catch_up_atom = caf::atom_constant<caf::atom("catch_up")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using broadcast_atom = caf::atom_constant<caf::atom("broadcast")>;

// A session subscribing: what a channel needs of it.
struct channel_subscriber {
  std::string session_id, user_id;
  session_actor session;        // monitored: a session that dies without unsubscribing is removed
  std::shared_ptr<outbox> out;  // where the channel's frames go
  std::optional<std::int64_t> since_id;  // replay what came after it (channels with history)
  boost::json::value ref;       // echoed on `subscribed` and on an error
  bool quiet = false;           // a silent re-subscribe (the channel was restarted): no `subscribed`
};

// What a session asks of a chat. `out` receives the answer (or the error) with `ref`.
struct chat_request {
  std::string session_id, user_id;
  std::shared_ptr<outbox> out;
  boost::json::value ref;
};
struct chat_post {
  chat_request from;
  std::string content, attachment, client_msg_id;  // attachment: JSON text, empty when none
};
struct chat_read {
  chat_request from;
  std::int64_t message_id = 0;
};
struct chat_typing {
  chat_request from;
  bool is_typing = false;
};
struct chat_history {
  chat_request from;
  std::int64_t before_id = 0, limit = 50;
};
// `answer`: send `out` `unsubscribed` (with ref); false when the session ended. The session
// answers not_found itself for a channel it is not subscribed to.
struct unsubscribe_request {
  std::string session_id;
  bool answer = false;
  std::shared_ptr<outbox> out;
  boost::json::value ref;
  std::string wire_name;
};

struct subscribe_result;

using channel_actor = caf::typed_actor<
    caf::replies_to<subscribe_atom, channel_subscriber>::with<subscribe_result>,
    caf::reacts_to<unsubscribe_atom, unsubscribe_request>,
    caf::reacts_to<post_atom, chat_post>,
    caf::reacts_to<mark_read_atom, chat_read>,
    caf::reacts_to<typing_atom, chat_typing>,
    caf::reacts_to<history_atom, chat_history>,
    // session_id: its connection dropped (the resume window runs); send it nothing until catch_up
    caf::reacts_to<lag_atom, std::string>,
    // session_id: resumed on a new connection; replay what it missed, then live again
    caf::reacts_to<catch_up_atom, std::string>,
    // A stored notification for this user's stream -> whether a live subscriber got it
    caf::replies_to<deliver_atom, stored_notification>::with<bool>,
    // An event nobody stores (feed, /api/publish) -> the distinct users it reached
    caf::replies_to<broadcast_atom, frame>::with<std::int64_t>>;

// ok = false: refused (the channel sent the session the error already).
struct subscribe_result {
  bool ok = false;
  channel_actor channel;
  std::int64_t last_id = -1;  // where the subscription starts (history channels; -1: none)
};

// What a channel is, from its registry key: "messages/{chat_id}", "feed", or a user's stream
// "notifications:{user_id}" / "connections:{user_id}" (user ids have no ':').
struct channel_key {
  enum class kind { chat, feed, stream, invalid } what = kind::invalid;
  std::string chat_id;             // chat
  std::string user_id, stream;     // stream: "notifications" or "connections"
  std::string wire_name() const;   // the channel's name in `subscribed` and `unsubscribed`
  bool has_history() const { return what == kind::chat || what == kind::stream; }
};
channel_key parse_channel_key(const std::string& key);
// The registry key of a channel a user named on the wire ("notifications" is the user's own).
std::string channel_key_for(const std::string& wire_channel, const std::string& user_id);

struct channel_deps {
  storage_actor storage;
  reader_actor reader;
  caf::actor registry;  // asked to `vacate` when the channel has emptied (a channel_registry_actor)
  // A replay pauses while the subscriber's connection holds more than this unsent (a quarter of
  // limits.max_outbound_bytes), so that replaying a long history never trips the slow-reader limit.
  std::size_t replay_pause_bytes = 1024 * 1024;
};

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::channel_subscriber)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::chat_post)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::chat_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::chat_typing)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::chat_history)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::unsubscribe_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::subscribe_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::stored_notification)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::frame)
