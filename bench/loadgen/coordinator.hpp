#pragma once
// Runs one scenario: makes the workers, walks them through the phases (open, join, traffic,
// close), times each phase and the CPU spent in it, and merges the workers' stats at the end.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bench/loadgen/options.hpp"
#include "bench/loadgen/run_result.hpp"
#include "bench/loadgen/worker.hpp"

namespace loadgen {

class coordinator {
 public:
  explicit coordinator(options o);
  ~coordinator();
  // Runs the scenario; the result holds the merged stats and the phase timings.
  run_result run();

 private:
  void make_workers();
  void each(const std::function<void(worker&)>& phase);
  std::uint64_t total(std::atomic<std::uint64_t> progress::*field) const;
  // Polls until done() or timeout_s passed; returns the seconds it took, or -1 on timeout.
  double wait_for(const std::function<bool()>& done, double timeout_s) const;
  void begin_measure();
  void end_measure(run_result& r);
  void measure_traffic(run_result& r, const char* phase, double drain_s);

  options opts_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::int64_t measure_wall_ns_ = 0;
  std::int64_t measure_cpu_ns_ = 0;
  std::vector<std::int64_t> measure_thread_ns_;
  std::int64_t measure_server_ns_ = -1;
};

}  // namespace loadgen
