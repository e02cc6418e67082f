// Crash recovery (kill -9) and graceful shutdown (SIGTERM) (PROTOCOL.md §4, §5, §9, §11).
#include "support.hpp"

#include <gtest/gtest.h>

#include <future>

using namespace tether::it;
using boost::json::array;
using boost::json::serialize;
using boost::json::value;

TEST(Crash, Kill9WithWindow0CleansUpAbandonedFilesOnRestart) {
  server_process s({"session.resume_window_ms=0"});
  auto alice = s.token("alice");
  auto bob = s.token("bob");
  auto a1 = upload(s, alice, "a1.jpg", "a1");
  auto a2 = upload(s, alice, "a2.jpg", "a2");
  auto b1 = upload(s, bob, "b1.jpg", "b1");

  ws_client ca(s.port()), cb(s.port());
  auto ha = open_session(ca, alice);
  auto hb = open_session(cb, bob);
  ASSERT_TRUE(ha && hb);
  auto sa = str(*ha, "session_id"), sb = str(*hb, "session_id");
  auto ra = request(ca, {{"type", "register"}, {"file_ids", ids({a1, a2})}});
  ASSERT_TRUE(ra);
  ASSERT_EQ((*ra)["file_ids"], value(ids({a1, a2}))) << serialize(*ra);
  auto rb = request(cb, {{"type", "register"}, {"file_ids", ids({b1})}});
  ASSERT_TRUE(rb);
  auto sub = request(cb, {{"type", "post_submitted"}, {"post_id", "post-1"}});
  ASSERT_TRUE(sub);
  ASSERT_EQ(str(*sub, "type"), "ack") << serialize(*sub);

  // Acked means durable: kill -9 with both sessions open.
  s.kill9();
  ASSERT_TRUE(s.blob_exists(a1) && s.blob_exists(a2) && s.blob_exists(b1));
  s.restart();

  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(a1) && !s.blob_exists(a2); }, 3s))
      << "alice's abandoned files survived the restart";
  EXPECT_TRUE(s.blob_exists(b1));
  std::vector<boost::json::object> records;
  EXPECT_TRUE(wait_until(
      [&] {
        records = audit(s);
        return has_record(records, "session_closed", "", "", sa) && has_record(records, "file_deleted", "", a1) &&
               has_record(records, "file_deleted", "", a2);
      },
      3s));
  EXPECT_TRUE(has_record(records, "session_closed", "crash", "", sa)) << dump(records);
  EXPECT_TRUE(has_record(records, "deletion_queued", "", a1, sa));
  EXPECT_TRUE(has_record(records, "deletion_queued", "", a2, sa));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", b1));
  auto got = http_call(s.port(), boost::beast::http::verb::get, "/api/files/" + b1, bob);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "b1");
}

TEST(Crash, Kill9WithWindowResumesAfterRestart) {
  server_process s({"session.resume_window_ms=5000"});
  auto alice = s.token("alice");
  auto f1 = upload(s, alice, "1.jpg", "one");
  auto f2 = upload(s, alice, "2.jpg", "two");

  std::string sid, resume;
  {
    ws_client c(s.port());
    auto hello = open_session(c, alice);
    ASSERT_TRUE(hello);
    sid = str(*hello, "session_id");
    resume = str(*hello, "resume_token");
    auto reg = request(c, {{"type", "register"}, {"file_ids", ids({f1, f2})}});
    ASSERT_TRUE(reg);
    ASSERT_EQ((*reg)["file_ids"], value(ids({f1, f2}))) << serialize(*reg);
    s.kill9();
  }
  s.restart();

  ws_client c(s.port());
  auto back = open_session(c, alice, resume);
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)["resumed"], value(true)) << serialize(*back);
  EXPECT_EQ(str(*back, "session_id"), sid);
  EXPECT_EQ((*back)["file_ids"], value(ids({f1, f2}))) << serialize(*back);
  EXPECT_TRUE(s.blob_exists(f1));
  EXPECT_TRUE(s.blob_exists(f2));
  auto records = audit(s);
  EXPECT_FALSE(has_record(records, "deletion_queued"));
  EXPECT_FALSE(has_record(records, "session_closed", "", "", sid));
  EXPECT_TRUE(has_record(records, "session_resumed", "", "", sid));

  // Still tracked: submitting keeps them, and they are listed.
  auto ack = request(c, {{"type", "post_submitted"}});
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["kept"], value(ids({f1, f2}))) << serialize(*ack);
}

