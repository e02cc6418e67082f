#pragma once
// POST /api/guests {display_name} -> 201 {user_id, token, display_name, expires_at}: an anonymous
// user for the public pages of an app (a study room). No credentials; limited per client address
// (limits.guests_per_ip_per_minute, 429 with Retry-After past it). The guest is stored before the
// token is handed out, and deleted after users.guest_inactive_ms without activity (§6, §11).
#include "net/api/responses.hpp"
#include "net/server_context.hpp"

#include <memory>
#include <string>

namespace tether {

void create_guest(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                  const std::string& client);

}  // namespace tether
