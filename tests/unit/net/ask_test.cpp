// net/ask.hpp: an actor's answer reaches a network object on that object's executor, never on an
// actor thread (uploads rename and remove files in the continuation: disk work, which must not
// stall the 1-2 scheduler threads).
#include "net/ask.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

// What the continuation saw, written on whatever thread runs it.
struct observed {
  std::mutex mutex;
  bool ran = false;
  bool on_strand = false;
  std::thread::id thread;
  std::optional<int> value;
  std::string error;
};

class ask_test : public ::testing::Test {
 protected:
  // Runs the io_context on this thread until the continuation stops it (or 5 s pass).
  void run_io() {
    auto work = net::make_work_guard(ioc);
    ioc.run_for(5s);
  }

  // Asks `dest` for `x`; the continuation records where it ran and what it got.
  void ask_for(const caf::actor& dest, int x) {
    tether::ask<int>(sys, strand, dest, [this](caf::expected<int> r) {
      std::lock_guard<std::mutex> lock(seen.mutex);
      seen.ran = true;
      seen.on_strand = strand.running_in_this_thread();
      seen.thread = std::this_thread::get_id();
      if (r) seen.value = *r;
      else seen.error = caf::to_string(r.error());
      ioc.stop();
    }, x);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  net::io_context ioc;
  net::strand<net::io_context::executor_type> strand = net::make_strand(ioc);
  observed seen;
};

TEST_F(ask_test, AnswerRunsOnTheCallersStrand) {
  auto doubler = sys.spawn([]() -> caf::behavior { return {[](int x) { return 2 * x; }}; });
  ask_for(doubler, 21);
  run_io();
  std::lock_guard<std::mutex> lock(seen.mutex);
  ASSERT_TRUE(seen.ran) << "no answer within 5 s";
  EXPECT_EQ(seen.value, 42);
  EXPECT_EQ(seen.thread, std::this_thread::get_id()) << "the continuation ran on another thread (an actor's)";
  EXPECT_TRUE(seen.on_strand);
  caf::anon_send_exit(doubler, caf::exit_reason::kill);
}

TEST_F(ask_test, ErrorRunsOnTheCallersStrand) {
  auto refuser = sys.spawn([]() -> caf::behavior {
    return {[](int) -> caf::result<int> { return caf::make_error(caf::sec::runtime_error); }};
  });
  ask_for(refuser, 1);
  run_io();
  std::lock_guard<std::mutex> lock(seen.mutex);
  ASSERT_TRUE(seen.ran) << "no answer within 5 s";
  EXPECT_FALSE(seen.value);
  EXPECT_NE(seen.error, "");
  EXPECT_EQ(seen.thread, std::this_thread::get_id()) << "the continuation ran on another thread (an actor's)";
  EXPECT_TRUE(seen.on_strand);
  caf::anon_send_exit(refuser, caf::exit_reason::kill);
}

}  // namespace
