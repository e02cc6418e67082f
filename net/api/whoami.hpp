#pragma once
// GET /api/whoami: checks a user token (and that a guest still exists) and nothing else. A browser
// cannot read the HTTP status of a refused WebSocket upgrade, so a client whose connection failed
// before `open` asks here why.
#include "net/api/responses.hpp"
#include "net/server_context.hpp"

#include <memory>

namespace tether {

void get_whoami(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);

}  // namespace tether
