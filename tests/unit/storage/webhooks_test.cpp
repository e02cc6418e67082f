// The webhook outbox in storage/database (PROTOCOL.md §9): events written in the transaction of
// their cause, membership events that pair up whatever the duplicate policy or a crash does,
// due rows, backoff, delivered/failed, and the bound.
#include "storage/database.hpp"
#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::storage_testing {
namespace {

using strings = std::vector<std::string>;

class Webhooks : public database_test {
 protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure()) return;
    db().enable_webhooks(policy);
  }
  void reopen_enabled() {
    reopen();
    db().enable_webhooks(policy);
  }

  // Every pending event body, oldest first, parsed.
  std::vector<boost::json::object> events() {
    std::vector<boost::json::object> out;
    for (auto& e : db().due_webhooks(T0 + 1000000000, 1000000)) out.push_back(boost::json::parse(e.body).as_object());
    return out;
  }
  strings types() {
    strings out;
    for (auto& e : events()) out.push_back(std::string(e.at("type").as_string()));
    return out;
  }
  std::int64_t rows() {
    raw_sqlite raw(db_path());
    return raw.integer("SELECT COUNT(*) FROM webhook_outbox");
  }
  void join(const std::string& sid, const std::string& room, std::int64_t now = T0) {
    db().place(sid, room, sid + "-name", now);
    db().announce_member(sid, room, now);
  }

  webhook_policy policy{3, 100, 1000, 1000};
};

TEST_F(Webhooks, NothingIsWrittenWhenOff) {
  reopen();  // not enabled
  db().open_session("s1", "alice", "r1", T0);
  db().place("s1", "lobby", "Alice", T0);
  db().announce_member("s1", "lobby", T0);
  db().unplace("s1", "lobby", T0);
  db().end_session("s1", "closed", T0);
  EXPECT_EQ(rows(), 0);
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM webhook_members"), 0);
}

TEST_F(Webhooks, JoinLeaveEndMakeTheirEvents) {
  db().open_session("s1", "alice", "r1", T0);
  join("s1", "lobby");
  db().unplace("s1", "lobby", T0 + 1);
  db().end_session("s1", "idle", T0 + 2);
  EXPECT_EQ(types(), (strings{"member_added", "member_removed", "room_vacated", "session_closed"}));
  auto e = events();
  EXPECT_EQ(e[0].at("room_id"), "lobby");
  EXPECT_EQ(e[0].at("user_id"), "alice");
  EXPECT_EQ(e[0].at("session_id"), "s1");
  EXPECT_EQ(e[0].at("display_name"), "s1-name");
  EXPECT_EQ(e[0].at("at"), "2026-01-01T12:00:00.000Z");
  EXPECT_EQ(e[1].at("reason"), "left");
  EXPECT_EQ(e[2].at("room_id"), "lobby");
  EXPECT_EQ(e[3].at("session_id"), "s1");
  EXPECT_EQ(e[3].at("user_id"), "alice");
  EXPECT_EQ(e[3].at("reason"), "idle");
  // Ids: unique, random (not the seq); seq increases.
  EXPECT_EQ(std::string(e[0].at("id").as_string()).rfind("wh_", 0), 0u);
  EXPECT_NE(e[0].at("id"), e[1].at("id"));
  EXPECT_LT(e[0].at("seq").as_int64(), e[1].at("seq").as_int64());
}

TEST_F(Webhooks, EndLeavesRoomsWithTheUserLeftReason) {
  db().open_session("s1", "alice", "r1", T0);
  db().open_session("s2", "bob", "r2", T0);
  join("s1", "lobby");
  join("s2", "lobby");
  db().end_session("s1", "crash", T0 + 1);
  EXPECT_EQ(types(), (strings{"member_added", "member_added", "member_removed", "session_closed"}));
  EXPECT_EQ(events()[2].at("reason"), "disconnected");  // what the room's members see in user_left
  EXPECT_EQ(events()[3].at("reason"), "crash");          // session_closed keeps the precise reason
}

TEST_F(Webhooks, ASwitchedTabIsNoMemberChange) {
  db().open_session("tab1", "alice", "r1", T0);
  db().open_session("tab2", "alice", "r2", T0);
  join("tab1", "lobby");
  // tab2 joins, the room switches tab1 out; the announce and the unplace may come in either order.
  db().place("tab2", "lobby", "Alice", T0 + 1);
  db().unplace("tab1", "lobby", T0 + 2);
  db().announce_member("tab2", "lobby", T0 + 3);
  EXPECT_EQ(types(), (strings{"member_added"}));
  db().unplace("tab2", "lobby", T0 + 4);
  EXPECT_EQ(types(), (strings{"member_added", "member_removed", "room_vacated"}));
}

