#pragma once
// The version of this build: project(VERSION) in CMakeLists.txt, passed as TETHER_VERSION.
#ifndef TETHER_VERSION
#define TETHER_VERSION "unknown"
#endif

namespace tether {
inline constexpr const char* version = TETHER_VERSION;
}  // namespace tether
