// The channels part of a session (PROTOCOL.md §7): subscriptions, chat, receipts, typing, history.
// Not built yet: the codec decodes and validates these messages (a malformed one gets
// invalid_field), and on_client_message answers a valid one as before, through not_supported_yet:
// `unknown_type` "<type> is not supported by this server yet", counted as a bad frame (§11), so that
// clients written against the whole protocol can tell "not here" from "wrong". The handlers below
// are where the channel part goes. The storage side (chats, messages, reads, notifications) is in
// storage/chats.cpp and storage/notifications.cpp.
#include "actors/session_state.hpp"

#include <optional>
#include <string>
#include <type_traits>
#include <variant>

namespace tether {

namespace {

template <class Message>
void not_yet(session_self self, const Message& m) {
  send_error(self, codec::err::unknown_type,
             std::string(codec::type_name(codec::client_message(m))) + " is not supported by this server yet", m.ref);
}

}  // namespace

std::optional<codec::decode_error> not_supported_yet(const codec::client_message& m) {
  bool channel = std::visit(
      [](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return std::is_same_v<T, codec::subscribe_msg> || std::is_same_v<T, codec::unsubscribe_msg> ||
               std::is_same_v<T, codec::chat_message_msg> || std::is_same_v<T, codec::message_read_msg> ||
               std::is_same_v<T, codec::typing_msg> || std::is_same_v<T, codec::history_msg>;
      },
      m);
  if (!channel) return std::nullopt;
  codec::decode_error e;
  e.code = codec::err::unknown_type;
  e.message = std::string(codec::type_name(m)) + " is not supported by this server yet";
  e.ref = codec::ref_of(m);
  return e;
}

void on_message(session_self self, const codec::subscribe_msg& m) { not_yet(self, m); }
void on_message(session_self self, const codec::unsubscribe_msg& m) { not_yet(self, m); }
void on_message(session_self self, const codec::chat_message_msg& m) { not_yet(self, m); }
void on_message(session_self self, const codec::message_read_msg& m) { not_yet(self, m); }
void on_message(session_self self, const codec::typing_msg& m) { not_yet(self, m); }
void on_message(session_self self, const codec::history_msg& m) { not_yet(self, m); }

}  // namespace tether
