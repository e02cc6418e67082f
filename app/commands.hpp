#pragma once
// The command-line verbs of tetherd: serve, token, audit, check-config.
#include "config/settings.hpp"

#include <string>
#include <vector>

namespace tether {

// Runs the server until SIGTERM/SIGINT; returns the exit code.
int serve(settings s);
// tetherd token USER [--name N] [--guest] [--ttl 1h]
int print_token(settings s, const std::vector<std::string>& args);
// tetherd audit [--session S] [--file F] [--user U] [--limit N]
int print_audit(settings s, const std::vector<std::string>& args);

}  // namespace tether
