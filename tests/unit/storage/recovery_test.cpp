// Unit tests for crash recovery and resume in storage/database (PROTOCOL.md §4 "Resume", §5 "After a
// crash, restart finishes every queued deletion and handles sessions that were open at the crash as
// disconnected", §11 "Sessions open at a crash or persisted at SIGTERM get their window counted from
// the restart").
#include "proto/clock.hpp"
#include "storage/database.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace tether::storage_testing {
namespace {

using strings = std::vector<std::string>;

class Recovery : public database_test {
 protected:
  static std::map<std::string, persisted_session> by_id(const std::vector<persisted_session>& v) {
    std::map<std::string, persisted_session> out;
    for (auto& p : v) out[p.session_id] = p;
    return out;
  }
};

TEST_F(Recovery, NothingToRecover) {
  EXPECT_TRUE(db().recover(T0).empty());
  db().open_session("s1", "alice", "r1", T0);
  db().end_session("s1", "closed", T0);
  reopen();
  EXPECT_TRUE(db().recover(T0 + 1).empty());
}

TEST_F(Recovery, OpenSessionsBecomeDetachedWithReasonCrash) {
  add_file("a", "alice");
  add_file("b", "alice");
  db().open_session("s1", "alice", "tok-1", T0);
  db().track("s1", "alice", {"b", "a"}, "", T0);

  reopen();  // the process died with s1 open
  auto rec = db().recover(T0 + 60000);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].session_id, "s1");
  EXPECT_EQ(rec[0].user_id, "alice");
  EXPECT_EQ(rec[0].resume_token, "tok-1");
  EXPECT_EQ(rec[0].pending_reason, "crash");
  EXPECT_EQ(rec[0].files, (strings{"b", "a"}));

  raw_sqlite raw(db_path());
  auto row = raw.rows("SELECT state,pending_reason,detached_ms FROM sessions WHERE session_id='s1'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], (strings{"detached", "crash", std::to_string(T0 + 60000)}));
  // Recovery itself deletes nothing: the files wait for the window.
  EXPECT_EQ(state_of("a"), "active");
  EXPECT_EQ(state_of("b"), "active");
  EXPECT_EQ(db().stats().queued, 0);
}

TEST_F(Recovery, DetachedSessionsKeepTheirReason) {
  db().open_session("shut", "alice", "r-shut", T0);
  db().detach_session("shut", "shutdown", T0 + 1);
  db().open_session("drop", "bob", "r-drop", T0 + 2);
  db().detach_session("drop", "closed", T0 + 3);
  db().open_session("live", "carol", "r-live", T0 + 4);

  reopen();
  auto rec = by_id(db().recover(T0 + 1000));
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec["shut"].pending_reason, "shutdown");
  EXPECT_EQ(rec["shut"].user_id, "alice");
  EXPECT_EQ(rec["drop"].pending_reason, "closed");
  EXPECT_EQ(rec["live"].pending_reason, "crash");

  // Every window is counted from the restart.
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM sessions WHERE detached_ms=" + std::to_string(T0 + 1000)), 3);
}

TEST_F(Recovery, EndedSessionsAreNotReturned) {
  add_file("a", "alice");
  db().open_session("ended", "alice", "r1", T0);
  db().track("ended", "alice", {"a"}, "", T0);
  db().end_session("ended", "closed", T0);
  db().open_session("open", "alice", "r2", T0 + 1);

  reopen();
  auto rec = db().recover(T0 + 10);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].session_id, "open");
  EXPECT_EQ(session_state("ended"), "ended");
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("SELECT end_reason FROM sessions WHERE session_id='ended'"), "closed");
}

TEST_F(Recovery, SessionsComeBackInOpeningOrderWithTheirFiles) {
  for (auto id : {"a1", "a2", "b1"}) add_file(id, id[0] == 'a' ? "alice" : "bob");
  db().open_session("second", "bob", "rb", T0 + 10);
  db().open_session("first", "alice", "ra", T0);
  db().open_session("third", "alice", "rc", T0 + 20);
  db().track("first", "alice", {"a2", "a1"}, "", T0);
  db().track("second", "bob", {"b1"}, "", T0);

  reopen();
  auto rec = db().recover(T0 + 100);
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec[0].session_id, "first");
  EXPECT_EQ(rec[0].files, (strings{"a2", "a1"}));
  EXPECT_EQ(rec[0].resume_token, "ra");
  EXPECT_EQ(rec[1].session_id, "second");
  EXPECT_EQ(rec[1].files, strings{"b1"});
  EXPECT_EQ(rec[1].resume_token, "rb");
  EXPECT_EQ(rec[2].session_id, "third");
  EXPECT_TRUE(rec[2].files.empty());
}

