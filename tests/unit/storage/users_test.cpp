// Unit tests for users and guests in storage/database (PROTOCOL.md §6 "Guests", §11: "A guest is
// inactive after users.guest_inactive_ms without application messages, connected or not: it is
// deleted, ... and its token is refused from then on").
#include "storage/database.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::storage_testing {
namespace {

using strings = std::vector<std::string>;
constexpr std::int64_t minute = 60000;

class Users : public database_test {
 protected:
  std::int64_t count(const std::string& sql) { return raw_sqlite(db_path()).integer(sql); }
};

TEST_F(Users, AGuestIsCreatedOnceAndAudited) {
  EXPECT_TRUE(db().create_guest("g_1", "Ada", T0));
  EXPECT_FALSE(db().create_guest("g_1", "Someone else", T0));  // the id is taken
  EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE user_id='g_1' AND guest=1 AND display_name='Ada'"), 1);
  EXPECT_EQ(only_audit("guest_created").user_id, "g_1");
}

TEST_F(Users, EveryUserASessionOpensForGetsARow) {
  db().open_session("s1", "alice", "r1", T0);
  db().open_session("s2", "alice", "r2", T0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE user_id='alice' AND guest=0"), 1);
  EXPECT_TRUE(db().admit_user("alice", false, "", T0));
}

TEST_F(Users, OnlyGuestsInactivePastTheCutoffAreDeleted) {
  db().create_guest("g_old", "Old", T0);
  db().create_guest("g_new", "New", T0);
  db().open_session("s1", "alice", "r1", T0);  // not a guest: never swept
  db().touch_user("g_new", T0 + 20 * minute);
  db().touch_user("g_new", T0 + 5 * minute);  // never moves back
  EXPECT_EQ(db().delete_inactive_guests(T0 + 10 * minute, 500, T0 + 40 * minute), strings{"g_old"});
  EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 2);
  EXPECT_TRUE(db().guest_deleted("g_old"));
  EXPECT_FALSE(db().guest_deleted("g_new"));
  auto rec = only_audit("guest_deleted");
  EXPECT_EQ(rec.user_id, "g_old");
  EXPECT_EQ(rec.reason, "inactive");
  EXPECT_TRUE(db().delete_inactive_guests(T0 + 10 * minute, 500, T0 + 41 * minute).empty());  // once
}

TEST_F(Users, TheSweepIsBatchedOldestFirst) {
  for (int i = 0; i < 5; ++i) {
    db().create_guest("g_" + std::to_string(i), "G", T0);
    db().touch_user("g_" + std::to_string(i), T0 + (5 - i) * minute);
  }
  EXPECT_EQ(db().delete_inactive_guests(T0 + (60 * minute), 2, T0 + (60 * minute)), (strings{"g_4", "g_3"}));
  EXPECT_EQ(db().delete_inactive_guests(T0 + (60 * minute), 2, T0 + (60 * minute)), (strings{"g_2", "g_1"}));
  EXPECT_EQ(db().delete_inactive_guests(T0 + (60 * minute), 2, T0 + (60 * minute)), (strings{"g_0"}));
}

TEST_F(Users, ADeletedGuestTakesItsRoomPlacesWithIt) {
  ASSERT_TRUE(db().admit_user("g_1", true, "Ada", T0));
  db().open_session("s1", "g_1", "r1", T0);
  db().open_session("s2", "bob", "r2", T0);
  db().place("s1", "room-a", "Ada", T0);
  db().place("s1", "room-b", "Ada", T0);
  db().place("s2", "room-a", "bob", T0);
  ASSERT_EQ(db().delete_inactive_guests(T0 + 1, 500, T0 + (60 * minute)), strings{"g_1"});
  EXPECT_TRUE(db().room_places("s1").empty());    // ON DELETE CASCADE
  EXPECT_EQ(db().room_places("s2").size(), 1u);   // nobody else's
}

TEST_F(Users, ADeletedGuestsTokenIsRefusedAndItsSessionIsNotResumable) {
  ASSERT_TRUE(db().admit_user("g_1", true, "Ada", T0));
  db().open_session("s1", "g_1", "r1", T0);
  db().detach_session("s1", "closed", T0);
  ASSERT_EQ(db().delete_inactive_guests(T0 + 1, 500, T0 + (60 * minute)), strings{"g_1"});
  EXPECT_FALSE(db().admit_user("g_1", true, "Ada", T0 + (60 * minute)));
  EXPECT_FALSE(db().resume_session("s1", "r9", T0 + (60 * minute)).has_value());
  // A guest token the server never saw (`tetherd token --guest`) makes its guest on first use.
  EXPECT_TRUE(db().admit_user("g_cli", true, "Cli", T0));
  EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE user_id='g_cli' AND guest=1"), 1);
}

TEST_F(Users, OpeningASessionIsAGuestsActivity) {
  db().create_guest("g_1", "Ada", T0);
  ASSERT_TRUE(db().admit_user("g_1", true, "Ada", T0 + 30 * minute));
  EXPECT_TRUE(db().delete_inactive_guests(T0 + 20 * minute, 500, T0 + 60 * minute).empty());
}

TEST_F(Users, RecoveryTellsWhichRestoredSessionsAreGuests) {
  db().admit_user("g_1", true, "Ada", T0);
  db().open_session("s1", "g_1", "r1", T0);
  db().open_session("s2", "bob", "r2", T0);
  reopen();
  auto restored = db().recover(T0 + 1);
  ASSERT_EQ(restored.size(), 2u);
  for (auto& p : restored) EXPECT_EQ(p.guest, p.user_id == "g_1") << p.user_id;
}

// A database written by an earlier version (v3): users appear for the sessions still live, and
// their places move to the rebuilt table with their user.
TEST_F(Users, MigrationFromV3KeepsPlacesAndRecordsTheirUsers) {
  db().open_session("s1", "alice", "r1", T0);
  db().place("s1", "room-a", "Alice", T0);
  db().open_session("s2", "bob", "r2", T0);
  db().end_session("s2", "closed", T0);
  db_.reset();
  {
    raw_sqlite raw(db_path());
    raw.exec("DROP TABLE session_channels;"  // v7
             "DROP TABLE webhook_outbox; DROP TABLE webhook_members;"  // v6
             "DROP TABLE message_reads; DROP TABLE chat_messages; DROP TABLE chat_members; DROP TABLE chats;"
             "DROP TABLE notifications;"  // v5
             "CREATE TABLE old_places AS SELECT session_id,room_id,display_name,joined_ms FROM room_places;"
             "DROP TABLE room_places; DROP TABLE users; DROP TABLE deleted_guests;"
             "CREATE TABLE room_places (session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,"
             " room_id TEXT NOT NULL, display_name TEXT NOT NULL, joined_ms INTEGER NOT NULL,"
             " PRIMARY KEY (session_id, room_id)) WITHOUT ROWID;"
             "INSERT INTO room_places SELECT * FROM old_places; DROP TABLE old_places; PRAGMA user_version=3");
  }
  open();
  EXPECT_EQ(db().schema_version(), database::latest_schema_version());
  EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE user_id='alice'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE user_id='bob'"), 0);  // only live sessions' users
  auto places = db().room_places("s1");
  ASSERT_EQ(places.size(), 1u);
  EXPECT_EQ(places[0].room_id, "room-a");
  EXPECT_EQ(count("SELECT COUNT(*) FROM room_places WHERE user_id='alice'"), 1);
}

}  // namespace
}  // namespace tether::storage_testing
