#pragma once
// The session actor: one per connection. It owns the user, the tracked files, the heartbeat,
// last activity and the resume window, and decides the connection's fate: every way a session
// ends goes through its one end_session path. It never touches the socket, only a client_link.
#include "actors/atoms.hpp"
#include "actors/channel_registry.hpp"
#include "actors/cleaner.hpp"
#include "actors/client_link.hpp"
#include "actors/directory.hpp"
#include "actors/presence.hpp"
#include "actors/reader.hpp"
#include "actors/room_registry.hpp"
#include "actors/session_actor.hpp"
#include "actors/storage.hpp"
#include "config/settings.hpp"
#include "proto/codec.hpp"
#include "proto/jwt.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>

namespace tether {

struct session_deps {
  storage_actor storage;
  reader_actor reader;  // committed reads (actors/reader.hpp)
  directory_actor directory;
  cleaner_actor cleaner;
  room_registry_actor rooms;
  channel_registry_actor channels;
  presence_actor presence;
  std::shared_ptr<const settings> cfg;
};

struct session_start {
  std::shared_ptr<client_link> link;         // null for a session restored after a restart
  std::optional<jwt::claims> user;           // set when the upgrade request was authenticated
  std::string resume_token;                  // ?resume= on the upgrade request
  std::optional<persisted_session> restored; // a session waiting for resume since before a restart
  // The endpoint's channel (/ws/messages/{chat}, /ws/notifications, ...): subscribed right after
  // `connected` (with ?since_id=); a chat endpoint also names the chat of messages without chat_id.
  std::string endpoint_channel;
  std::optional<std::int64_t> endpoint_since;
};

session_actor spawn_session(caf::actor_system& sys, const session_deps& deps, session_start start);

}  // namespace tether

