// tetherd: the tether server and its command-line verbs.
#include "app/commands.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include <iostream>

namespace {

const char* const usage = R"(usage: tetherd [VERB] [--config FILE] [--set section.key=value ...] [ARGS]

verbs:
  serve                      run the server (the default)
  token USER [--name N] [--guest] [--ttl 1h]
                             print a token signed with the configured secret
  audit [--session S] [--file F] [--user U] [--limit N]
                             print audit records (newest N, oldest first) as JSON lines
  check-config               validate the configuration and print it

Options come from, lowest first: built-in defaults, --config FILE, TETHER_<SECTION>_<KEY>
environment variables, and --set (repeatable). config/tether.json documents every key.
)";

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr from the first line on: stdout carries only command output and the
  // "listening on" line.
  spdlog::set_default_logger(spdlog::stderr_color_mt("tetherd"));
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string verb = "serve";
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    verb = args[0];
    args.erase(args.begin());
  }
  if (verb == "help" || verb == "--help" || verb == "-h" ||
      std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << usage;
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
    if (verb == "check-config") {
      std::cout << tether::describe(s) << "\n";
      return 0;
    }
    if (verb != "serve" && verb != "token" && verb != "audit") {
      std::cerr << "tetherd: unknown verb '" << verb << "'\n" << usage;
      return 2;
    }
    if (verb == "serve" && !rest.empty()) {
      std::cerr << "tetherd: unexpected argument '" << rest[0] << "'\n" << usage;
      return 2;
    }
    tether::resolve_secrets(s);
  } catch (const tether::config_error& e) {
    std::cerr << "tetherd: configuration error: " << e.what() << "\n";
    return 2;
  }
  try {
    if (verb == "token") return tether::print_token(s, rest);
    if (verb == "audit") return tether::print_audit(s, rest);
    return tether::serve(s);
  } catch (const std::exception& e) {
    std::cerr << "tetherd: " << e.what() << "\n";
    return 1;
  }
}
