#include "app/commands.hpp"

#include "proto/codec.hpp"
#include "net/http_api.hpp"
#include "proto/jwt.hpp"
#include "storage/database.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>

namespace tether {

namespace {

// "90", "90s", "15m", "1h", "7d" -> seconds; -1 when malformed.
std::int64_t parse_ttl(const std::string& text) {
  if (text.empty()) return -1;
  std::size_t used = 0;
  std::int64_t n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (...) {
    return -1;
  }
  if (n <= 0) return -1;
  std::string unit = text.substr(used);
  if (unit.empty() || unit == "s") return n;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  return -1;
}

std::string database_path(const settings& s) { return s.storage.data_dir + "/tether.db"; }

// The data dir as given, and where that is when it is relative (the usual surprise: ./data of
// another working directory).
std::string data_dir_shown(const settings& s) {
  const std::filesystem::path dir = s.storage.data_dir;
  if (dir.is_absolute()) return dir.string();
  std::error_code ec;
  const auto full = std::filesystem::absolute(dir, ec);
  return dir.string() + (ec ? "" : " (" + full.lexically_normal().string() + ")");
}

}  // namespace

int print_token(settings s, const std::vector<std::string>& args) {
  jwt::claims c;
  std::int64_t ttl = 3600;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--name" && i + 1 < args.size()) {
      c.name = args[++i];
    } else if (args[i] == "--guest") {
      c.guest = true;
    } else if (args[i] == "--ttl" && i + 1 < args.size()) {
      ttl = parse_ttl(args[++i]);
      if (ttl < 0) {
        std::cerr << "tetherd token: --ttl takes a duration like 90s, 15m, 1h or 7d\n";
        return 2;
      }
    } else if (c.sub.empty() && args[i].rfind("--", 0) != 0) {
      c.sub = args[i];
    } else {
      std::cerr << "tetherd token: unexpected argument '" << args[i] << "'\n";
      return 2;
    }
  }
  if (!codec::valid_user_id(c.sub)) {
    std::cerr << "tetherd token: USER must be 1-128 characters of [A-Za-z0-9_.@-]\n";
    return 2;
  }
  if (s.auth.jwt_secret.empty()) {
    // Never generate one here: the server would not know it, and would reject every token.
    std::cerr << "tetherd token: no secret to sign with: auth.jwt_secret is not configured and the data dir "
              << data_dir_shown(s) << " has no jwt_secret (the server writes it at its first start there). "
              << "Point at the server's data dir with --set storage.data_dir=DIR (or --config FILE), "
              << "or set auth.jwt_secret.\n";
    return 1;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  c.exp = now.count() + ttl;
  std::cout << jwt::sign(c, s.auth.jwt_secret) << "\n";
  return 0;
}

int print_audit(settings s, const std::vector<std::string>& args) {
  audit_query q;
  q.limit = 1000;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto take = [&](std::optional<std::string>& into) {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    bool ok = true;
    if (args[i] == "--session") ok = take(q.session_id);
    else if (args[i] == "--file") ok = take(q.file_id);
    else if (args[i] == "--user") ok = take(q.user_id);
    else if (args[i] == "--limit" && i + 1 < args.size()) {
      try {
        q.limit = std::stoll(args[++i]);
      } catch (...) {
        ok = false;
      }
      ok = ok && q.limit >= 1;
    } else ok = false;
    if (!ok) {
      std::cerr << "tetherd audit: bad argument '" << args[i] << "' (use --session, --file, --user, --limit N)\n";
      return 2;
    }
  }
  const std::string path = database_path(s);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::cerr << "tetherd audit: no database in the data dir " << data_dir_shown(s) << " (" << path
              << " does not exist). Point at the server's data dir with --set storage.data_dir=DIR "
              << "(or --config FILE).\n";
    return 1;
  }
  // Read-only (WAL lets it read beside a running server): it never migrates, writes or
  // checkpoints the server's database.
  database db(path, database::read_only);
  for (const auto& r : db.read_audit(q)) {
    std::cout << boost::json::serialize(audit_json(r)) << "\n";
  }
  return 0;
}

}  // namespace tether
