// Where option values come from (file, environment, --set) and the secrets kept in data_dir.
// What a value may be is decided by the table in settings.cpp.
#include "config/options.hpp"

#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/rand.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace tether {
namespace {

using namespace config_detail;
namespace fs = std::filesystem;

// The same key can be set in the file, the environment and --set: say which one was wrong.
template <class Apply>
void attributed(const std::string& origin, Apply&& apply) {
  try {
    apply();
  } catch (const config_error& e) {
    throw config_error(std::string(e.what()) + " (from " + origin + ")");
  }
}

[[noreturn]] void file_error(const std::string& path, const std::string& problem) {
  throw config_error("config file " + quote(path) + ": " + problem);
}

std::string read_config_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) file_error(path, "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) file_error(path, "cannot be read");
  return text.str();
}

std::string line_and_column(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, offset);
  const auto line = std::count(before.begin(), before.end(), '\n') + 1;
  const auto line_start = before.rfind('\n');
  const auto column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

boost::json::object parse_config_file(const std::string& path) {
  const std::string text = read_config_file(path);
  boost::json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  boost::json::parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t parsed = parser.write(text.data(), text.size(), ec);
  if (ec) file_error(path, "invalid JSON at " + line_and_column(text, parsed) + ": " + ec.message());
  boost::json::value root = parser.release();
  if (!root.is_object()) file_error(path, "expected an object of sections, like {\"server\": {\"port\": 8080}}");
  return std::move(root.as_object());
}

void apply_file(settings& s, const std::string& path) {
  const boost::json::object root = parse_config_file(path);
  attributed("config file " + quote(path), [&] {
    for (const auto& [section, body] : root) {
      const std::string name(section);
      if (!is_section(name)) require_option(name);  // throws, listing the sections
      if (!body.is_object())
        throw config_error(name + ": " + boost::json::serialize(body) + " is not an object of keys");
      for (const auto& [key, value] : body.get_object())
        assign_json(require_option(name + "." + std::string(key)), s, value);
    }
  });
}

constexpr std::string_view env_prefix = "TETHER_";

// TETHER_HEARTBEAT_INTERVAL_MS -> heartbeat.interval_ms. Section names have no '_', so the first one
// after the prefix ends the section; keys may contain more.
std::string key_of_env(std::string_view var) {
  std::string name(var.substr(env_prefix.size()));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (const auto split = name.find('_'); split != std::string::npos) name[split] = '.';
  return name;
}

void apply_env(settings& s, const std::map<std::string, std::string>& env, std::vector<std::string>* warnings) {
  for (const auto& [var, value] : env) {
    if (!starts_with(var, env_prefix)) continue;
    const std::string name = key_of_env(var);
    if (const option* o = find_option(name)) {
      attributed(var, [&] { assign_text(*o, s, value); });
      continue;
    }
    // A stray variable must not stop start-up (the environment is shared), but should be visible.
    if (warnings) {
      try {
        require_option(name);
      } catch (const config_error& e) {
        warnings->push_back(var + " ignored: " + e.what());
      }
    }
  }
}

void apply_set(settings& s, const std::string& assignment) {
  const auto equals = assignment.find('=');
  const auto dot = assignment.find('.');
  if (equals == std::string::npos || dot == std::string::npos || dot > equals)
    throw config_error("--set " + quote(assignment) + ": expected section.key=value");
  attributed("--set", [&] {
    assign_text(require_option(assignment.substr(0, equals)), s, std::string_view(assignment).substr(equals + 1));
  });
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Rules between options, checked once every source has been applied.
void check_combinations(const settings& s) {
  if (s.auth.insecure_user_id && !is_loopback(s.server.bind))
    throw config_error("auth.insecure_user_id: true is refused with server.bind " + quote(s.server.bind) +
                       " (allowed only with a loopback bind: 127.x.x.x, ::1 or localhost)");
  if (s.server.tls_cert.empty() != s.server.tls_key.empty())
    throw config_error("server.tls_cert " + quote(s.server.tls_cert) + " and server.tls_key " +
                       quote(s.server.tls_key) + ": set both or neither");
}

[[noreturn]] void secret_error(const fs::path& file, const std::string& problem) {
  throw config_error("secret file " + quote(file.string()) + ": " + problem);
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw config_error("cannot generate a secret: OpenSSL RAND_bytes failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : raw) hex += {digits[b >> 4], digits[b & 0xf]};
  return hex;
}

void write_private_file(const fs::path& file, const std::string& content) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) secret_error(file, std::string("cannot create: ") + std::strerror(errno));
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!ok) {
    std::error_code ignored;
    fs::remove(file, ignored);
    secret_error(file, std::string("cannot write: ") + std::strerror(error));
  }
}

// Written aside, then linked into place: a reader never sees half a secret, and when two processes
// generate at once (say `tetherd serve` and `tetherd token`) the first link wins and both read it back.
void publish_new_secret(const fs::path& file) {
  const fs::path temp = file.string() + ".tmp-" + random_hex(8);
  write_private_file(temp, random_hex(32) + "\n");
  std::error_code linked, renamed;
  fs::create_hard_link(temp, file, linked);
  if (linked && linked != std::errc::file_exists) fs::rename(temp, file, renamed);  // no hard links here
  std::error_code ignored;
  fs::remove(temp, ignored);
  if (renamed) secret_error(file, "cannot move " + quote(temp.string()) + " into place: " + renamed.message());
}

std::string read_secret(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) secret_error(file, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  const auto first = secret.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) secret_error(file, "is empty (delete it to generate a new secret)");
  secret = secret.substr(first, secret.find_last_not_of(" \t\r\n") - first + 1);
  return secret;
}

void fill_secret(std::string& secret, const fs::path& file) {
  if (!secret.empty()) return;
  std::error_code ec;  // on error, creating or reading the file reports it better
  if (!fs::exists(file, ec)) publish_new_secret(file);
  secret = read_secret(file);
}

}  // namespace

settings load_settings(const config_sources& sources, std::vector<std::string>* warnings) {
  settings s;
  if (sources.file) apply_file(s, *sources.file);
  apply_env(s, sources.env, warnings);
  for (const std::string& assignment : sources.sets) apply_set(s, assignment);
  check_combinations(s);
  return s;
}

std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals != std::string_view::npos) env.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return env;
}

void resolve_secrets(settings& s) {
  const fs::path dir = s.storage.data_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw config_error("storage.data_dir: cannot create " + quote(dir.string()) + ": " + ec.message());
  fill_secret(s.auth.jwt_secret, dir / "jwt_secret");
  fill_secret(s.api.key, dir / "api_key");
  // Only a server that sends webhooks needs their key; the receiver reads it from this file.
  if (!s.webhooks.url.empty()) fill_secret(s.webhooks.secret, dir / "webhook_secret");
}

void read_secrets(settings& s) {
  const fs::path dir = s.storage.data_dir;
  for (auto [secret, file] : {std::pair{&s.auth.jwt_secret, dir / "jwt_secret"}, std::pair{&s.api.key, dir / "api_key"},
                              std::pair{&s.webhooks.secret, dir / "webhook_secret"}}) {
    std::error_code ec;
    if (secret->empty() && fs::exists(file, ec)) *secret = read_secret(file);
  }
}

}  // namespace tether
