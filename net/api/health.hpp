#pragma once
// Health routes (PROTOCOL.md §9): GET /healthz (the process answers), /readyz (recovery done and
// the disks take writes) and /metrics (Prometheus text: sessions, connections, the deletion queue,
// live objects).
#include "net/api/responses.hpp"
#include "net/server_context.hpp"

#include <memory>

namespace tether {

void get_healthz(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);
void get_readyz(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);
void get_metrics(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);

}  // namespace tether
