// Unit tests for chats and notifications in storage/database (PROTOCOL.md §7, §11 "Channels").
#include "storage/database.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::storage_testing {
namespace {

using strings = std::vector<std::string>;

class Chats : public database_test {
 protected:
  void SetUp() override {
    database_test::SetUp();
    for (const char* u : {"alice", "bob", "carol"}) db().open_session(std::string("s_") + u, u, "r", T0);
  }
  std::int64_t send(const std::string& chat, const std::string& from, const std::string& text,
                    const std::string& client_id = "") {
    return db().append_message(chat, from, client_id, text, "", T0).message.message_id;
  }
  static std::vector<std::int64_t> ids(const std::vector<chat_message>& v) {
    std::vector<std::int64_t> out;
    for (auto& m : v) out.push_back(m.message_id);
    return out;
  }
};

TEST_F(Chats, DmIdsNameTheirTwoMembersOneWayOnly) {
  auto dm = database::dm_members("dm:alice:bob");
  ASSERT_TRUE(dm);
  EXPECT_EQ(dm->first, "alice");
  EXPECT_EQ(dm->second, "bob");
  EXPECT_FALSE(database::dm_members("dm:bob:alice"));  // a < b: one spelling per pair
  EXPECT_FALSE(database::dm_members("dm:alice:alice"));
  EXPECT_FALSE(database::dm_members("dm:alice"));
  EXPECT_FALSE(database::dm_members("dm:a:b:c"));
  EXPECT_FALSE(database::dm_members("team"));
  EXPECT_TRUE(db().is_chat_member("dm:alice:bob", "bob"));
  EXPECT_FALSE(db().is_chat_member("dm:alice:bob", "carol"));
  EXPECT_EQ(db().chat_members("dm:alice:bob"), (strings{"alice", "bob"}));
}

TEST_F(Chats, CreatedChatsKnowTheirMembers) {
  EXPECT_TRUE(db().create_chat("team", {"bob", "alice"}, T0));
  EXPECT_FALSE(db().create_chat("team", {"carol"}, T0));  // exists: unchanged
  EXPECT_EQ(db().chat_members("team"), (strings{"alice", "bob"}));
  EXPECT_TRUE(db().is_chat_member("team", "alice"));
  EXPECT_FALSE(db().is_chat_member("team", "carol"));
  EXPECT_FALSE(db().is_chat_member("nope", "alice"));
}

TEST_F(Chats, MessageIdsIncreasePerChat) {
  db().create_chat("team", {"alice", "bob"}, T0);
  EXPECT_EQ(send("team", "alice", "1"), 1);
  EXPECT_EQ(send("dm:alice:bob", "bob", "a"), 1);  // made by its first message
  EXPECT_EQ(send("team", "bob", "2"), 2);
  EXPECT_EQ(send("dm:alice:bob", "alice", "b"), 2);
  EXPECT_THROW(send("nope", "alice", "x"), std::runtime_error);
}

TEST_F(Chats, AResentClientMsgIdReturnsTheFirstMessage) {
  auto first = db().append_message("dm:alice:bob", "alice", "c1", "hello", R"({"url":"x"})", T0);
  EXPECT_FALSE(first.duplicate);
  auto again = db().append_message("dm:alice:bob", "alice", "c1", "hello", "", T0 + 5);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.message.message_id, first.message.message_id);
  EXPECT_EQ(again.message.attachment, R"({"url":"x"})");
  EXPECT_EQ(again.message.sent_ms, T0);
  // Another sender may use the same client id.
  EXPECT_FALSE(db().append_message("dm:alice:bob", "bob", "c1", "hi", "", T0).duplicate);
  EXPECT_EQ(send("dm:alice:bob", "alice", "next"), 3);
}

