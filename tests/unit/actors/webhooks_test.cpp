// Webhooks on the actor side (PROTOCOL.md §9): which member events rooms produce under the switch
// and allow policies (the same moments the others see user_joined/user_left, never for a tab that
// switches), a refused join, a session's end; and the sender: signed POSTs of committed events,
// retried with the same body after a failure, rows gone once delivered, nothing sent once stopped.
#include "fixture.hpp"

#include "actors/webhook_transport.hpp"
#include "actors/webhooks.hpp"
#include "proto/hmac.hpp"

namespace tether::actor_testing {
namespace {

// Records every POST; the test answers them (done) when it likes.
class fake_transport : public webhook_transport {
 public:
  struct call {
    std::string body, signature;
    std::function<void(std::string)> done;
  };
  void post(std::string body, std::string signature, std::function<void(std::string)> done) override {
    calls.push_back({std::move(body), std::move(signature), std::move(done)});
  }
  std::vector<call> calls;
};

class Webhooks : public actor_test {
 protected:
  Webhooks() {
    s.webhooks.url = "http://127.0.0.1:9/hook";
    s.webhooks.secret = "wh-secret";
    s.webhooks.retry_base_ms = 1;  // the first retry is due at once (jitter of half a ms rounds to 0)
    db->enable_webhooks(webhook_policy{3, 1, 1000, 1000});
  }
  void join(const test_session& ts, const std::string& room) {
    send_json(ts, R"({"type":"join_room","room_id":")" + room + "\"}");
  }
  void leave(const test_session& ts, const std::string& room) {
    send_json(ts, R"({"type":"leave_room","room_id":")" + room + "\"}");
  }
  // Committed events, oldest first, as "type" or "type:user:reason".
  std::vector<json::object> events() {
    std::vector<json::object> out;
    for (auto& e : reader_db->due_webhooks(unix_ms() + 86400000, 100000)) out.push_back(json::parse(e.body).as_object());
    return out;
  }
  strings kinds() {
    strings out;
    for (auto& e : events()) {
      std::string k = str(e.at("type"));
      if (e.contains("user_id")) k += ":" + str(e.at("user_id"));
      if (e.contains("reason") && k.rfind("member", 0) == 0) k += ":" + str(e.at("reason"));
      out.push_back(k);
    }
    return out;
  }
  strings member_kinds() {
    strings out;
    for (auto& k : kinds())
      if (k.rfind("session_closed", 0) != 0) out.push_back(k);
    return out;
  }
};

TEST_F(Webhooks, SwitchPolicyATabTakingThePlaceIsNoMemberChange) {
  auto a1 = open_session("alice"), b = open_session("bob");
  join(a1, "r1");
  join(b, "r1");
  auto a2 = open_session("alice");
  join(a2, "r1");
  ASSERT_EQ(a1.link->count("session_switched"), 1u);
  EXPECT_EQ(member_kinds(), (strings{"member_added:alice", "member_added:bob"}));
  leave(a2, "r1");
  leave(b, "r1");
  EXPECT_EQ(member_kinds(), (strings{"member_added:alice", "member_added:bob", "member_removed:alice:left",
                                     "member_removed:bob:left", "room_vacated"}));
}

TEST_F(Webhooks, AllowPolicyFirstSessionInLastSessionOut) {
  s.rooms.duplicate_policy = "allow";
  auto a1 = open_session("alice"), a2 = open_session("alice"), b = open_session("bob");
  join(b, "r1");
  join(a1, "r1");
  join(a2, "r1");
  EXPECT_EQ(member_kinds(), (strings{"member_added:bob", "member_added:alice"}));
  leave(a1, "r1");
  EXPECT_EQ(b.link->count("user_left"), 0u);
  EXPECT_EQ(member_kinds().size(), 2u);  // alice is still there
  send_json(a2, R"({"type":"before_disconnect"})");
  drop(a2, 1000);
  EXPECT_EQ(b.link->count("user_left"), 1u);
  EXPECT_EQ(member_kinds(), (strings{"member_added:bob", "member_added:alice", "member_removed:alice:left"}));
}

TEST_F(Webhooks, ARefusedJoinIsNoMember) {
  s.rooms.max_participants = 1;
  auto a = open_session("alice"), b = open_session("bob");
  join(a, "r1");
  join(b, "r1");
  ASSERT_EQ(str(b.link->last("error").at("code")), "room_full");
  EXPECT_EQ(member_kinds(), (strings{"member_added:alice"}));
}

