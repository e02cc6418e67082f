#pragma once
// How many of each per-session object are alive, process-wide. Every count returns to zero when
// nobody is connected and no session waits for a resume: /metrics shows them, and the churn test
// checks them after thousands of sessions (ended sessions once leaked ~1.8 KB each, held by a
// pending timer). Updated from constructors, destructors and the owning actors, on any thread.
#include <atomic>
#include <cstdint>

namespace tether {

struct live_counts {
  std::atomic<std::int64_t> session_actors{0};      // session actor objects not yet destroyed
  std::atomic<std::int64_t> connections{0};         // WebSocket connection objects
  std::atomic<std::int64_t> rate_limiters{0};       // per-session token buckets
  std::atomic<std::int64_t> directory_sessions{0};  // directory entries (open or detached sessions)
  std::atomic<std::int64_t> resume_tokens{0};       // resume tokens the directory can still redeem
  std::atomic<std::int64_t> admission_places{0};    // places reserved for sessions being opened
  std::atomic<std::int64_t> admission_queue{0};     // connections waiting for a place
  std::atomic<std::int64_t> ip_entries{0};          // addresses with open connections (per-IP limit)
  std::atomic<std::int64_t> channels{0};            // channel actors (one per channel in use)
  std::atomic<std::int64_t> channel_subscriptions{0};  // sessions subscribed, over all channels but online
  std::atomic<std::int64_t> online_users{0};        // users with a live session (presence)
};

// The process's counts.
live_counts& live();

}  // namespace tether
