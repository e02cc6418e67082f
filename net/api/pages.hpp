#pragma once
// Pages for people: GET or HEAD / (the home page) and /demo/... (files under web_dir/demo/).
#include "net/api/responses.hpp"
#include "net/server_context.hpp"

#include <memory>

namespace tether {

void get_home_page(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);
void get_demo_page(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);

}  // namespace tether
