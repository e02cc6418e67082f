// Session actor: opening, authentication by message, bad frames, graceful leave and closes by
// the server (PROTOCOL.md §1, §3, §4, §11 "Endpoints and auth", "Session life").
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Opening

class Session : public actor_test {};

TEST_F(Session, OpenSendsConnectedAndAuditsSessionOpened) {
  auto a = open_session("alice");
  auto c = a.connected();
  EXPECT_EQ(a.link->frames.size(), 1u) << a.link->dump();
  ASSERT_TRUE(c.contains("session_id"));
  auto sid = str(c.at("session_id"));
  EXPECT_EQ(sid.rfind("s_", 0), 0u) << sid;
  EXPECT_EQ(str(c.at("user_id")), "alice");
  ASSERT_TRUE(c.contains("resume_token"));
  EXPECT_GE(str(c.at("resume_token")).size(), 16u);
  EXPECT_EQ(c.at("heartbeat_ms").as_int64(), 1000);
  EXPECT_EQ(c.at("resumed"), false);
  EXPECT_FALSE(c.contains("file_ids"));
  EXPECT_FALSE(c.contains("ref"));
  EXPECT_FALSE(a.link->closed);

  auto opened = audit_of("session_opened", sid);
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].user_id, "alice");
  EXPECT_EQ(session_state(sid), "open");
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 1);
}

TEST_F(Session, EverySessionGetsItsOwnIdAndToken) {
  auto a = open_session("alice");
  auto b = open_session("alice");
  EXPECT_NE(a.session_id(), b.session_id());
  EXPECT_NE(a.resume_token(), b.resume_token());
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 2);
}

TEST_F(Session, PingGetsPongWithRefAndServerTime) {
  auto a = open_session();
  send_json(a, R"({"type":"ping","ref":"p1"})");
  auto p = a.link->last("pong");
  EXPECT_EQ(str(p.at("ref")), "p1");
  auto t = str(p.at("server_time"));
  EXPECT_EQ(t.size(), 24u) << t;  // 2026-01-01T12:00:00.000Z
  EXPECT_EQ(t.back(), 'Z');
}

TEST_F(Session, SecondConnectIsAConflict) {
  auto a = open_session();
  send_json(a, R"({"type":"connect","token":")" + token_for("alice") + R"(","ref":3})");
  auto e = a.link->last("error");
  EXPECT_EQ(str(e.at("code")), "conflict");
  EXPECT_EQ(e.at("ref").as_int64(), 3);
  EXPECT_EQ(a.link->count("connected"), 1u);
  EXPECT_FALSE(a.link->closed);
}

// ---------------------------------------------------------------------------------------------
// Authentication by message (§3, §11)

class Unauthenticated : public actor_test {};

TEST_F(Unauthenticated, OnlyConnectRegisterAndPingAreAccepted) {
  auto u = open_unauthenticated();
  add_file("f1");
  send_json(u, R"({"type":"file_uploaded","file_id":"f1","ref":7})");
  send_json(u, R"({"type":"post_submitted","ref":"x"})");
  send_json(u, R"({"type":"before_disconnect"})");
  send_json(u, R"({"type":"ping","ref":8})");
  auto errors = u.link->of_type("error");
  ASSERT_EQ(errors.size(), 3u) << u.link->dump();
  for (auto& e : errors) EXPECT_EQ(str(e.at("code")), "unauthorized");
  EXPECT_EQ(errors[0].at("ref").as_int64(), 7);
  EXPECT_EQ(str(errors[1].at("ref")), "x");
  EXPECT_EQ(u.link->last("pong").at("ref").as_int64(), 8);
  EXPECT_EQ(u.link->count("connected"), 0u);
  EXPECT_FALSE(u.link->closed);
  EXPECT_TRUE(audit_of("session_opened").empty());
  EXPECT_TRUE(audit_of("file_tracked").empty());
}

TEST_F(Unauthenticated, RegisterWithoutTokenIsUnauthorized) {
  auto u = open_unauthenticated();
  add_file("f1");
  send_json(u, R"({"type":"register","file_ids":["f1"],"ref":1})");
  EXPECT_EQ(str(u.link->last("error").at("code")), "unauthorized");
  EXPECT_EQ(u.link->count("registered"), 0u);
  EXPECT_TRUE(audit_of("file_tracked").empty());
}

