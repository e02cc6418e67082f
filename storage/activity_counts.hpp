#pragma once
// Process-wide counts of what the audit trail records, for the periodic info summary (app/
// activity_log.hpp): logs say how much happened without one info line per event. Counted where
// every audit record is written (database::audit), on the storage actor's thread; read and reset
// by the summary on an I/O thread.
#include <atomic>
#include <cstdint>
#include <string_view>

namespace tether {

struct activity_counts {
  std::atomic<std::int64_t> sessions_opened{0};
  std::atomic<std::int64_t> sessions_ended{0};
  std::atomic<std::int64_t> files_deleted{0};
  std::atomic<std::int64_t> deletions_failed{0};
};

// The process's counts.
activity_counts& activity();

// Counts one audit event by its name (events the summary doesn't show are ignored).
void count_activity(std::string_view event);

}  // namespace tether