TEST_F(Webhooks, AllowPolicyFirstInLastOut) {
  db().open_session("tab1", "alice", "r1", T0);
  db().open_session("tab2", "alice", "r2", T0);
  join("tab1", "lobby");
  join("tab2", "lobby");
  db().end_session("tab1", "closed", T0 + 1);
  EXPECT_EQ(types(), (strings{"member_added", "session_closed"}));
  db().unplace("tab2", "lobby", T0 + 2);
  EXPECT_EQ(types(), (strings{"member_added", "session_closed", "member_removed", "room_vacated"}));
  EXPECT_EQ(events()[2].at("session_id"), "tab2");
}

TEST_F(Webhooks, ARefusedJoinIsNeverAMember) {
  db().open_session("s1", "alice", "r1", T0);
  db().place("s1", "full", "Alice", T0);  // placed, then room_full: never announced
  db().unplace("s1", "full", T0 + 1);
  db().announce_member("s1", "full", T0 + 2);  // late, the place is gone: nothing
  db().end_session("s1", "closed", T0 + 3);
  EXPECT_EQ(types(), (strings{"session_closed"}));
}

TEST_F(Webhooks, ACrashKeepsMembersOfRestoredSessionsAndRemovesTheOthers) {
  db().open_session("s1", "alice", "r1", T0);
  db().open_session("s2", "bob", "r2", T0);
  join("s1", "lobby");
  join("s2", "lobby");
  reopen_enabled();  // kill -9
  // Recovery with a window: both wait; their re-joins announce again, which changes nothing.
  auto rec = db().recover(T0 + 10, recovery_windows{5000, 5000});
  ASSERT_EQ(rec.size(), 2u);
  db().announce_member("s1", "lobby", T0 + 11);
  EXPECT_EQ(types(), (strings{"member_added", "member_added"}));
  // The windows pass: each ends with crash, leaving its room.
  db().end_session("s1", "crash", T0 + 6000);
  db().end_session("s2", "crash", T0 + 6000);
  EXPECT_EQ(types(), (strings{"member_added", "member_added", "member_removed", "session_closed", "member_removed",
                              "room_vacated", "session_closed"}));
}

TEST_F(Webhooks, RecoveryWithoutAWindowEndsAndRemovesInItsTransaction) {
  db().open_session("s1", "alice", "r1", T0);
  join("s1", "lobby");
  reopen_enabled();
  EXPECT_TRUE(db().recover(T0 + 10, recovery_windows{0, 0}).empty());
  EXPECT_EQ(types(), (strings{"member_added", "member_removed", "room_vacated", "session_closed"}));
}

TEST_F(Webhooks, RecoverySettlesMembersWithoutAPlace) {
  db().open_session("s1", "alice", "r1", T0);
  join("s1", "lobby");
  // Webhooks were off for a run in which s1 ended: its member row stayed behind.
  reopen();
  db().end_session("s1", "closed", T0 + 1);
  reopen_enabled();
  db().recover(T0 + 2);
  EXPECT_EQ(types(), (strings{"member_added", "member_removed", "room_vacated"}));
  EXPECT_EQ(events()[1].at("reason"), "disconnected");
}

TEST_F(Webhooks, ADeletedGuestLeavesItsRoomsAsInactive) {
  ASSERT_TRUE(db().create_guest("g_1", "Ada", T0));
  db().open_session("s1", "g_1", "r1", T0);
  db().open_session("s2", "g_1", "r2", T0);
  db().open_session("s3", "bob", "r3", T0);
  join("s1", "lobby");
  join("s2", "lobby");  // allow policy: a second place of the same member
  join("s3", "lobby");
  join("s1", "den", T0 + 1);
  EXPECT_EQ(db().delete_inactive_guests(T0 + 1, 10, T0 + 2), strings{"g_1"});
  EXPECT_EQ(types(), (strings{"member_added", "member_added", "member_added", "member_removed", "member_removed",
                              "room_vacated"}));
  auto e = events();
  EXPECT_EQ(e[3].at("room_id"), "lobby");
  EXPECT_EQ(e[3].at("reason"), "inactive");
  EXPECT_EQ(e[4].at("room_id"), "den");
  EXPECT_EQ(e[5].at("room_id"), "den");
  // Its sessions then end (the places are gone already): only session_closed each.
  db().end_session("s1", "inactive", T0 + 3);
  EXPECT_EQ(types().back(), "session_closed");
  EXPECT_EQ(types().size(), 7u);
}