TEST(Shutdown, SigtermCloses1001ExitsZeroAndSessionResumesAfterRestart) {
  server_process s({"session.resume_window_ms=5000"});
  auto alice = s.token("alice");
  auto f = upload(s, alice, "f.jpg", "f");

  std::string sid, resume;
  {
    ws_client c(s.port());
    auto hello = open_session(c, alice);
    ASSERT_TRUE(hello);
    sid = str(*hello, "session_id");
    resume = str(*hello, "resume_token");
    auto reg = request(c, {{"type", "register"}, {"file_ids", ids({f})}});
    ASSERT_TRUE(reg);

    // The client reads (and answers the close) while the server shuts down.
    auto exit_status = std::async(std::launch::async, [&s] { return s.terminate(10s); });
    auto code = c.wait_close(5s);
    int status = exit_status.get();
    ASSERT_TRUE(code) << "no close frame from the server";
    EXPECT_EQ(*code, 1001);
    EXPECT_EQ(status, 0);
  }
  EXPECT_TRUE(s.blob_exists(f));
  s.restart();

  ws_client c(s.port());
  auto back = open_session(c, alice, resume);
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)["resumed"], value(true)) << serialize(*back);
  EXPECT_EQ(str(*back, "session_id"), sid);
  EXPECT_EQ((*back)["file_ids"], value(ids({f}))) << serialize(*back);
  EXPECT_TRUE(s.blob_exists(f));
  EXPECT_FALSE(has_record(audit(s), "deletion_queued"));
}

TEST(Shutdown, SigtermWithWindow0CleansUpAfterRestart) {
  // Sessions persisted at SIGTERM get their window from the restart; with 0 they end in recovery.
  // (That the reason is "shutdown" is checked by SigtermPersistsOpenSessionsAsDetached below.)
  server_process s({"session.resume_window_ms=0", "session.restart_window_ms=0"});
  auto alice = s.token("alice");
  auto f = upload(s, alice, "f.jpg", "f");
  std::string sid;
  {
    ws_client c(s.port());
    auto hello = open_session(c, alice);
    ASSERT_TRUE(hello);
    sid = str(*hello, "session_id");
    ASSERT_TRUE(request(c, {{"type", "register"}, {"file_ids", ids({f})}}));
    auto exit_status = std::async(std::launch::async, [&s] { return s.terminate(10s); });
    auto code = c.wait_close(5s);
    EXPECT_EQ(exit_status.get(), 0);
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 1001);
  }
  EXPECT_TRUE(s.blob_exists(f));
  s.restart();
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 3s));
  EXPECT_TRUE(wait_until([&] { return has_record(audit(s), "session_closed", "", "", sid); }, 2s));
}

TEST(Shutdown, SigtermPersistsOpenSessionsAsDetached) {
  // blocked on bug: app/serve.cpp serve() — after SIGTERM, ioc.run() returns as soon as the
  // io_context runs out of work (listener stopped, signal handled, the client already answered
  // the 1001 close), before the supervisor's shutdown (session detach + storage sync) is done;
  // the process then _Exit()s with the detach uncommitted. The session stays state='open' in
  // SQLite, so the restart handles it as a crash (session_closed reason "crash", not "shutdown").
  // Reproduces in roughly 1 of 5 shutdowns; a work guard on ioc held until the ask answers fixes it.

  // Repeated, because the race is lost only some of the time.
  server_process s({"session.resume_window_ms=0", "session.restart_window_ms=0"});
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto alice = s.token("alice");
    auto f = upload(s, alice, "f.jpg", "f");
    std::string sid;
    {
      ws_client c(s.port());
      auto hello = open_session(c, alice);
      ASSERT_TRUE(hello);
      sid = str(*hello, "session_id");
      ASSERT_TRUE(request(c, {{"type", "register"}, {"file_ids", ids({f})}}));
      auto exit_status = std::async(std::launch::async, [&s] { return s.terminate(10s); });
      auto code = c.wait_close(5s);
      ASSERT_EQ(exit_status.get(), 0);
      ASSERT_EQ(code.value_or(0), 1001);
    }
    // Persisted as waiting for a resume (§9), not left open as if the process had crashed.
    auto rows = sql_rows(s, "SELECT state, pending_reason FROM sessions WHERE session_id='" + sid + "'");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"detached", "shutdown"})) << "after SIGTERM";
    s.restart();
    std::vector<boost::json::object> records;
    EXPECT_TRUE(wait_until(
        [&] {
          records = audit(s);
          return has_record(records, "session_closed", "", "", sid);
        },
        3s));
    EXPECT_TRUE(has_record(records, "session_closed", "shutdown", "", sid)) << dump(records);
    EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 3s));
  }
}
