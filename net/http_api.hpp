#pragma once
// The HTTP API of PROTOCOL.md §5 and §9 (files, audit, admin, health, metrics, pages): a table of
// routes dispatched by handle_api to the route groups in net/api/. Handlers never block the I/O
// thread: they ask actors and answer through `respond`, from any thread.
#include "net/api/audit.hpp"
#include "net/api/request.hpp"
#include "net/api/responses.hpp"
#include "net/server_context.hpp"

#include <memory>

namespace tether {

// `client`: the address of the client (the TCP peer).
void handle_api(const std::shared_ptr<server_context>& ctx, http_request&& req, const std::string& client,
                respond_fn respond);

}  // namespace tether
