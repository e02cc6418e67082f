// One session identity from open to end (docs/architecture.md, "Resume"): a resume re-binds the
// session's own actor to the new connection. Whoever holds or monitors the session never sees it
// change; an asker that goes away before attaching leaves the session and its token as they were;
// what the connection reads during the hand-over reaches the session in order; what the replaced
// connection still says is ignored.
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Rebind : public actor_test {
 protected:
  // An asker spawned but not run yet: the test may queue things for it first.
  test_session spawn_asker(const std::string& user, const std::string& token) {
    return spawn_with(start_for(user, token), /*run_now=*/false);
  }

  // Records the exit reasons of the actors it monitors.
  struct watcher {
    caf::actor actor;
    std::shared_ptr<std::vector<caf::actor_addr>> downs;
    bool saw_down(const caf::actor_addr& a) const {
      return std::find(downs->begin(), downs->end(), a) != downs->end();
    }
  };
  watcher watch(const session_actor& who) {
    auto downs = std::make_shared<std::vector<caf::actor_addr>>();
    auto target = caf::actor_cast<caf::actor>(who);
    auto w = sys->spawn([downs, target](caf::event_based_actor* self) -> caf::behavior {
      self->monitor(target);
      self->set_down_handler([downs](caf::down_msg& m) { downs->push_back(m.source); });
      return {[](int) {}};
    });
    to_kill.push_back(w);
    run();
    return watcher{w, downs};
  }

  void run_until(const std::function<bool()>& done) {
    for (int i = 0; i < 10000 && !done() && sched->has_job(); ++i) sched->run_once();
    ASSERT_TRUE(done()) << "the awaited state was never reached";
  }
};

TEST_F(Rebind, OneActorCarriesTheSessionFromOpenToEnd) {
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto w = watch(a.actor);
  auto b = open_session("alice", a.resume_token());
  ASSERT_EQ(b.connected().at("resumed"), true);
  EXPECT_EQ(b.session_id(), sid);
  // The new connection now talks to the session's own actor; the asker is gone; nobody saw the
  // session's actor go down.
  EXPECT_EQ(b.link->target, a.actor);
  EXPECT_EQ(b.link->rebinds, 1);
  EXPECT_FALSE(w.saw_down(a.actor.address()));
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 1);
  // A second drop and resume: still the same actor.
  auto token2 = b.resume_token();
  drop(b);
  auto c = open_session("alice", token2);
  ASSERT_EQ(c.connected().at("resumed"), true);
  EXPECT_EQ(c.link->target, a.actor);
  EXPECT_FALSE(w.saw_down(a.actor.address()));
  // Its end is the session's end: the monitor fires once, the files go.
  send_json(c, R"({"type":"before_disconnect"})");
  drop(c, 1000);
  EXPECT_TRUE(w.saw_down(a.actor.address()));
  EXPECT_EQ(closed_reasons(sid), strings{"left"});
  EXPECT_FALSE(blob_exists("f1"));
}

TEST_F(Rebind, AnAskerWhoseConnectionClosesFirstLeavesTheTokenWorking) {
  // The asker's connection closes before it could attach (the defect: the old design had already
  // taken the session apart; this one has not touched it).
  s.session.resume_window_ms = 600000;
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto b = spawn_asker("alice", a.resume_token());
  b.link->tell_closed(1006, false);
  run();
  EXPECT_EQ(b.link->count("connected"), 0u);
  EXPECT_EQ(b.link->rebinds, 0);
  EXPECT_EQ(session_state(sid), "detached");
  EXPECT_TRUE(closed_reasons(sid).empty());
  auto c = open_session("alice", a.resume_token());
  EXPECT_EQ(c.connected().at("resumed"), true);
  EXPECT_EQ(c.session_id(), sid);
  EXPECT_EQ(str_list(c.connected().at("file_ids")), strings{"f1"});
}

