// Supervisor and directory: crash recovery at start-up, the stale-sweep timer, graceful shutdown
// and sessions whose actor crashed (PROTOCOL.md §4 "Resume", §5 "After a crash, restart finishes
// every queued deletion and handles sessions that were open at the crash as disconnected",
// §11 "Session life": windows counted from the restart; window 0 cleans up during recovery).
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Supervisor : public actor_test {
 protected:
  // A planned restart: alice's session tracks f1, a graceful shutdown persists it, the actors
  // stop and a new supervisor recovers from the same database. The session as it was before.
  test_session tracked_then_restarted() {
    auto sup = start_supervisor();
    auto a = open_tracking({"f1"});
    EXPECT_EQ(ask<bool>(sup, shutdown_atom::value), std::optional<bool>(true));
    kill_supervisor(sup);
    start_supervisor();
    return a;
  }

  // A session persisted by a graceful shutdown (detached, reason "shutdown") tracking `files`.
  void shut_down_session(const std::string& sid, const std::string& user, const std::string& token,
                         const strings& files) {
    crashed_session(sid, user, token, files);
    db->detach_session(sid, "shutdown", unix_ms());
  }

  // A session left 'open' (as by a crash) tracking `files` of `user`.
  void crashed_session(const std::string& sid, const std::string& user, const std::string& token,
                       const strings& files) {
    auto now = unix_ms();
    db->open_session(sid, user, token, now);
    for (auto& f : files) add_file(f, user);
    auto r = db->track(sid, user, files, "", now);
    ASSERT_EQ(r.tracked, files);
  }
};

TEST_F(Supervisor, RecoveryWithWindowZeroCleansUpCrashedSessions) {
  s.session.resume_window_ms = 0;
  crashed_session("s_crashed", "alice", "tok0", {"f1", "f2"});
  // A session that was detached at the stop, and one that had ended: only the first is handled.
  crashed_session("s_detached", "alice", "tok1", {"f3"});
  db->detach_session("s_detached", "closed", unix_ms());
  crashed_session("s_ended", "alice", "tok2", {});
  db->end_session("s_ended", "left", unix_ms());
  add_file("f4");  // untracked: never touched

  start_supervisor();
  ASSERT_EQ(started, std::optional<bool>(true));
  EXPECT_EQ(*ready, 1);
  EXPECT_EQ(closed_reasons("s_crashed"), strings{"crash"});
  EXPECT_EQ(closed_reasons("s_detached"), strings{"closed"});
  EXPECT_EQ(closed_reasons("s_ended"), strings{"left"});
  for (const char* f : {"f1", "f2", "f3"}) {
    EXPECT_EQ(file_state(f), "deleted") << f;
    EXPECT_FALSE(blob_exists(f)) << f;
  }
  auto queued = audit_of("deletion_queued", "s_crashed");
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_EQ(queued[0].reason, "crash");
  EXPECT_TRUE(untouched("f4"));
  EXPECT_EQ(db->stats().queued, 0);
  EXPECT_TRUE(fatal->empty());
}

TEST_F(Supervisor, RecoveryFinishesDeletionsQueuedBeforeTheStop) {
  s.session.resume_window_ms = 0;
  crashed_session("s_x", "alice", "tok0", {"f1"});
  db->end_session("s_x", "closed", unix_ms());  // queued, but the process died before the cleaner ran
  ASSERT_EQ(file_state("f1"), "queued");
  ASSERT_TRUE(blob_exists("f1"));
  start_supervisor();
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Supervisor, ACrashedSessionCanBeResumedWithinTheWindow) {
  crashed_session("s_crashed", "alice", "tok0", {"f1"});
  start_supervisor();
  ASSERT_EQ(started, std::optional<bool>(true));
  EXPECT_EQ(session_state("s_crashed"), "detached");
  EXPECT_EQ(pending_reason("s_crashed"), "crash");
  EXPECT_TRUE(closed_reasons("s_crashed").empty());
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 1);

  advance(1500ms);
  auto b = open_session("alice", "tok0");
  auto c = b.connected();
  EXPECT_EQ(str(c.at("session_id")), "s_crashed");
  EXPECT_EQ(c.at("resumed"), true);
  EXPECT_EQ(str_list(c.at("file_ids")), strings{"f1"});
  EXPECT_NE(str(c.at("resume_token")), "tok0");
  EXPECT_EQ(session_state("s_crashed"), "open");
  EXPECT_EQ(audit_of("session_resumed", "s_crashed").size(), 1u);

  advance(1000ms);  // past the restored window
  pong(b);
  EXPECT_TRUE(closed_reasons("s_crashed").empty());
  EXPECT_TRUE(untouched("f1"));
}