TEST_F(Webhooks, FilesDeletedPerSession) {
  add_file("a", "alice");
  add_file("b", "alice");
  db().open_session("s1", "alice", "r1", T0);
  db().track("s1", "alice", {"a", "b"}, "", T0);
  db().end_session("s1", "closed", T0 + 1);
  std::vector<std::string> done;
  for (const auto& f : {"a", "b", "a"})
    if (db().deletion_done(f, T0 + 2)) done.push_back(f);  // reported twice: recorded once
  db().files_deleted(done, T0 + 2);
  ASSERT_EQ(types(), (strings{"session_closed", "files_deleted"}));
  auto e = events()[1];
  EXPECT_EQ(e.at("session_id"), "s1");
  EXPECT_EQ(e.at("user_id"), "alice");
  EXPECT_EQ(e.at("file_ids"), (boost::json::array{"a", "b"}));
}

TEST_F(Webhooks, RolledBackCauseTakesItsEventWithIt) {
  db().open_session("s1", "alice", "r1", T0);
  db().begin();
  db().end_session("s1", "closed", T0 + 1);
  db().rollback();
  EXPECT_EQ(rows(), 0);
}

TEST_F(Webhooks, DueBackoffDeliveredFailed) {
  db().open_session("s1", "alice", "r1", T0);
  db().end_session("s1", "closed", T0);
  auto due = db().due_webhooks(T0, 10);
  ASSERT_EQ(due.size(), 1u);
  const auto seq = due[0].seq;
  const auto body = due[0].body;
  EXPECT_EQ(db().next_webhook_at(), T0);

  // Attempt 1 fails: retried after base (100) with jitter: in [50, 100].
  EXPECT_TRUE(db().webhook_failed(seq, "HTTP 500", T0));
  EXPECT_TRUE(db().due_webhooks(T0 + 49, 10).empty());
  auto next = db().next_webhook_at();
  ASSERT_TRUE(next);
  EXPECT_GE(*next, T0 + 50);
  EXPECT_LE(*next, T0 + 100);
  // Attempt 2: base*2 with jitter: [100, 200]. The body (and so its id) never changes.
  EXPECT_TRUE(db().webhook_failed(seq, "timeout", T0 + 100));
  EXPECT_GE(*db().next_webhook_at(), T0 + 200);
  EXPECT_LE(*db().next_webhook_at(), T0 + 300);
  auto again = db().due_webhooks(T0 + 300, 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body, body);
  EXPECT_EQ(again[0].attempts, 2);
  // Attempt 3 = max_attempts: failed, kept, no longer due.
  EXPECT_FALSE(db().webhook_failed(seq, "timeout", T0 + 300));
  EXPECT_FALSE(db().next_webhook_at());
  EXPECT_EQ(db().webhook_counts().failed, 1);
  EXPECT_EQ(db().webhook_counts().pending, 0);

  db().open_session("s2", "alice", "r2", T0);
  db().end_session("s2", "closed", T0);
  auto fresh = db().due_webhooks(T0, 10);
  ASSERT_EQ(fresh.size(), 1u);
  db().webhook_delivered(fresh[0].seq);
  EXPECT_EQ(rows(), 1);  // delivered rows are deleted; the failed one stays
  EXPECT_FALSE(db().webhook_failed(fresh[0].seq, "late", T0));  // a stale report changes nothing
}

TEST_F(Webhooks, TheOutboxIsBoundedOldestDropped) {
  policy.max_pending = 5;
  reopen_enabled();
  for (int i = 0; i < 12; ++i) {
    const auto sid = "s" + std::to_string(i);
    db().open_session(sid, "alice", "r" + sid, T0);
    db().end_session(sid, "closed", T0 + i);
  }
  EXPECT_EQ(rows(), 5);
  auto e = events();
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e.front().at("session_id"), "s7");
  EXPECT_EQ(e.back().at("session_id"), "s11");
}

TEST_F(Webhooks, PendingEventsSurviveAReopen) {
  db().open_session("s1", "alice", "r1", T0);
  db().end_session("s1", "closed", T0);
  auto before = db().due_webhooks(T0, 10);
  reopen_enabled();
  auto after = db().due_webhooks(T0, 10);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].body, before[0].body);
}

}  // namespace
}  // namespace tether::storage_testing