TEST_F(Rebind, AnAskerEndedByBadFramesLeavesTheSessionAlone) {
  s.session.resume_window_ms = 600000;
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto b = spawn_asker("alice", a.resume_token());
  for (int i = 0; i < 20; ++i) {  // §1: the 20th bad frame in a row closes (1008)
    codec::decode_error e;
    e.message = "bad frame";
    b.link->tell_error(e);
  }
  run();
  EXPECT_TRUE(b.link->closed);
  EXPECT_EQ(b.link->close_code, 1008);
  EXPECT_EQ(b.link->count("connected"), 0u);
  EXPECT_EQ(session_state(sid), "detached");
  EXPECT_TRUE(closed_reasons(sid).empty());
  EXPECT_EQ(file_state("f1"), "active");
  auto c = open_session("alice", a.resume_token());
  EXPECT_EQ(c.connected().at("resumed"), true);
}

TEST_F(Rebind, WhatIsReadDuringTheHandOverReachesTheSessionInOrder) {
  auto a = dropped_session("alice", {"f1"});
  add_file("f2");
  add_file("f3");
  auto b = spawn_asker("alice", a.resume_token());
  // Read before the hold: the asker keeps it and hands it over with the link.
  tell_json(b, R"({"type":"file_uploaded","file_id":"f2","ref":1})");
  run_until([&] { return b.link->holding; });
  // Read while on hold: the link keeps it until it is rebound to the session.
  tell_json(b, R"({"type":"file_uploaded","file_id":"f3","ref":2})");
  tell_json(b, R"({"type":"ping","ref":3})");
  run();
  ASSERT_GE(b.link->frames.size(), 4u) << b.link->dump();
  EXPECT_EQ(str(b.link->frames[0].at("type")), "connected");
  EXPECT_EQ(b.link->frames[0].at("resumed"), true);
  EXPECT_EQ(b.link->count("ack"), 2u) << b.link->dump();
  EXPECT_EQ(b.link->count("pong"), 1u);
  EXPECT_EQ(tracked_rows(a.session_id()), (strings{"f1", "f2", "f3"}));
  EXPECT_FALSE(b.link->holding);
}

TEST_F(Rebind, TheReplacedConnectionIsNoLongerHeard) {
  add_file("f2");
  auto a = open_session("alice");
  auto sid = a.session_id();
  auto b = open_session("alice", a.resume_token());
  ASSERT_EQ(a.link->close_code, 4009);
  ASSERT_EQ(b.session_id(), sid);
  auto frames_a = a.link->frames.size(), frames_b = b.link->frames.size();
  // Still in flight from the old socket: a message, activity, its close report.
  send_json(a, R"({"type":"file_uploaded","file_id":"f2","ref":"late"})");
  pong(a);
  drop(a, 4009, true);
  EXPECT_EQ(a.link->frames.size(), frames_a);
  EXPECT_EQ(b.link->frames.size(), frames_b) << b.link->dump();
  EXPECT_TRUE(tracked_rows(sid).empty());
  EXPECT_EQ(session_state(sid), "open");
  // The new one is heard.
  send_json(b, R"({"type":"file_uploaded","file_id":"f2","ref":"new"})");
  EXPECT_EQ(str(b.link->last("ack").at("ref")), "new");
}

TEST_F(Rebind, TwoResumesWithOneTokenGiveOneSession) {
  auto a = dropped_session("alice", {"f1"});
  auto sid = a.session_id();
  auto b = spawn_asker("alice", a.resume_token());
  auto c = spawn_asker("alice", a.resume_token());
  run();
  ASSERT_EQ(b.link->count("connected"), 1u) << b.link->dump();
  ASSERT_EQ(c.link->count("connected"), 1u) << c.link->dump();
  bool b_resumed = b.connected().at("resumed") == true, c_resumed = c.connected().at("resumed") == true;
  EXPECT_NE(b_resumed, c_resumed) << "exactly one resume wins";
  auto& winner = b_resumed ? b : c;
  auto& loser = b_resumed ? c : b;
  EXPECT_EQ(winner.session_id(), sid);
  EXPECT_NE(loser.session_id(), sid);
  EXPECT_FALSE(loser.connected().contains("file_ids"));
  EXPECT_EQ(loser.link->target, loser.actor) << "the loser's link was given back to it";
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 2);
}

}  // namespace
}  // namespace tether::actor_testing