TEST_F(Supervisor, ARestoredSessionResumedThenDroppedAgainIsAnOrdinaryDrop) {
  // Found by the chaos test: the restart's reason ("crash") and window belong to the wait after
  // the restart only. Resumed, then dropped, the session ends "closed" after the resume window.
  s.session.restart_window_ms = 60000;
  crashed_session("s_crashed", "alice", "tok0", {"f1"});
  start_supervisor();
  auto b = open_session("alice", "tok0");
  ASSERT_EQ(b.connected().at("resumed"), true);
  drop(b);
  EXPECT_EQ(pending_reason("s_crashed"), "closed");
  advance(2000ms);  // resume_window_ms, not the restart's window
  EXPECT_EQ(closed_reasons("s_crashed"), strings{"closed"});
  EXPECT_FALSE(blob_exists("f1"));
}

TEST_F(Supervisor, TheRestoredWindowCountsFromTheRestart) {
  crashed_session("s_crashed", "alice", "tok0", {"f1"});
  start_supervisor();
  advance(1990ms);
  EXPECT_TRUE(closed_reasons("s_crashed").empty());
  EXPECT_TRUE(blob_exists("f1"));
  advance(10ms);
  EXPECT_EQ(closed_reasons("s_crashed"), strings{"crash"});
  EXPECT_TRUE(deleted("f1"));
  // Too late now: a fresh session.
  auto b = open_session("alice", "tok0");
  EXPECT_EQ(b.connected().at("resumed"), false);
}

TEST_F(Supervisor, AForeignUserCannotResumeARestoredSession) {
  crashed_session("s_crashed", "alice", "tok0", {"f1"});
  start_supervisor();
  auto m = open_session("mallory", "tok0");
  EXPECT_EQ(m.connected().at("resumed"), false);
  EXPECT_NE(m.session_id(), "s_crashed");
  EXPECT_EQ(session_state("s_crashed"), "detached");
}

TEST_F(Supervisor, TheSweepTimerEndsStaleSessions) {
  s.heartbeat.interval_ms = 600000;  // only the sweep may end it
  s.session.idle_timeout_ms = 6000000;
  start_supervisor();
  auto a = open_session();
  auto sid = a.session_id();
  advance(4500ms);
  EXPECT_FALSE(a.link->closed);
  advance(2000ms);  // a sweep every 1000 ms; silent for 6500 > 5000
  EXPECT_TRUE(closed_with(a, 4008));
  EXPECT_EQ(closed_reasons(sid), strings{"stale"});
}

TEST_F(Supervisor, CountIsTheNumberOfLiveSessions) {
  auto sup = start_supervisor();
  EXPECT_EQ(ask<std::int64_t>(sup, count_atom::value), 0);
  auto a = open_session("alice");
  auto b = open_session("bob");
  EXPECT_EQ(ask<std::int64_t>(sup, count_atom::value), 2);
  send_json(a, R"({"type":"before_disconnect"})");
  drop(a, 1000);
  EXPECT_EQ(ask<std::int64_t>(sup, count_atom::value), 1);
}