TEST_F(Recovery, ReturnsTheLatestResumeToken) {
  db().open_session("s1", "alice", "first-token", T0);
  db().set_resume_token("s1", "second-token");
  reopen();
  auto rec = db().recover(T0 + 1);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].resume_token, "second-token");
}

TEST_F(Recovery, RecoveringTwiceGivesTheSameSessions) {
  db().open_session("s1", "alice", "r1", T0);
  db().open_session("s2", "alice", "r2", T0);
  db().detach_session("s2", "shutdown", T0);
  reopen();
  auto first = by_id(db().recover(T0 + 1));
  reopen();  // crashed again before any window passed
  auto second = by_id(db().recover(T0 + 2));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second["s1"].pending_reason, "crash");
  EXPECT_EQ(second["s2"].pending_reason, "shutdown");
  EXPECT_EQ(first["s1"].resume_token, second["s1"].resume_token);
}

TEST_F(Recovery, ResumeReopensAndReturnsTheFiles) {
  add_file("a", "alice");
  add_file("b", "alice");
  db().open_session("s1", "alice", "old-token", T0);
  db().track("s1", "alice", {"a", "b"}, "", T0);
  reopen();
  ASSERT_EQ(db().recover(T0 + 100).size(), 1u);

  auto files = db().resume_session("s1", "new-token", T0 + 200);
  ASSERT_TRUE(files.has_value());
  EXPECT_EQ(*files, (strings{"a", "b"}));

  raw_sqlite raw(db_path());
  auto row = raw.rows("SELECT state,resume_token,pending_reason,detached_ms FROM sessions WHERE session_id='s1'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], (strings{"open", "new-token", "", "NULL"}));

  auto resumed = audit_of("session_resumed");
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].session_id, "s1");
  EXPECT_EQ(resumed[0].user_id, "alice");
  EXPECT_EQ(resumed[0].at, iso8601_from_ms(T0 + 200));
  EXPECT_TRUE(audit_of("session_closed").empty());

  // Resumed: the files still belong to a live session and tracking continues.
  EXPECT_EQ(state_of("a"), "active");
  add_file("c", "alice");
  EXPECT_EQ(db().track("s1", "alice", {"c"}, "", T0 + 300).tracked, (strings{"a", "b", "c"}));
  // A later crash finds it open again, with the new token.
  reopen();
  auto rec = db().recover(T0 + 400);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].pending_reason, "crash");
  EXPECT_EQ(rec[0].resume_token, "new-token");
  EXPECT_EQ(rec[0].files, (strings{"a", "b", "c"}));
}

TEST_F(Recovery, ResumeOfADetachedSessionWithoutRestart) {
  add_file("a", "alice");
  db().open_session("s1", "alice", "r1", T0);
  db().track("s1", "alice", {"a"}, "", T0);
  db().detach_session("s1", "closed", T0 + 1);
  EXPECT_EQ(db().resume_session("s1", "r2", T0 + 2), std::optional<strings>(strings{"a"}));
  EXPECT_EQ(session_state("s1"), "open");
}

TEST_F(Recovery, ResumeDoesNotReviveAnEndedSession) {
  db().open_session("s1", "alice", "r1", T0);
  db().end_session("s1", "closed", T0);
  // Not found, which is not the same as "no files": the caller must not take it for a resume.
  EXPECT_EQ(db().resume_session("s1", "r2", T0 + 1), std::nullopt);
  EXPECT_EQ(session_state("s1"), "ended");
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("SELECT resume_token FROM sessions WHERE session_id='s1'"), "r1");
  EXPECT_TRUE(audit_of("session_resumed").empty());
}

TEST_F(Recovery, ResumeOfAnUnknownSessionIsNotFound) {
  EXPECT_EQ(db().resume_session("nope", "r2", T0), std::nullopt);
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("SELECT count(*) FROM sessions"), "0");
  EXPECT_TRUE(audit_of("session_resumed").empty());
}

TEST_F(Recovery, ResumeOfASessionWithoutFilesIsFoundAndEmpty) {
  db().open_session("s1", "alice", "r1", T0);
  db().detach_session("s1", "closed", T0 + 1);
  auto files = db().resume_session("s1", "r2", T0 + 2);
  ASSERT_TRUE(files.has_value());
  EXPECT_TRUE(files->empty());
  EXPECT_EQ(session_state("s1"), "open");
}

