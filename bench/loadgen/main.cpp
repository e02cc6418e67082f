// tether-loadgen: the project's WebSocket load generator (see docs/benchmarks.md).
#include <sys/resource.h>

#include <cstdio>
#include <exception>

#include "bench/loadgen/coordinator.hpp"
#include "bench/loadgen/options.hpp"
#include "bench/loadgen/run_result.hpp"

namespace {

// One descriptor per connection: take the hard limit, and say so if it is too low.
void raise_fd_limit(std::size_t wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && wanted + 64 > rl.rlim_cur)
    std::fprintf(stderr, "tether-loadgen: %zu connections but only %llu descriptors: run several processes\n",
                 wanted, static_cast<unsigned long long>(rl.rlim_cur));
}

}  // namespace

int main(int argc, char** argv) {
  const auto opts = loadgen::parse_options(argc, argv);
  raise_fd_limit(opts.connections);
  try {
    loadgen::coordinator c(opts);
    const auto result = c.run();
    loadgen::print_result(opts, result);
    return result.open_failed == 0 && result.lost == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tether-loadgen: %s\n", e.what());
    return 2;
  }
}
