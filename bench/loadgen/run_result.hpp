#pragma once
// What one run measured: the merged stats of all workers and the timings of its phases.
#include <cstdint>

#include "bench/loadgen/options.hpp"
#include "bench/loadgen/worker_stats.hpp"

namespace loadgen {

struct run_result {
  worker_stats totals;           // merged; its `live` counters are copied in too
  std::uint64_t opened = 0;
  std::uint64_t open_failed = 0;
  std::uint64_t lost = 0;
  std::uint64_t joined = 0;
  std::uint64_t fully_seen = 0;
  std::uint64_t filled = 0;      // history --fill: messages stored
  double fill_s = -1;            // history --fill: first send -> last stored
  double open_s = -1;            // first connect -> last upgrade (or failure)
  double join_s = -1;            // join_room sent -> last room_joined; -1: timed out
  double all_seen_s = -1;        // join_room sent -> every member saw every user_joined
  double measure_s = 0;          // wall time of the measured phase
  double cpu_s = 0;              // generator process CPU over the measured phase
  double max_thread_cpu_s = 0;   // the busiest worker thread's CPU over it
  double server_cpu_s = -1;      // --server-pid's CPU over it; -1: not asked
  const char* measured = "";     // which phase the CPU figures cover
};

// Prints the result as text or, with --json, as one JSON object.
void print_result(const options& o, const run_result& r);

}  // namespace loadgen