TEST_F(Unauthenticated, BadTokenIsRefusedAndTheClientMayRetry) {
  auto u = open_unauthenticated();
  send_json(u, R"({"type":"connect","token":"not.a.jwt","ref":"a"})");
  send_json(u, R"({"type":"connect","token":")" + token_for("alice", 3600, "other-secret") + R"(","ref":"b"})");
  send_json(u, R"({"type":"connect","token":")" + token_for("alice", -60) + R"(","ref":"c"})");
  auto errors = u.link->of_type("error");
  ASSERT_EQ(errors.size(), 3u) << u.link->dump();
  const char* refs[] = {"a", "b", "c"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(str(errors[i].at("code")), "unauthorized");
    EXPECT_EQ(str(errors[i].at("ref")), refs[i]);
  }
  EXPECT_FALSE(u.link->closed);
  EXPECT_EQ(u.link->count("connected"), 0u);

  send_json(u, R"({"type":"connect","token":")" + token_for("alice") + R"(","ref":"d"})");
  auto c = u.link->last("connected");
  EXPECT_EQ(str(c.at("ref")), "d");
  EXPECT_EQ(str(c.at("user_id")), "alice");
  EXPECT_EQ(c.at("resumed"), false);
  EXPECT_EQ(session_state(str(c.at("session_id"))), "open");
}

TEST_F(Unauthenticated, ConnectUserIdMustMatchTheToken) {
  auto u = open_unauthenticated();
  send_json(u, R"({"type":"connect","token":")" + token_for("alice") + R"(","user_id":"bob","ref":1})");
  EXPECT_EQ(str(u.link->last("error").at("code")), "forbidden");
  EXPECT_EQ(u.link->count("connected"), 0u);
  send_json(u, R"({"type":"connect","token":")" + token_for("alice") + R"(","user_id":"alice","ref":2})");
  EXPECT_EQ(u.link->last("connected").at("ref").as_int64(), 2);
}

TEST_F(Unauthenticated, RegisterWithTokenOpensTheSessionAndIsAnswered) {
  add_file("f1");
  auto u = open_unauthenticated();
  send_json(u, R"({"type":"register","token":")" + token_for("alice") + R"(","file_ids":["f1"],"ref":5})");
  ASSERT_EQ(u.link->frames.size(), 2u) << u.link->dump();
  EXPECT_EQ(str(u.link->frames[0].at("type")), "connected");
  EXPECT_FALSE(u.link->frames[0].contains("ref"));  // the ref belongs to the register
  auto r = u.link->frames[1];
  EXPECT_EQ(str(r.at("type")), "registered");
  EXPECT_EQ(r.at("ref").as_int64(), 5);
  EXPECT_EQ(str_list(r.at("file_ids")), strings{"f1"});
  auto sid = str(u.link->frames[0].at("session_id"));
  EXPECT_EQ(tracked_rows(sid), strings{"f1"});
}

TEST_F(Unauthenticated, AuthTimeoutCloses4001) {
  auto u = open_unauthenticated();
  send_json(u, R"({"type":"ping"})");  // a ping does not authenticate nor extend the deadline
  advance(2990ms);
  EXPECT_FALSE(u.link->closed);
  advance(10ms);
  EXPECT_TRUE(closed_with(u, 4001));
  EXPECT_TRUE(audit_of("session_opened").empty());
  EXPECT_TRUE(audit_of("session_closed").empty());
}

TEST_F(Unauthenticated, NoTimeoutOnceAuthenticated) {
  auto u = open_unauthenticated();
  send_json(u, R"({"type":"connect","token":")" + token_for("alice") + R"("})");
  ASSERT_EQ(u.link->count("connected"), 1u);
  for (int i = 0; i < 5; ++i) {  // keep the heartbeat happy past auth.timeout_ms
    advance(1000ms);
    pong(u);
  }
  EXPECT_FALSE(u.link->closed) << u.link->close_code;
}

// ---------------------------------------------------------------------------------------------
// 20 bad frames in a row (§1, §11)

class BadFrames : public actor_test {};

