// tetherd: the tether server and its command-line verbs.
#include "app/commands.hpp"
#include "app/startup_error.hpp"
#include "app/version.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <map>

namespace {

const char* const options_help = R"(
Options come from, lowest first: built-in defaults, --config FILE, TETHER_<SECTION>_<KEY>
environment variables, and --set section.key=value (repeatable). config/tether.json documents
every key. storage.data_dir (default ./data, relative to the current directory) is where the
database and the generated secrets live.
)";

const char* const usage = R"(usage: tetherd [VERB] [--config FILE] [--set section.key=value ...] [ARGS]

verbs:
  serve                      run the server (the default)
  token USER [--name N] [--guest] [--ttl 1h]
                             print a token signed with the configured secret
  audit [--session S] [--file F] [--user U] [--limit N]
                             print audit records (newest N, oldest first) as JSON lines
  check-config               validate the configuration and print it
  version                    print the version (also: --version)

tetherd VERB --help shows the usage of one verb.
)";

// Each verb's own usage, for `tetherd VERB --help`.
const std::map<std::string, std::string> verb_usage = {
    {"serve", R"(usage: tetherd serve [--config FILE] [--set section.key=value ...]

Runs the server on storage.data_dir until SIGTERM or SIGINT. One server per data dir: a second one
on the same dir exits at once (code 3). A bind error exits at once (code 4). Prints one line
"listening on ADDRESS:PORT" on stdout; logs go to stderr.
)"},
    {"token", R"(usage: tetherd token USER [--name N] [--guest] [--ttl DURATION] [--config FILE] [--set ...]

Prints a client token (HS256 JWT) for USER, signed with auth.jwt_secret or, when that is not
configured, with the secret the server generated in storage.data_dir (jwt_secret). Never creates
a data dir or a secret: it fails when neither is there.
  --name N        display name (the token's name claim)
  --guest         mark the user as a guest
  --ttl DURATION  lifetime: 90s, 15m, 1h (default) or 7d
)"},
    {"audit", R"(usage: tetherd audit [--session S] [--file F] [--user U] [--limit N] [--config FILE] [--set ...]

Prints the audit records of the database in storage.data_dir as JSON lines, oldest first: the
newest N (default 1000) that match every filter given. Opens the database read-only, so it can run
beside a server; fails when the data dir has no database.
)"},
    {"check-config", R"(usage: tetherd check-config [--config FILE] [--set section.key=value ...]

Validates the configuration from every source and prints the result as JSON, which loads back
with --config FILE. Secrets (auth.jwt_secret, api.key, webhooks.secret) are left out.
)"},
    {"version", "usage: tetherd version (or tetherd --version)\n\nPrints the version of tetherd.\n"},
};

bool wants_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr from the first line on: stdout carries only command output and the
  // "listening on" line.
  spdlog::set_default_logger(spdlog::stderr_color_mt("tetherd"));
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string verb = "serve";
  if (!args.empty() && args[0].rfind("-", 0) != 0) {
    verb = args[0];
    args.erase(args.begin());
  } else if (!args.empty() && (args[0] == "--version" || args[0] == "-V")) {
    verb = "version";
    args.erase(args.begin());
  } else if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    verb = "help";
  }
  if (verb == "help") {
    std::cout << usage << options_help;
    return 0;
  }
  const auto own_usage = verb_usage.find(verb);
  if (own_usage == verb_usage.end()) {
    std::cerr << "tetherd: unknown verb '" << verb << "'\n" << usage;
    return tether::exit_code::usage;
  }
  if (wants_help(args)) {
    std::cout << own_usage->second << options_help;
    return 0;
  }
  if (verb == "version") {
    std::cout << "tetherd " << tether::version << "\n";
    return 0;
  }
  tether::config_sources sources;
  sources.env = tether::environment_map();
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "--set") && i + 1 < args.size()) {
      if (args[i] == "--config")
        sources.file = args[++i];
      else
        sources.sets.push_back(args[++i]);
    } else if (args[i].rfind("--set=", 0) == 0) {
      sources.sets.push_back(args[i].substr(6));
    } else if (args[i].rfind("--config=", 0) == 0) {
      sources.file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  tether::settings s;
  try {
    std::vector<std::string> warnings;
    s = tether::load_settings(sources, &warnings);
    for (auto& w : warnings) spdlog::warn("{}", w);
    if (verb != "token" && verb != "audit" && !rest.empty()) {
      std::cerr << "tetherd " << verb << ": unexpected argument '" << rest[0] << "'\n" << own_usage->second;
      return tether::exit_code::usage;
    }
    if (verb == "check-config") {
      std::cout << tether::describe(s);
      return 0;
    }
    // Only the server creates a data dir and its secrets; the other verbs read what is there.
    if (verb == "serve")
      tether::resolve_secrets(s);
    else
      tether::read_secrets(s);
  } catch (const tether::config_error& e) {
    std::cerr << "tetherd: configuration error: " << e.what() << "\n";
    return tether::exit_code::usage;
  }
  try {
    if (verb == "token") return tether::print_token(s, rest);
    if (verb == "audit") return tether::print_audit(s, rest);
    return tether::serve(s);
  } catch (const tether::startup_error& e) {
    std::cerr << "tetherd: " << e.what() << "\n";
    return e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "tetherd: " << e.what() << "\n";
    return tether::exit_code::failure;
  }
}