TEST_F(Webhooks, ADropEndsWithItsReasonAfterTheWindow) {
  auto a = open_session("alice"), b = open_session("bob");
  join(a, "r1");
  join(b, "r1");
  drop(a);
  EXPECT_EQ(member_kinds().size(), 2u);  // inside the resume window: nothing yet
  advance(std::chrono::milliseconds(s.session.resume_window_ms + 100));
  EXPECT_EQ(str(b.link->last("user_left").at("reason")), "disconnected");
  auto e = events();
  ASSERT_EQ(kinds(), (strings{"member_added:alice", "member_added:bob", "member_removed:alice:disconnected",
                              "session_closed:alice"}));
  EXPECT_EQ(str(e[3].at("reason")), "closed");
  EXPECT_EQ(str(e[3].at("session_id")), a.session_id());
  EXPECT_EQ(str(e[2].at("session_id")), a.session_id());
}

TEST_F(Webhooks, NothingIsRecordedWithWebhooksOff) {
  s.webhooks.url.clear();
  reader_db.reset();
  db = std::make_shared<database>(dir_ + "/t.db");  // a connection without enable_webhooks
  reader_db = std::make_shared<database>(dir_ + "/t.db", database::read_only);
  auto a = open_session("alice");
  join(a, "r1");
  leave(a, "r1");
  send_json(a, R"({"type":"before_disconnect"})");
  drop(a, 1000);
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM webhook_outbox"), 0);
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM webhook_members"), 0);
}

class Sender : public Webhooks {
 protected:
  webhook_sender_actor spawn_sender() {
    auto sender = spawn_webhook_sender(*sys, deps().storage, deps().reader, transport,
                                       webhook_sender_config{s.webhooks.secret, 2});
    caf::anon_send(deps().storage, webhooks_atom::value, caf::actor_cast<caf::actor>(sender));
    to_kill.push_back(caf::actor_cast<caf::actor>(sender));
    run();
    return sender;
  }
  void answer(std::size_t i, const std::string& error) {
    transport->calls.at(i).done(error);
    run();
  }
  std::shared_ptr<fake_transport> transport = std::make_shared<fake_transport>();
};

TEST_F(Sender, PostsSignedCommittedEventsAndForgetsDeliveredOnes) {
  auto sender = spawn_sender();
  auto a = open_session("alice");
  join(a, "r1");  // the commit wakes the sender
  ASSERT_EQ(transport->calls.size(), 1u);
  auto& c = transport->calls[0];
  EXPECT_EQ(c.signature, "sha256=" + hmac_sha256_hex("wh-secret", c.body));
  EXPECT_EQ(str(json::parse(c.body).at("type")), "member_added");
  answer(0, "");
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM webhook_outbox"), 0);
}

TEST_F(Sender, AFailureIsRetriedWithTheSameBody) {
  auto sender = spawn_sender();
  auto a = open_session("alice");
  join(a, "r1");
  ASSERT_EQ(transport->calls.size(), 1u);
  answer(0, "HTTP 500");
  advance(10ms);
  ASSERT_EQ(transport->calls.size(), 2u);
  EXPECT_EQ(transport->calls[1].body, transport->calls[0].body);
  EXPECT_EQ(raw().integer("SELECT attempts FROM webhook_outbox"), 1);
  answer(1, "");
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM webhook_outbox"), 0);
}

TEST_F(Sender, AtMostMaxInFlightAtOnceAndPendingRowsGoAtStart) {
  // Three events committed before any sender runs (as after a restart).
  auto a = open_session("alice"), b = open_session("bob"), c = open_session("carol");
  join(a, "r1");
  join(b, "r1");
  join(c, "r1");
  auto sender = spawn_sender();
  caf::anon_send(sender, wake_atom::value);
  run();
  ASSERT_EQ(transport->calls.size(), 2u);  // max_in_flight
  answer(0, "");
  EXPECT_EQ(transport->calls.size(), 2u);  // a round ends when all of it is answered
  answer(1, "");
  ASSERT_EQ(transport->calls.size(), 3u);
  answer(2, "");
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM webhook_outbox"), 0);
}

TEST_F(Sender, AStoppedSenderKeepsTheRows) {
  auto sender = spawn_sender();
  auto a = open_session("alice");
  join(a, "r1");
  ASSERT_EQ(transport->calls.size(), 1u);
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
  run();
  transport->calls[0].done("");  // the answer comes after the stop: nobody records it
  run();
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM webhook_outbox"), 1);
}

}  // namespace
}  // namespace tether::actor_testing