TEST_F(Chats, HistoryPagesBackwardsInAscendingOrder) {
  for (int i = 1; i <= 7; ++i) send("dm:alice:bob", "alice", std::to_string(i));
  auto newest = db().history("dm:alice:bob", 0, 3);
  EXPECT_EQ(ids(newest.messages), (std::vector<std::int64_t>{5, 6, 7}));
  EXPECT_TRUE(newest.has_more);
  auto older = db().history("dm:alice:bob", 5, 3);
  EXPECT_EQ(ids(older.messages), (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_TRUE(older.has_more);
  auto oldest = db().history("dm:alice:bob", 2, 3);
  EXPECT_EQ(ids(oldest.messages), (std::vector<std::int64_t>{1}));
  EXPECT_FALSE(oldest.has_more);
  auto exact = db().history("dm:alice:bob", 4, 3);
  EXPECT_EQ(ids(exact.messages), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_FALSE(exact.has_more);
  EXPECT_EQ(newest.messages.back().content, "7");
  EXPECT_TRUE(db().history("dm:alice:carol", 0, 50).messages.empty());
}

TEST_F(Chats, ReplayReturnsWhatCameAfterInOrder) {
  for (int i = 1; i <= 5; ++i) send("dm:alice:bob", "alice", std::to_string(i));
  EXPECT_EQ(ids(db().messages_after("dm:alice:bob", 2, 100)), (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_EQ(ids(db().messages_after("dm:alice:bob", 0, 2)), (std::vector<std::int64_t>{1, 2}));
  EXPECT_TRUE(db().messages_after("dm:alice:bob", 5, 100).empty());
}

TEST_F(Chats, AReadIsRecordedOnceAndNamesTheSender) {
  auto id = send("dm:alice:bob", "alice", "hi");
  auto r = db().mark_read("dm:alice:bob", id, "bob", T0 + 10);
  EXPECT_TRUE(r.found);
  EXPECT_TRUE(r.first);
  EXPECT_EQ(r.sender_id, "alice");
  EXPECT_EQ(r.read_ms, T0 + 10);
  auto again = db().mark_read("dm:alice:bob", id, "bob", T0 + 20);
  EXPECT_FALSE(again.first);
  EXPECT_EQ(again.read_ms, T0 + 10);
  EXPECT_FALSE(db().mark_read("dm:alice:bob", 99, "bob", T0).found);
}

TEST_F(Chats, ADeletedGuestTakesItsMessagesAndReadsWithIt) {
  ASSERT_TRUE(db().admit_user("g_1", true, "Gus", T0));
  db().open_session("s_g", "g_1", "r", T0);
  db().create_chat("lobby", {"g_1", "alice"}, T0);
  auto gus = send("lobby", "g_1", "hello from a guest");
  auto alice = send("lobby", "alice", "hi guest");
  db().mark_read("lobby", alice, "g_1", T0);
  db().mark_read("lobby", gus, "alice", T0);
  ASSERT_EQ(db().delete_inactive_guests(T0 + 1, 10, T0 + 100), strings{"g_1"});
  EXPECT_EQ(ids(db().messages_after("lobby", 0, 10)), std::vector<std::int64_t>{alice});
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM message_reads"), 0);  // g_1's read, and the read of g_1's message
  EXPECT_EQ(send("lobby", "alice", "still counting"), 3);           // ids never reused
}

TEST_F(Chats, NotificationIdsIncreasePerUserAcrossStreams) {
  EXPECT_EQ(db().store_notification("bob", "notifications", R"({"kind":"like"})", T0).id, 1);
  EXPECT_EQ(db().store_notification("bob", "connections", R"({"type":"connection_request"})", T0).id, 2);
  EXPECT_EQ(db().store_notification("carol", "notifications", "{}", T0).id, 1);
  EXPECT_EQ(db().store_notification("bob", "notifications", R"({"kind":"comment_on_post"})", T0).id, 3);
  auto n = db().notifications_after("bob", "notifications", 0, 100);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0].id, 1);
  EXPECT_EQ(n[0].payload, R"({"kind":"like"})");
  EXPECT_EQ(n[1].id, 3);
  EXPECT_EQ(db().notifications_after("bob", "notifications", 1, 100).size(), 1u);
  EXPECT_EQ(db().notifications_after("bob", "connections", 0, 100).size(), 1u);
  EXPECT_EQ(db().notifications_after("bob", "notifications", 0, 1).size(), 1u);
}

TEST_F(Chats, PruningKeepsEachUsersNewestNotificationSoIdsKeepIncreasing) {
  for (int i = 0; i < 5; ++i) db().store_notification("bob", "notifications", "{}", T0 + i);
  db().store_notification("carol", "notifications", "{}", T0);
  EXPECT_EQ(db().prune_notifications(T0 + 3, 2), 2);    // bob's 1 and 2 (oldest first, batch of 2)
  EXPECT_EQ(db().prune_notifications(T0 + 100, 100), 2);  // bob's 3 and 4; his 5 and carol's 1 stay
  EXPECT_EQ(db().prune_notifications(T0 + 100, 100), 0);
  auto bob = db().notifications_after("bob", "notifications", 0, 100);
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0].id, 5);
  EXPECT_EQ(db().store_notification("bob", "notifications", "{}", T0 + 200).id, 6);
  EXPECT_EQ(db().notifications_after("carol", "notifications", 0, 100).size(), 1u);
}

}  // namespace
}  // namespace tether::storage_testing
