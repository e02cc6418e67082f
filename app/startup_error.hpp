#pragma once
// A reason tetherd cannot start, with the exit code that tells scripts which one (docs/operations.md
// lists them). Thrown before the actor system runs, so nothing is half started when main() reports it.
#include <stdexcept>
#include <string>

namespace tether {

namespace exit_code {
constexpr int failure = 1;        // any other start-up error (a database that cannot be opened, ...)
constexpr int usage = 2;          // a bad command line or configuration
constexpr int data_dir_busy = 3;  // another tetherd serves the same data dir
constexpr int cannot_listen = 4;  // server.bind does not resolve, or the address/port cannot be bound
}  // namespace exit_code

struct startup_error : std::runtime_error {
  startup_error(int code, const std::string& message) : std::runtime_error(message), exit_code(code) {}
  int exit_code;
};

}  // namespace tether
