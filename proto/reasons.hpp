#pragma once
// The reason a room's others see in user_left (PROTOCOL.md §6) for a session that ended with
// `end_reason` (a session_closed reason, §11): a session that ended by its drop and window, or
// was closed by the server for a violation or a limit, is "disconnected". Webhooks' member_removed
// carries the same reason, so a back end and the room's members agree.
#include <string>

namespace tether {

inline std::string user_left_reason(const std::string& end_reason) {
  for (const char* same : {"left", "timeout", "stale", "idle", "inactive"})
    if (end_reason == same) return end_reason;
  return "disconnected";
}

}  // namespace tether
