// Crash recovery (kill -9) and graceful shutdown (SIGTERM) (PROTOCOL.md §4, §5, §9, §11).
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

TEST(Crash, Kill9WithWindow0CleansUpAbandonedFilesOnRestart) {
  server_process s({"session.resume_window_ms=0"});
  auto alice = s.token("alice");
  auto bob = s.token("bob");
  auto a1 = upload(s, alice, "a1.jpg", "a1");
  auto a2 = upload(s, alice, "a2.jpg", "a2");
  auto b1 = upload(s, bob, "b1.jpg", "b1");

  ws_client ca(s.port()), cb(s.port());
  auto sa = open_session_ids(ca, alice).session_id;
  ASSERT_TRUE(register_files(ca, {a1, a2}));
  ASSERT_FALSE(open_session_ids(cb, bob).session_id.empty());
  ASSERT_TRUE(register_files(cb, {b1}));
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
  EXPECT_EQ(download(s, bob, b1), "b1");
}

TEST(Crash, Kill9WithWindowResumesAfterRestart) {
  server_process s({"session.resume_window_ms=5000"});
  auto alice = s.token("alice");
  draft d;
  {
    ws_client c(s.port());
    d = open_draft(s, c, alice, {"1.jpg", "2.jpg"});
    ASSERT_FALSE(HasFailure());
    s.kill9();
  }
  s.restart();
  auto f1 = d.file_ids[0], f2 = d.file_ids[1], sid = d.session_id;

  ws_client c(s.port());
  ASSERT_TRUE(resume_draft(c, alice, d));
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
  auto d = draft_through_sigterm(s, alice);
  ASSERT_FALSE(HasFailure());
  auto f = d.file_ids[0];
  EXPECT_TRUE(s.blob_exists(f));
  s.restart();

  ws_client c(s.port());
  ASSERT_TRUE(resume_draft(c, alice, d));
  EXPECT_TRUE(s.blob_exists(f));
  EXPECT_FALSE(has_record(audit(s), "deletion_queued"));
}

TEST(Shutdown, SigtermWithWindow0CleansUpAfterRestart) {
  // Sessions persisted at SIGTERM get their window from the restart; with 0 they end in recovery.
  // (That the reason is "shutdown" is checked by SigtermPersistsOpenSessionsAsDetached below.)
  server_process s({"session.resume_window_ms=0", "session.restart_window_ms=0"});
  auto d = draft_through_sigterm(s, s.token("alice"));
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(s.blob_exists(d.file_ids[0]));
  s.restart();
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(d.file_ids[0]); }, 3s));
  wait_session_closed(s, d.session_id);
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
    auto d = draft_through_sigterm(s, s.token("alice"));
    ASSERT_FALSE(HasFailure());
    auto f = d.file_ids[0], sid = d.session_id;
    // Persisted as waiting for a resume (§9), not left open as if the process had crashed.
    auto rows = sql_rows(s, "SELECT state, pending_reason FROM sessions WHERE session_id='" + sid + "'");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"detached", "shutdown"})) << "after SIGTERM";
    s.restart();
    auto records = wait_session_closed(s, sid);
    EXPECT_TRUE(has_record(records, "session_closed", "shutdown", "", sid)) << dump(records);
    EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 3s));
  }
}
