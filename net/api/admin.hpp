#pragma once
// Admin routes (API key; PROTOCOL.md §9): GET /api/admin/cleanup, the deletion queue's depth and
// its failures. The admin routes still to come belong here.
#include "net/api/responses.hpp"
#include "net/server_context.hpp"

#include <memory>

namespace tether {

void get_cleanup(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);

}  // namespace tether