TEST_F(BadFrames, TheTwentiethGetsItsErrorThenClose1008) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  for (int i = 0; i < 19; ++i) send_bad_frame(a);
  EXPECT_EQ(a.link->count("error"), 19u);
  EXPECT_FALSE(a.link->closed);
  send_bad_frame(a);
  EXPECT_EQ(a.link->count("error"), 20u);
  EXPECT_EQ(str(a.link->last("error").at("code")), "bad_json");
  // The error is queued before the close.
  EXPECT_EQ(str(a.link->frames.back().at("type")), "error");
  EXPECT_TRUE(closed_with(a, 1008));
  // A close by the server: no resume window.
  EXPECT_EQ(closed_reasons(sid), strings{"closed"});
  EXPECT_TRUE(deleted("f1"));
}

// Refusals that are not about the frame (forbidden) do not count toward the 20 (§11).
TEST_F(BadFrames, ForbiddenChannelMessagesDoNotCount) {
  auto a = open_session();
  for (int i = 0; i < 25; ++i) send_json(a, R"({"type":"history","chat_id":"dm:bob:carol","ref":"h"})");
  EXPECT_EQ(a.link->count("error"), 25u);
  EXPECT_EQ(str(a.link->last("error").at("code")), "forbidden");
  EXPECT_EQ(str(a.link->last("error").at("ref")), "h");
  EXPECT_FALSE(a.link->closed);
}

TEST_F(BadFrames, AValidMessageResetsTheCount) {
  auto a = open_session();
  for (int i = 0; i < 19; ++i) send_bad_frame(a, i % 2 ? codec::err::unknown_type : codec::err::invalid_field);
  send_json(a, R"({"type":"ping"})");
  for (int i = 0; i < 19; ++i) send_bad_frame(a);
  EXPECT_FALSE(a.link->closed);
  EXPECT_EQ(a.link->count("error"), 38u);
  send_bad_frame(a, codec::err::unsupported_frame);
  EXPECT_TRUE(closed_with(a, 1008));
}

TEST_F(BadFrames, ErrorsThatAreNotBadFramesDoNotCount) {
  auto a = open_session();
  for (int i = 0; i < 25; ++i) send_bad_frame(a, codec::err::rate_limited);
  EXPECT_EQ(a.link->count("error"), 25u);
  EXPECT_FALSE(a.link->closed);
}

TEST_F(BadFrames, DecodedJsonErrorsCountToo) {
  auto a = open_session();
  for (int i = 0; i < 19; ++i) send_json(a, "{not json");
  EXPECT_FALSE(a.link->closed);
  send_json(a, R"({"type":"no_such_type","ref":1})");
  EXPECT_EQ(str(a.link->last("error").at("code")), "unknown_type");
  EXPECT_EQ(a.link->last("error").at("ref").as_int64(), 1);
  EXPECT_TRUE(closed_with(a, 1008));
}

// ---------------------------------------------------------------------------------------------
// Graceful leave and server closes: no resume window (§11 "Session life")

class Ending : public actor_test {};

TEST_F(Ending, BeforeDisconnectThenCloseEndsAtOnceWithLeft) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  send_json(a, R"({"type":"before_disconnect","ref":"bye"})");
  auto ack = a.link->last("ack");
  EXPECT_EQ(str(ack.at("for")), "before_disconnect");
  EXPECT_EQ(str(ack.at("ref")), "bye");
  EXPECT_TRUE(closed_reasons(sid).empty());  // ends when the socket closes
  drop(a, 1000, false);
  EXPECT_EQ(closed_reasons(sid), strings{"left"});
  EXPECT_EQ(session_state(sid), "ended");
  EXPECT_TRUE(deleted("f1"));
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 0);
  // Its token is gone with it.
  auto b = open_session("alice", a.resume_token());
  EXPECT_EQ(b.connected().at("resumed"), false);
  EXPECT_NE(b.session_id(), sid);
}

TEST_F(Ending, CloseByTheServerHasNoWindow) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  drop(a, 1009, /*by_server=*/true);
  EXPECT_EQ(closed_reasons(sid), strings{"closed"});
  EXPECT_EQ(session_state(sid), "ended");
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Ending, FileDeletionIsAudited) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  drop(a, 1008, true);
  strings events;
  for (auto& r : audit(sid)) events.push_back(r.event);
  EXPECT_EQ(events, (strings{"session_opened", "file_tracked", "deletion_queued", "session_closed", "file_deleted"}));
  auto queued = audit_of("deletion_queued", sid);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].file_id, "f1");
  EXPECT_EQ(queued[0].reason, "closed");
  auto closed = audit_of("session_closed", sid);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].details, R"({"files_queued":1})");
}

}  // namespace
}  // namespace tether::actor_testing
