#include "net/http_api.hpp"

#include "net/api/admin.hpp"
#include "net/api/files.hpp"
#include "net/api/guests.hpp"
#include "net/api/notify.hpp"
#include "net/api/health.hpp"
#include "net/api/pages.hpp"
#include "net/api/whoami.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

namespace http = boost::beast::http;

namespace tether {

namespace {

using http::verb;

// `client`: the client's address (the per-IP limits use it).
using route_handler = void (*)(const std::shared_ptr<server_context>&, const http_request&, const respond_fn&,
                               const std::string& client);

struct route {
  std::string_view path;
  bool prefix;                            // the path is a prefix (the handler reads the rest)
  std::vector<verb> methods;              // empty: any (the handler answers a wrong one)
  const char* wrong_method;               // set: another method gets 405 with this; null: the next route
  bool api_key;                           // the Bearer token must be api.key (checked after the method)
  route_handler handle;

  bool matches(const std::string& p) const { return prefix ? p.compare(0, path.size(), path) == 0 : p == path; }
  bool allows(verb m) const { return methods.empty() || std::find(methods.begin(), methods.end(), m) != methods.end(); }
};

const std::vector<verb> any{};
const std::vector<verb> get{verb::get};
const std::vector<verb> page{verb::get, verb::head};

// First match wins; a path no route takes is 404 no such endpoint.
const route routes[] = {
    {"/healthz", false, any, nullptr, false, get_healthz},
    {"/readyz", false, any, nullptr, false, get_readyz},
    {"/", false, page, nullptr, false, get_home_page},
    {"/metrics", false, get, nullptr, false, get_metrics},
    {"/api/audit", false, get, nullptr, true, get_audit},
    {"/api/admin/cleanup", false, get, nullptr, true, get_cleanup},
    {"/api/whoami", false, get, nullptr, false, get_whoami},
    {"/api/guests", false, {verb::post}, "use POST", false, create_guest},
    {"/api/files/register", false, {verb::post}, "use POST", true, register_external_file},
    {"/api/chats", false, {verb::post}, "use POST", true, create_chat},
    {notify_prefix, true, {verb::post}, "use POST", true, notify_route},
    {"/api/publish", false, {verb::post}, "use POST", true, publish_event},
    {users_prefix, true, {verb::post}, "use POST", true, notify_user},
    {user_files_prefix, true, any, nullptr, false, user_file_route},
    {"/demo/", true, page, nullptr, false, get_demo_page},
};

}  // namespace

void handle_api(const std::shared_ptr<server_context>& ctx, http_request&& req, const std::string& client,
                respond_fn respond) {
  auto path = path_of(req.target());
  for (const auto& r : routes) {
    if (!r.matches(path)) continue;
    if (!r.allows(req.method())) {
      if (!r.wrong_method) continue;
      return answer_error(respond, req.version(), http::status::method_not_allowed, "invalid_field", r.wrong_method);
    }
    if (r.api_key && !require_api_key(*ctx, req, respond)) return;
    return r.handle(ctx, req, respond, client);
  }
  answer_error(respond, req.version(), http::status::not_found, "not_found", "no such endpoint");
}

}  // namespace tether
