#include "storage/activity_counts.hpp"

namespace tether {

activity_counts& activity() {
  static activity_counts counts;
  return counts;
}

void count_activity(std::string_view event) {
  auto& c = activity();
  if (event == "session_opened") c.sessions_opened.fetch_add(1, std::memory_order_relaxed);
  else if (event == "session_closed") c.sessions_ended.fetch_add(1, std::memory_order_relaxed);
  else if (event == "file_deleted") c.files_deleted.fetch_add(1, std::memory_order_relaxed);
  else if (event == "deletion_failed") c.deletions_failed.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tether
