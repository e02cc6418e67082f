// Ended sessions give everything back. Under churn the server once kept every ended session's
// actor alive for up to 30 minutes (a pending idle timer held it): ~1.8 KB per session, without
// bound. Here hundreds of sessions end in each way a session can end, and then every live count
// the server keeps of per-session objects (actors, connections, rate limiters, directory entries,
// resume tokens, admission places and queue, per-IP entries) must return to zero. The RSS per
// ended session over 100 000+ sessions is measured by bench/churn_soak (docs/benchmarks.md).
#include "support.hpp"

#include <gtest/gtest.h>

#include <memory>

using namespace tether::it;

namespace {

constexpr int per_kind = 300;
// Tests that hold every connection open at once need more than the default 100 per address.
const std::string many_per_ip = "limits.max_connections_per_ip=" + std::to_string(per_kind + 50);

void expect_all_released(const server_process& s) {
  std::string left;
  bool released = wait_until(
      [&] {
        left = live_objects_left(s.port());
        return left.empty();
      },
      15s);
  EXPECT_TRUE(released) << "still alive: " << left;
}

// The i-th session of a churn test opened on `c`; every fourth holds an uploaded file, as the
// create-post page does. Its ids (empty, and the test failed, when it did not open or register).
session_ids open_churning(const server_process& s, ws_client& c, const std::string& token, int i) {
  auto ids = open_session_ids(c, token);
  if (ids.session_id.empty() || i % 4 != 0) return ids;
  if (!register_files(c, {upload(s, token, "p.jpg", "x")})) return {};
  return ids;
}

}  // namespace

TEST(Churn, SessionsClosedWithACloseFrameReleaseEverything) {
  server_process s;
  auto token = s.token("alice");
  for (int i = 0; i < per_kind; ++i) {
    ws_client c(s.port());
    ASSERT_FALSE(open_churning(s, c, token, i).session_id.empty());
    if (i % 2 == 0) {
      ASSERT_TRUE(request(c, {{"type", "ping"}}));
    }
    ASSERT_TRUE(c.close());
  }
  expect_all_released(s);
}

TEST(Churn, SessionsDroppedWithoutACloseFrameReleaseEverythingAfterTheirWindow) {
  server_process s({"session.resume_window_ms=100"});
  auto token = s.token("alice");
  for (int i = 0; i < per_kind; ++i) {
    ws_client c(s.port());
    ASSERT_FALSE(open_churning(s, c, token, i).session_id.empty());
    c.drop();
  }
  expect_all_released(s);
}

TEST(Churn, SessionsEndedByHeartbeatTimeoutReleaseEverything) {
  server_process s({"heartbeat.interval_ms=50", "heartbeat.max_missed=1", many_per_ip});
  auto token = s.token("alice");
  // Clients that stop reading stop answering pings: the server ends them with 4008.
  std::vector<std::unique_ptr<ws_client>> silent;
  for (int i = 0; i < per_kind; ++i) {
    silent.push_back(std::make_unique<ws_client>(s.port()));
    ASSERT_TRUE(open_session(*silent.back(), token));
  }
  ASSERT_TRUE(wait_until([&] { return metrics(s.port())["tether_sessions"] == 0; }, 15s))
      << "sessions still open: " << metrics(s.port())["tether_sessions"];
  silent.clear();
  expect_all_released(s);
}

TEST(Churn, SessionsResumedThenEndedReleaseEverything) {
  server_process s({"session.resume_window_ms=5000"});
  auto token = s.token("alice");
  for (int i = 0; i < per_kind; ++i) {
    ws_client first(s.port());
    auto ids = open_churning(s, first, token, i);
    ASSERT_FALSE(ids.session_id.empty());
    first.drop();
    ws_client second(s.port());
    auto back = open_session(second, token, ids.resume_token);
    ASSERT_TRUE(back);
    ASSERT_EQ((*back)["resumed"], value(true));
    // Leaving on purpose ends it at once, with no window.
    ASSERT_TRUE(request(second, {{"type", "before_disconnect"}}));
    ASSERT_TRUE(second.close());
  }
  expect_all_released(s);
}

TEST(Churn, SessionsQueuedThenAdmittedReleaseEverything) {
  constexpr int places = 10;
  // Window 0: a closed session gives its place up at once (inside its window it keeps it).
  server_process s({"server.max_sessions=" + std::to_string(places), "session.resume_window_ms=0"});
  auto token = s.token("alice");
  for (int round = 0; round < per_kind / places; ++round) {
    std::vector<std::unique_ptr<ws_client>> admitted, waiting;
    for (int i = 0; i < places; ++i) {
      admitted.push_back(std::make_unique<ws_client>(s.port()));
      ASSERT_TRUE(open_session(*admitted.back(), token));
    }
    for (int i = 0; i < places; ++i) {
      waiting.push_back(std::make_unique<ws_client>(s.port()));
      ASSERT_EQ(waiting.back()->connect("/ws?token=" + token), 101);
      auto q = waiting.back()->next_of_type("queued");
      ASSERT_TRUE(q);
    }
    for (auto& c : admitted) ASSERT_TRUE(c->close());
    for (auto& c : waiting) {
      ASSERT_TRUE(c->next_of_type("connected"));
      ASSERT_TRUE(c->close());
    }
  }
  expect_all_released(s);
}

TEST(Churn, ConnectionsThatNeverAuthenticateReleaseEverything) {
  server_process s({"auth.timeout_ms=100", many_per_ip});
  std::vector<std::unique_ptr<ws_client>> anonymous;
  for (int i = 0; i < per_kind; ++i) {
    anonymous.push_back(std::make_unique<ws_client>(s.port()));
    ASSERT_EQ(anonymous.back()->connect("/ws"), 101);
    if (i % 3 == 0) anonymous.back()->drop();
  }
  for (auto& c : anonymous) {
    if (c->is_open()) {
      EXPECT_EQ(c->wait_close(5s), 4001);
    }
  }
  anonymous.clear();
  // A refused upgrade holds nothing either.
  for (int i = 0; i < 50; ++i) {
    ws_client c(s.port());
    EXPECT_EQ(c.connect("/ws?token=not-a-token"), 401);
  }
  expect_all_released(s);
}

TEST(Churn, SessionsPersistedAtShutdownReleaseEverythingAfterTheRestart) {
  server_process s({"session.resume_window_ms=1500", "session.restart_window_ms=1500", many_per_ip});
  auto token = s.token("alice");
  std::vector<std::string> resume_tokens;
  {
    std::vector<std::unique_ptr<ws_client>> open;
    for (int i = 0; i < per_kind; ++i) {
      open.push_back(std::make_unique<ws_client>(s.port()));
      auto hello = open_session(*open.back(), token);
      ASSERT_TRUE(hello);
      resume_tokens.push_back(str(*hello, "resume_token"));
    }
    ASSERT_EQ(s.terminate(), 0) << s.log();
  }
  s.restart();
  // A third come back and leave; the others' windows pass.
  for (std::size_t i = 0; i < resume_tokens.size(); i += 3) {
    ws_client c(s.port());
    auto back = open_session(c, token, resume_tokens[i]);
    ASSERT_TRUE(back);
    ASSERT_TRUE(c.close());
  }
  expect_all_released(s);
}