TEST_F(Recovery, WindowPassedAfterRecoveryQueuesTheFiles) {
  add_file("a", "alice");
  add_file("shared", "alice");
  session_tracking("s1", "r1", {"a", "shared"});
  session_tracking("s2", "r2", {"shared"});
  reopen();
  auto rec = by_id(db().recover(T0 + 10));
  ASSERT_EQ(rec.size(), 2u);
  // s1's window passes; s2 is still inside its window (live), so "shared" stays.
  EXPECT_EQ(db().end_session("s1", rec["s1"].pending_reason, T0 + 5010), 1);
  EXPECT_EQ(state_of("a"), "queued");
  EXPECT_EQ(state_of("shared"), "active");
  auto closed = audit_of("session_closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, "crash");
  // Then s2's window passes too.
  EXPECT_EQ(db().end_session("s2", rec["s2"].pending_reason, T0 + 5011), 1);
  EXPECT_EQ(state_of("shared"), "queued");
  EXPECT_EQ(sorted(job_ids(db().due_deletions(T0 + 5011, 10))), (strings{"a", "shared"}));
}

// §11: a planned restart (SIGTERM, pending reason "shutdown") gives session.restart_window_ms, a
// crash session.resume_window_ms; a session already dropped before the stop keeps the resume window.
TEST_F(Recovery, EachSessionGetsTheWindowOfHowItWasStopped) {
  db().open_session("shut", "alice", "r1", T0);
  db().detach_session("shut", "shutdown", T0 + 1);
  db().open_session("crashed", "bob", "r2", T0);
  db().open_session("dropped", "carol", "r3", T0);
  db().detach_session("dropped", "closed", T0 + 1);
  reopen();
  auto rec = by_id(db().recover(T0 + 10, recovery_windows{200, 7000}));
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec["shut"].window_ms, 7000);
  EXPECT_EQ(rec["crashed"].window_ms, 200);
  EXPECT_EQ(rec["dropped"].window_ms, 200);
}

TEST_F(Recovery, RestartWindowZeroMeansTheResumeWindow) {
  db().open_session("shut", "alice", "r1", T0);
  db().detach_session("shut", "shutdown", T0 + 1);
  reopen();
  auto rec = db().recover(T0 + 10, recovery_windows{3000, 0});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].window_ms, 3000);
}

// With an effective window of 0 the session ends during recovery (in the same transaction), with
// its pending reason, and its files are queued; the others wait.
TEST_F(Recovery, SessionsWithoutAWindowAreCleanedUpDuringRecovery) {
  add_file("s_file", "alice");
  add_file("c_file", "bob");
  db().open_session("shut", "alice", "r1", T0);
  db().track("shut", "alice", {"s_file"}, "", T0);
  db().detach_session("shut", "shutdown", T0 + 1);
  db().open_session("crashed", "bob", "r2", T0);
  db().track("crashed", "bob", {"c_file"}, "", T0);
  reopen();

  // A crash window of 0 with a restart window: only the crashed session ends.
  auto rec = db().recover(T0 + 10, recovery_windows{0, 5000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].session_id, "shut");
  EXPECT_EQ(rec[0].window_ms, 5000);
  EXPECT_EQ(rec[0].files, strings{"s_file"});
  EXPECT_EQ(session_state("crashed"), "ended");
  EXPECT_EQ(state_of("c_file"), "queued");
  EXPECT_EQ(state_of("s_file"), "active");
  auto closed = audit_of("session_closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].session_id, "crashed");
  EXPECT_EQ(closed[0].reason, "crash");

  // Both 0 (restart 0 = the resume window): the shutdown session ends too, with reason shutdown.
  reopen();
  EXPECT_TRUE(db().recover(T0 + 20, recovery_windows{0, 0}).empty());
  EXPECT_EQ(session_state("shut"), "ended");
  EXPECT_EQ(state_of("s_file"), "queued");
  closed = audit_of("session_closed");
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[1].session_id, "shut");
  EXPECT_EQ(closed[1].reason, "shutdown");
  EXPECT_EQ(sorted(job_ids(db().due_deletions(T0 + 20, 10))), (strings{"c_file", "s_file"}));
}

TEST_F(Recovery, QueuedDeletionsAreFinishedAfterRestart) {
  add_file("a", "alice");
  db().open_session("s1", "alice", "r1", T0);
  db().track("s1", "alice", {"a"}, "", T0);
  db().end_session("s1", "closed", T0);
  retry_policy p{8, 1000, 300000};
  ASSERT_TRUE(db().deletion_failed("a", "EIO", p, T0));
  reopen();
  EXPECT_TRUE(db().recover(T0 + 10).empty());
  EXPECT_EQ(db().next_deletion_at(), T0 + 1000);  // the backoff survives the restart
  auto due = db().due_deletions(T0 + 1000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].file_id, "a");
  EXPECT_EQ(due[0].attempts, 1);
  db().deletion_done("a", T0 + 1000);
  EXPECT_EQ(state_of("a"), "deleted");
}

}  // namespace
}  // namespace tether::storage_testing
