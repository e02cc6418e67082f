#pragma once
// The service's side of channels (PROTOCOL.md §7, api key): chats, notifications, feed events and
// generic publishing. Notifications are stored before the 202 (one commit per request), delivered
// to the recipients' live streams, and replayed to the others on `subscribe` with `since_id`.
#include "net/api/request.hpp"

namespace tether {

// POST /api/chats {chat_id?, members:[U...]} -> 201 {chat_id}; 409 when it exists.
void create_chat(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                 const std::string& client);
// POST /api/notify/{post,comment,like,connection_request,connection_accepted} -> 202 {delivered, stored}.
void notify_route(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                  const std::string& client);
// POST /api/publish {channel, data} -> 202 {delivered, stored: 0}.
void publish_event(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                   const std::string& client);
// POST /api/users/{user_id}/notify {data} -> 202 {delivered, stored}.
void notify_user(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                 const std::string& client);

constexpr std::string_view notify_prefix = "/api/notify/";
constexpr std::string_view users_prefix = "/api/users/";

}  // namespace tether
