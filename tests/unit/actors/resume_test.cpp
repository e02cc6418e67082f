// The resume window (PROTOCOL.md §4 "Resume", §11 "Session life"): an unplanned drop keeps the
// session for session.resume_window_ms; a reconnect with its token gets it back (same id, its
// files, resumed:true); a token works once; a foreign, used or expired token opens a fresh
// session; a resume while the old socket is open closes that socket with 4009.
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Resume : public actor_test {};

TEST_F(Resume, ADropKeepsTheSessionDetached) {
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  EXPECT_EQ(session_state(sid), "detached");
  EXPECT_EQ(pending_reason(sid), "closed");
  EXPECT_TRUE(closed_reasons(sid).empty());
  EXPECT_EQ(file_state("f1"), "active");
  EXPECT_EQ(tracked_rows(sid), strings{"f1"});
}

TEST_F(Resume, WithinTheWindowTheSessionComesBackWithItsFiles) {
  auto a = dropped_session("alice", {"f1", "f2"});
  auto sid = a.session_id();
  auto token = a.resume_token();
  advance(1500ms);
  auto b = open_session("alice", token);
  auto c = b.connected();
  EXPECT_EQ(str(c.at("session_id")), sid);
  EXPECT_EQ(c.at("resumed"), true);
  EXPECT_EQ(str_list(c.at("file_ids")), (strings{"f1", "f2"}));
  EXPECT_NE(str(c.at("resume_token")), token);  // every `connected` carries a new token
  EXPECT_EQ(audit_of("session_resumed", sid).size(), 1u);
  EXPECT_EQ(session_state(sid), "open");
  // Well past the old window: nothing was cleaned.
  advance(3000ms);
  pong(b);
  EXPECT_TRUE(closed_reasons(sid).empty());
  EXPECT_EQ(file_state("f1"), "active");
  EXPECT_EQ(file_state("f2"), "active");
  EXPECT_TRUE(blob_exists("f1"));
  EXPECT_TRUE(blob_exists("f2"));
  EXPECT_FALSE(b.link->closed);
}

TEST_F(Resume, TheResumedSessionIsStillKnownToTheDirectory) {
  // Regression: the actor that hands over its state (takeover_atom) quits without unregistering;
  // the directory must not take its exit for a crash and end the session just resumed.
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto b = open_session("alice", a.resume_token());
  ASSERT_EQ(b.connected().at("resumed"), true);
  EXPECT_EQ(session_state(sid), "open");
  EXPECT_TRUE(closed_reasons(sid).empty()) << "the resumed session was ended";
  EXPECT_EQ(file_state("f1"), "active");
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 1);
  // And the new token works for the next drop.
  auto token2 = b.resume_token();
  drop(b);
  auto c = open_session("alice", token2);
  EXPECT_EQ(c.connected().at("resumed"), true);
  EXPECT_EQ(c.session_id(), sid);
  EXPECT_EQ(str_list(c.connected().at("file_ids")), strings{"f1"});
}

TEST_F(Resume, TheResumedSessionEndsNormallyLater) {
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto b = open_session("alice", a.resume_token());
  ASSERT_EQ(b.session_id(), sid);
  send_json(b, R"({"type":"before_disconnect"})");
  drop(b, 1000);
  EXPECT_EQ(closed_reasons(sid), strings{"left"});
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Resume, AfterTheWindowTheFilesAreDeleted) {
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  advance(1990ms);
  EXPECT_TRUE(closed_reasons(sid).empty());
  EXPECT_TRUE(blob_exists("f1"));
  advance(10ms);  // 2000 = resume_window_ms
  EXPECT_EQ(closed_reasons(sid), strings{"closed"});
  EXPECT_EQ(session_state(sid), "ended");
  EXPECT_TRUE(deleted("f1"));
  EXPECT_EQ(audit_of("file_deleted", sid).size(), 1u);
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 0);

  // The token died with the session: a fresh one.
  auto b = open_session("alice", a.resume_token());
  EXPECT_EQ(b.connected().at("resumed"), false);
  EXPECT_NE(b.session_id(), sid);
}

TEST_F(Resume, WindowZeroCleansUpAtOnce) {
  s.session.resume_window_ms = 0;
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  EXPECT_EQ(closed_reasons(sid), strings{"closed"});
  EXPECT_EQ(session_state(sid), "ended");
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Resume, ATokenWorksOnce) {
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto token = a.resume_token();
  auto b = open_session("alice", token);
  ASSERT_EQ(b.connected().at("resumed"), true);
  drop(b);
  auto c = open_session("alice", token);  // the used token
  EXPECT_EQ(c.connected().at("resumed"), false);
  EXPECT_NE(c.session_id(), sid);
  EXPECT_FALSE(c.connected().contains("file_ids"));
}

TEST_F(Resume, AnUnknownTokenOpensAFreshSession) {
  auto a = open_session("alice", "0123456789abcdef0123456789abcdef0123456789abcdef");
  auto c = a.connected();
  EXPECT_EQ(c.at("resumed"), false);
  EXPECT_EQ(session_state(a.session_id()), "open");
  EXPECT_TRUE(audit_of("session_resumed").empty());
}

