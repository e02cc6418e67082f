#pragma once
// The page at `/`: what a person who opens the server in a browser finds. Self-contained (no
// scripts, no fonts or styles from elsewhere): it names the server and version and links the
// demos, the health and metrics endpoints, and where the documentation is.
#include "config/settings.hpp"

#include <string>

namespace tether {

std::string home_page_html(const settings& cfg);

}  // namespace tether