TEST_F(Supervisor, ShutdownPersistsOpenSessionsForTheNextStart) {
  auto sup = start_supervisor();
  add_file("f1");
  add_file("f2", "bob");
  auto a = open_session("alice");
  auto b = open_session("bob");
  send_json(a, R"({"type":"register","file_ids":["f1"]})");
  send_json(b, R"({"type":"register","file_ids":["f2"]})");
  EXPECT_EQ(ask<bool>(sup, shutdown_atom::value), std::optional<bool>(true));
  for (auto* ts : {&a, &b}) {
    ASSERT_TRUE(ts->link->closed);
    EXPECT_EQ(ts->link->close_code, 1001);
    EXPECT_EQ(session_state(ts->session_id()), "detached");
    EXPECT_EQ(pending_reason(ts->session_id()), "shutdown");
    EXPECT_TRUE(closed_reasons(ts->session_id()).empty());
  }
  EXPECT_EQ(file_state("f1"), "active");
  EXPECT_EQ(file_state("f2"), "active");
  // No more sweeps, no window timers: nothing ends while the process winds down.
  advance(5000ms);
  EXPECT_TRUE(audit_of("session_closed").empty());
  EXPECT_TRUE(blob_exists("f1"));
  EXPECT_TRUE(fatal->empty()) << (*fatal)[0];
}

// The next start after a shutdown: the sessions wait again, then are cleaned with reason "shutdown".
TEST_F(Supervisor, SessionsPersistedAtShutdownAreCleanedAfterTheRestartWindow) {
  s.session.restart_window_ms = 4000;  // resume window: 2000
  auto sid = tracked_then_restarted().session_id();
  EXPECT_EQ(session_state(sid), "detached");
  EXPECT_EQ(pending_reason(sid), "shutdown");
  advance(3990ms);  // past the resume window, inside the restart window
  EXPECT_TRUE(closed_reasons(sid).empty());
  EXPECT_TRUE(blob_exists("f1"));
  advance(10ms);
  EXPECT_EQ(closed_reasons(sid), strings{"shutdown"});
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Supervisor, ASessionPersistedAtShutdownCanBeResumedAfterTheRestart) {
  auto a = tracked_then_restarted();
  auto sid = a.session_id();
  auto b = open_session("alice", a.resume_token());
  EXPECT_EQ(b.connected().at("resumed"), true);
  EXPECT_EQ(b.session_id(), sid);
  EXPECT_EQ(str_list(b.connected().at("file_ids")), strings{"f1"});
}

// §11: a planned restart gives session.restart_window_ms, a crash session.resume_window_ms.
TEST_F(Supervisor, RecoveryGivesEachSessionTheWindowOfHowItStopped) {
  crashed_session("s_crashed", "alice", "tok0", {});
  shut_down_session("s_shut", "bob", "tok1", {});
  auto r = ask<recovered_sessions>(deps().storage, recover_atom::value, std::int64_t{2000}, std::int64_t{7000});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->sessions.size(), 2u);
  for (auto& p : r->sessions) EXPECT_EQ(p.window_ms, p.session_id == "s_shut" ? 7000 : 2000) << p.session_id;
}

TEST_F(Supervisor, ASessionPersistedAtShutdownCanBeResumedAfterTheResumeWindow) {
  s.session.restart_window_ms = 4000;  // resume window: 2000
  shut_down_session("s_shut", "alice", "tok0", {"f1"});
  crashed_session("s_crashed", "bob", "tok1", {});
  start_supervisor();
  advance(3000ms);
  EXPECT_EQ(closed_reasons("s_crashed"), strings{"crash"});  // the crash got the resume window
  auto b = open_session("alice", "tok0");
  EXPECT_EQ(b.connected().at("resumed"), true);
  EXPECT_EQ(b.session_id(), "s_shut");
  EXPECT_EQ(str_list(b.connected().at("file_ids")), strings{"f1"});
  EXPECT_TRUE(blob_exists("f1"));
}

