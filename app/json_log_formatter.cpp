#include "app/json_log_formatter.hpp"

#include "proto/clock.hpp"

#include <boost/json.hpp>
#include <spdlog/details/log_msg.h>

#include <cctype>
#include <string_view>

namespace tether {

namespace {

constexpr std::size_t session_id_hex = 24;

// The first session id a message names ("s_" + 24 hex digits), or empty.
std::string_view session_in(std::string_view text) {
  for (auto at = text.find("s_"); at != std::string_view::npos; at = text.find("s_", at + 1)) {
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_')) continue;
    auto id = text.substr(at, 2 + session_id_hex);
    if (id.size() < 2 + session_id_hex) return {};
    bool hex = true;
    for (char c : id.substr(2)) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    if (hex) return id;
  }
  return {};
}

}  // namespace

void json_log_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string_view text(msg.payload.data(), msg.payload.size());
  auto level = spdlog::level::to_string_view(msg.level);
  boost::json::object o;
  o.reserve(5);
  o.emplace("time", iso8601(msg.time));
  o.emplace("level", boost::json::string_view(level.data(), level.size()));
  o.emplace("logger", boost::json::string_view(msg.logger_name.data(), msg.logger_name.size()));
  o.emplace("msg", boost::json::string_view(text.data(), text.size()));
  if (auto sid = session_in(text); !sid.empty()) o.emplace("session_id", boost::json::string_view(sid.data(), sid.size()));
  auto line = boost::json::serialize(o);
  line.push_back('\n');
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> json_log_formatter::clone() const { return std::make_unique<json_log_formatter>(); }

}  // namespace tether