TEST_F(Resume, AForeignUsersTokenOpensAFreshSessionAndLeavesTheTokenAlone) {
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto m = open_session("mallory", a.resume_token());
  EXPECT_EQ(m.connected().at("resumed"), false);
  EXPECT_NE(m.session_id(), sid);
  EXPECT_EQ(str(m.connected().at("user_id")), "mallory");
  EXPECT_FALSE(m.connected().contains("file_ids"));
  EXPECT_EQ(session_state(sid), "detached");
  // The owner can still resume with it.
  auto b = open_session("alice", a.resume_token());
  EXPECT_EQ(b.connected().at("resumed"), true);
  EXPECT_EQ(b.session_id(), sid);
}

TEST_F(Resume, ASessionEndedInSqliteIsNotResumed) {
  // The old actor still holds the token, but SQLite says the session ended (a second ending path
  // won the race): resuming it would answer resumed:true and track new files on an ended row.
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  ASSERT_GT(db->end_session(sid, "closed", unix_ms()), 0);
  add_file("f2");
  auto b = open_session("alice", a.resume_token());
  auto c = b.connected();
  EXPECT_EQ(c.at("resumed"), false);
  EXPECT_NE(b.session_id(), sid);
  EXPECT_FALSE(c.contains("file_ids"));
  EXPECT_TRUE(audit_of("session_resumed").empty());
  EXPECT_EQ(session_state(b.session_id()), "open");
  // Tracking goes to the fresh session, not the ended row.
  send_json(b, R"({"type":"file_uploaded","file_id":"f2"})");
  EXPECT_EQ(tracked_rows(b.session_id()), strings{"f2"});
  auto old_rows = tracked_rows(sid);
  EXPECT_EQ(std::count(old_rows.begin(), old_rows.end(), "f2"), 0);
  EXPECT_EQ(session_state(sid), "ended");
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 1);
}

TEST_F(Resume, ResumeByConnectMessage) {
  auto a = dropped_session("alice", {"f1"});
  auto u = open_unauthenticated();
  send_json(u, R"({"type":"connect","token":")" + token_for("alice") + R"(","resume_token":")" +
                   a.resume_token() + R"(","ref":"r"})");
  auto c = u.link->last("connected");
  EXPECT_EQ(c.at("resumed"), true);
  EXPECT_EQ(str(c.at("session_id")), a.session_id());
  EXPECT_EQ(str(c.at("ref")), "r");
  EXPECT_EQ(str_list(c.at("file_ids")), strings{"f1"});
}

TEST_F(Resume, ResumeWhileTheOldSocketIsOpenClosesItWith4009) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  auto b = open_session("alice", a.resume_token());
  EXPECT_TRUE(closed_with(a, 4009));
  auto c = b.connected();
  EXPECT_EQ(c.at("resumed"), true);
  EXPECT_EQ(str(c.at("session_id")), sid);
  EXPECT_EQ(str_list(c.at("file_ids")), strings{"f1"});
  EXPECT_FALSE(b.link->closed);
  // The old socket's close report reaches nobody who would end the session.
  drop(a, 4009, true);
  EXPECT_TRUE(closed_reasons(sid).empty());
  EXPECT_EQ(file_state("f1"), "active");
  EXPECT_EQ(session_state(sid), "open");
}

TEST_F(Resume, MessagesSentWhileResumingAreAnsweredAfterConnected) {
  auto a = dropped_session("alice", {"f1"});
  add_file("f2");
  auto b = spawn_with(start_for("alice", a.resume_token()), /*run_now=*/false);
  auto& link = b.link;
  // Arrives before the session is open: held, then handled in order.
  tell_json(b, R"({"type":"file_uploaded","file_id":"f2","ref":1})");
  run();
  ASSERT_EQ(link->frames.size(), 2u) << link->dump();
  EXPECT_EQ(str(link->frames[0].at("type")), "connected");
  EXPECT_EQ(link->frames[0].at("resumed"), true);
  EXPECT_EQ(str(link->frames[1].at("type")), "ack");
  EXPECT_EQ(tracked_rows(a.session_id()), (strings{"f1", "f2"}));
}

TEST_F(Resume, ACloseWhileOpeningIsADrop) {
  auto a = dropped_session("alice", {"f1"});
  auto b = spawn_with(start_for("alice", a.resume_token()), /*run_now=*/false);
  auto& link = b.link;
  link->tell_closed(1006, false);  // gone before `connected`
  run();
  EXPECT_EQ(link->count("connected"), 0u);
  EXPECT_EQ(session_state(a.session_id()), "detached");
  advance(2000ms);
  EXPECT_EQ(closed_reasons(a.session_id()), strings{"closed"});
  EXPECT_FALSE(blob_exists("f1"));
}

}  // namespace
}  // namespace tether::actor_testing
