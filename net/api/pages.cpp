#include "net/api/pages.hpp"

#include "net/api/request.hpp"
#include "net/home_page.hpp"

#include <filesystem>

namespace http = boost::beast::http;

namespace tether {

using http::status;

namespace {

const char* content_type_of(const std::string& path) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json") || ends(".map")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace

void get_home_page(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  answer(respond, html_response(req.version(), home_page_html(*ctx->cfg), req.method() == http::verb::head));
}

// Pages under web_dir/demo/: a directory answers with its index.html. Paths with ".." or
// hidden segments are refused, so nothing outside web_dir is reachable.
void get_demo_page(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  auto version = req.version();
  auto path = path_of(req.target());
  if (ctx->cfg->server.web_dir.empty() || path.find("/.") != std::string::npos ||
      path.find('\\') != std::string::npos)
    return answer_error(respond, version, status::not_found, "not_found", "no such page");
  std::string file = ctx->cfg->server.web_dir + path;
  std::error_code fs_ec;
  if (std::filesystem::is_directory(file, fs_ec)) file += file.back() == '/' ? "index.html" : "/index.html";
  auto res = file_response(file, content_type_of(file), req.method() == http::verb::head, version);
  if (!res) return answer_error(respond, version, status::not_found, "not_found", "no such page");
  respond(std::move(*res));
}

}  // namespace tether
