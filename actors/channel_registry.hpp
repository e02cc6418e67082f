#pragma once
// The channel registry: which channels are live (registry key -> channel actor). Everything a
// session asks of a channel goes through it, so that what one session sends reaches its channel in
// the order sent; it spawns a channel on first use and lets it go once it emptied and nothing was
// sent to it since (like the room registry). It also delivers what the HTTP API notifies: stored
// first (one commit for the whole request), then handed to the channels that have subscribers.
#include "actors/channel.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <optional>

namespace tether {

using notify_atom = caf::atom_constant<caf::atom("notify")>;

// What one notify request delivers: notifications to keep (user, stream, payload), and maybe an
// event for the `feed` channel (not stored).
struct notify_batch {
  note_list notes;
  std::optional<frame> feed;
};

// delivered: recipients a live subscriber of the stream got it for; stored: the others.
struct notify_result {
  std::int64_t delivered = 0, stored = 0;
};

using channel_registry_actor = caf::typed_actor<
    // key, subscriber -> the channel's answer (delegated to the channel)
    caf::replies_to<subscribe_atom, std::string, channel_subscriber>::with<subscribe_result>,
    caf::reacts_to<unsubscribe_atom, std::string, unsubscribe_request>,
    caf::reacts_to<post_atom, std::string, chat_post>,
    caf::reacts_to<mark_read_atom, std::string, chat_read>,
    caf::reacts_to<typing_atom, std::string, chat_typing>,
    caf::reacts_to<history_atom, std::string, chat_history>,
    // key, session_id
    caf::reacts_to<lag_atom, std::string, std::string>,
    caf::reacts_to<catch_up_atom, std::string, std::string>,
    // From a channel that emptied: key, messages it has seen -> true: quit now
    caf::replies_to<vacate_atom, std::string, std::uint64_t>::with<bool>,
    caf::replies_to<notify_atom, notify_batch>::with<notify_result>,
    // key, frame: an event nobody stores (/api/publish) -> distinct users reached
    caf::replies_to<broadcast_atom, std::string, frame>::with<std::int64_t>,
    // -> live channels (tests, admin)
    caf::replies_to<count_atom>::with<std::int64_t>>;

struct channel_registry_config {
  storage_actor storage;
  reader_actor reader;
  std::size_t replay_pause_bytes = 1024 * 1024;
};

struct settings;
// From the options (limits.max_outbound_bytes).
channel_registry_config channels_config(const settings& s, storage_actor storage, reader_actor reader);

channel_registry_actor spawn_channel_registry(caf::actor_system& sys, channel_registry_config cfg);

// Used by the registry only.
channel_actor spawn_channel(caf::actor_system& sys, std::string key, channel_deps deps);

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::notify_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::notify_result)