// With an effective window of 0 the sessions end during recovery, before /readyz: no actor waits.
TEST_F(Supervisor, RestartWindowZeroIsTheResumeWindowAndZeroCleansUpDuringRecovery) {
  s.session.resume_window_ms = 0;
  s.session.restart_window_ms = 0;
  shut_down_session("s_shut", "alice", "tok0", {"f1"});
  start_supervisor();
  ASSERT_EQ(started, std::optional<bool>(true));
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 0);
  EXPECT_EQ(closed_reasons("s_shut"), strings{"shutdown"});
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Supervisor, ACrashWithResumeWindowZeroEndsInRecoveryWhileAShutdownSessionWaits) {
  s.session.resume_window_ms = 0;
  s.session.restart_window_ms = 3000;
  shut_down_session("s_shut", "alice", "tok0", {"f1"});
  crashed_session("s_crashed", "bob", "tok1", {"f2"});
  start_supervisor();
  EXPECT_EQ(closed_reasons("s_crashed"), strings{"crash"});
  EXPECT_EQ(file_state("f2"), "deleted");
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 1);
  EXPECT_TRUE(closed_reasons("s_shut").empty());
  advance(3000ms);
  EXPECT_EQ(closed_reasons("s_shut"), strings{"shutdown"});
  EXPECT_EQ(file_state("f1"), "deleted");
}

TEST_F(Supervisor, ADeadCoreActorIsFatal) {
  start_supervisor();
  caf::anon_send_exit(deps().cleaner, caf::exit_reason::kill);
  run();
  ASSERT_EQ(fatal->size(), 1u);
  EXPECT_NE((*fatal)[0].find("cleaner"), std::string::npos) << (*fatal)[0];
}

// ---------------------------------------------------------------------------------------------
// The directory alone

class Directory : public actor_test {};

TEST_F(Directory, ShutdownClosesSessionsWith1001AndPersistsThemDetached) {
  add_file("f1");
  auto a = open_session("alice");
  auto b = open_session("bob");
  auto sid = a.session_id();
  send_json(a, R"({"type":"register","file_ids":["f1"]})");
  EXPECT_EQ(ask<bool>(deps().directory, shutdown_atom::value), std::optional<bool>(true));
  EXPECT_TRUE(closed_with(a, 1001));
  EXPECT_TRUE(closed_with(b, 1001));
  EXPECT_TRUE(audit_of("session_closed").empty());
  EXPECT_TRUE(untouched("f1"));

  auto recovered = db->recover(unix_ms());
  ASSERT_EQ(recovered.size(), 2u);
  for (auto& p : recovered) {
    EXPECT_EQ(p.pending_reason, "shutdown") << p.session_id;
    if (p.session_id == sid) {
      EXPECT_EQ(p.files, strings{"f1"});
    }
  }
}

TEST_F(Directory, ShutdownLeavesADetachedSessionWaitingWithItsReason) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  drop(a);
  auto u = open_unauthenticated();
  EXPECT_EQ(ask<bool>(deps().directory, shutdown_atom::value), std::optional<bool>(true));
  EXPECT_TRUE(audit_of("session_closed").empty());
  EXPECT_EQ(session_state(sid), "detached");
  EXPECT_EQ(pending_reason(sid), "closed");
  advance(3000ms);  // its window timer died with it
  EXPECT_TRUE(audit_of("session_closed").empty());
  EXPECT_EQ(file_state("f1"), "active");
}

TEST_F(Directory, ShutdownWithNoSessionsRepliesAtOnce) {
  EXPECT_EQ(ask<bool>(deps().directory, shutdown_atom::value), std::optional<bool>(true));
}

TEST_F(Directory, ACrashedSessionIsEndedAndItsFilesQueued) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  caf::anon_send_exit(a.actor, caf::exit_reason::kill);
  run();
  EXPECT_EQ(closed_reasons(sid), strings{"closed"});
  EXPECT_EQ(session_state(sid), "ended");
  EXPECT_NE(file_state("f1"), "active");
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 0);
}

TEST_F(Directory, ACrashedSessionsFilesAreDeleted) {
  auto a = open_tracking({"f1"});
  caf::anon_send_exit(a.actor, caf::exit_reason::kill);
  run();
  EXPECT_TRUE(deleted("f1"));
}

}  // namespace
}  // namespace tether::actor_testing
