// Channels (PROTOCOL.md §7, §11 "Channels"), deterministically: the order of a chat's messages, the
// replay-then-live hand-over with messages arriving while it runs, receipts on live delivery only
// and once per recipient, and presence counted per user across tabs and resumes.
#include "fixture.hpp"

#include "actors/channel_registry.hpp"
#include "actors/presence.hpp"

namespace tether::actor_testing {
namespace {

const std::string dm = "dm:alice:bob";

class Channels : public actor_test {
 protected:
  void subscribe(const test_session& s, const std::string& channel, std::optional<int> since = std::nullopt) {
    std::string extra = since ? ",\"since_id\":" + std::to_string(*since) : "";
    send_json(s, R"({"type":"subscribe","channel":")" + channel + "\"" + extra + "}");
  }
  void tell_say(const test_session& s, const std::string& content) {
    tell_json(s, R"({"type":"message","chat_id":")" + dm + R"(","content":")" + content + "\"}");
  }
  std::vector<std::int64_t> ids_seen(const test_session& s) {
    std::vector<std::int64_t> out;
    for (auto& f : s.link->of_type("new_message")) out.push_back(f.at("message_id").as_int64());
    return out;
  }
  static std::vector<std::int64_t> one_to(std::int64_t n) {
    std::vector<std::int64_t> v;
    for (std::int64_t i = 1; i <= n; ++i) v.push_back(i);
    return v;
  }
  test_session named(const std::string& user, const std::string& name) {
    session_start start;
    start.user = jwt::claims{user, unix_ms() / 1000 + 3600, name, false};
    return spawn_with(std::move(start));
  }
};

TEST_F(Channels, MessagesFromSeveralSendersGetIncreasingIdsInOneOrderForEveryone) {
  auto a = open_session("alice"), b = open_session("bob"), b2 = open_session("bob");
  subscribe(a, "messages/" + dm);
  subscribe(b, "messages/" + dm);
  subscribe(b2, "messages/" + dm);
  for (int i = 0; i < 10; ++i) {
    tell_say(a, "a" + std::to_string(i));
    tell_say(b, "b" + std::to_string(i));
  }
  run();
  EXPECT_EQ(ids_seen(a), one_to(20));
  EXPECT_EQ(ids_seen(b), one_to(20));
  // The same order of contents everywhere.
  auto order = [](const test_session& s) {
    strings out;
    for (auto& f : s.link->of_type("new_message")) out.push_back(str(f.at("content")));
    return out;
  };
  EXPECT_EQ(order(a), order(b));
  EXPECT_EQ(order(b), order(b2));
  // Each of alice's 10 messages reached bob (two tabs): one receipt per message, not per tab.
  EXPECT_EQ(a.link->count("message_delivered"), 10u);
  EXPECT_EQ(b.link->count("message_delivered"), 10u);
  EXPECT_EQ(b2.link->count("message_delivered"), 10u) << "every subscribed session of the sender gets receipts";
}

TEST_F(Channels, AReplayHandsOverToLiveWithoutGapOrDuplicateWhileMessagesArrive) {
  s.limits.messages_per_second = s.limits.burst = 100000;
  auto a = open_session("alice"), b = open_session("bob");
  for (int i = 0; i < 450; ++i) tell_say(a, "old" + std::to_string(i));
  run();
  ASSERT_EQ(ids_seen(a).size(), 450u);
  // bob's replay (three pages) and alice's next messages interleave, one job at a time.
  tell_json(b, R"({"type":"subscribe","channel":"messages/dm:alice:bob","since_id":10})");
  for (int step = 0; step < 400; ++step) {
    if (step % 7 == 0 && step / 7 < 40) tell_say(a, "new" + std::to_string(step / 7));
    sched->try_run_once();
  }
  run();
  auto seen = ids_seen(b);
  std::vector<std::int64_t> want;
  for (std::int64_t i = 11; i <= 490; ++i) want.push_back(i);
  EXPECT_EQ(seen, want);
  // Replayed messages bring no receipts; the 40 that came live while or after it did.
  EXPECT_LE(a.link->count("message_delivered"), 40u);
  EXPECT_GE(a.link->count("message_delivered"), 1u);
}

TEST_F(Channels, ADroppedSubscriberMissesNothingAcrossAResumeAndGivesNoReceiptMeanwhile) {
  auto a = open_session("alice"), b = open_session("bob");
  subscribe(b, "messages/" + dm);
  tell_say(a, "seen");
  run();
  ASSERT_EQ(ids_seen(b), one_to(1));
  auto token = b.resume_token();
  drop(b);
  for (int i = 0; i < 3; ++i) tell_say(a, "missed");
  run();
  EXPECT_EQ(a.link->count("message_delivered"), 1u) << "a receipt for a message the dropped tab never got";
  auto back = open_session("bob", token);
  ASSERT_TRUE(back.connected().at("resumed").as_bool());
  tell_say(a, "live");
  run();
  EXPECT_EQ(ids_seen(back), (std::vector<std::int64_t>{2, 3, 4, 5}));
  // `connected` comes before anything replayed.
  EXPECT_EQ(str(back.link->frames.front().at("type")), "connected");
}

// A client that re-subscribes (without since_id) as soon as it has resumed must not cut short the
// replay of what it missed (caught by the JS client's test in CI).
TEST_F(Channels, AReSubscribeRightAfterAResumeKeepsTheReplay) {
  auto a = open_session("alice"), b = open_session("bob");
  subscribe(b, "notifications");
  subscribe(b, "messages/" + dm);
  auto token = b.resume_token();
  drop(b);
  tell_say(a, "missed");
  run();
  notify_batch batch;
  stored_notification n;
  n.user_id = "bob";
  n.stream = "notifications";
  n.payload = R"({"type":"notification","kind":"custom","data":1})";
  batch.notes.notes.push_back(n);
  ASSERT_TRUE(ask<notify_result>(deps().channels, notify_atom::value, batch));
  // The resume; the client re-subscribes as soon as it reads `connected`, while the channels'
  // replays (asked right after `connected`) are still reading.
  auto back = spawn_with(start_for("bob", token), false);
  for (int i = 0; i < 1000 && back.link->count("connected") == 0; ++i) sched->try_run_once();
  ASSERT_EQ(back.link->count("connected"), 1u);
  tell_json(back, R"({"type":"subscribe","channel":"notifications"})");
  tell_json(back, R"({"type":"subscribe","channel":"messages/dm:alice:bob"})");
  run();
  ASSERT_TRUE(back.connected().at("resumed").as_bool());
  EXPECT_EQ(back.link->count("notification"), 1u) << back.link->dump();
  EXPECT_EQ(ids_seen(back), one_to(1));
}

TEST_F(Channels, PresenceCountsUsersNotTabsAndIgnoresResumes) {
  s.session.resume_window_ms = 1000;
  auto watcher = open_session("carol");
  subscribe(watcher, "online");
  auto count = [&](const std::string& type, const std::string& user) {
    std::size_t n = 0;
    for (auto& f : watcher.link->of_type(type))
      if (str(f.at("user_id")) == user) ++n;
    return n;
  };
  auto tab1 = named("alice", "Alice A."), tab2 = named("alice", "Alice A.");
  EXPECT_EQ(count("user_online", "alice"), 1u);
  EXPECT_EQ(str(watcher.link->last("user_online").at("full_name")), "Alice A.");
  // A drop and a resume within the window: no offline, no second online.
  auto token = tab1.resume_token();
  drop(tab1);
  auto back = open_session("alice", token);
  ASSERT_TRUE(back.connected().at("resumed").as_bool());
  send_json(back, R"({"type":"before_disconnect"})");
  drop(back);
  EXPECT_EQ(count("user_offline", "alice"), 0u);
  send_json(tab2, R"({"type":"before_disconnect"})");
  drop(tab2);
  EXPECT_EQ(count("user_offline", "alice"), 1u);
  EXPECT_EQ(count("user_online", "alice"), 1u);
  // A dropped last tab goes offline when its window has passed, not before.
  auto dave = open_session("dave");
  drop(dave);
  advance(900ms);
  EXPECT_EQ(count("user_offline", "dave"), 0u);
  advance(200ms);
  EXPECT_EQ(count("user_offline", "dave"), 1u);
  EXPECT_EQ(*ask<std::int64_t>(deps().presence, count_atom::value), 1);  // carol
}

// typing is droppable (§8: a slow reader loses it first), a chat message is not.
TEST_F(Channels, TypingIsDroppedForASlowReaderAndMessagesAreNot) {
  auto a = open_session("alice"), b = open_session("bob");
  subscribe(b, "messages/" + dm);
  b.link->refuse_droppable = true;  // its queue is past half of limits.max_outbound_bytes
  send_json(a, R"({"type":"typing","chat_id":"dm:alice:bob","is_typing":true})");
  tell_say(a, "still delivered");
  run();
  EXPECT_EQ(b.link->count("typing"), 0u);
  EXPECT_EQ(ids_seen(b), one_to(1));
  b.link->refuse_droppable = false;
  send_json(a, R"({"type":"typing","chat_id":"dm:alice:bob","is_typing":false})");
  EXPECT_EQ(b.link->count("typing"), 1u);
}

// A since_id past anything stored replays nothing and skips nothing that comes next.
TEST_F(Channels, ASinceIdPastTheLatestDoesNotHideNewMessages) {
  auto a = open_session("alice"), b = open_session("bob");
  tell_say(a, "one");
  run();
  subscribe(b, "messages/" + dm, 1000);
  tell_say(a, "two");
  run();
  EXPECT_EQ(ids_seen(b), (std::vector<std::int64_t>{2}));
}

// The storage actor groups a burst into few transactions (the durability rule stays: each
// new_message follows its commit).
TEST_F(Channels, ABurstOfAThousandMessagesIsNotAThousandCommits) {
  s.limits.messages_per_second = s.limits.burst = 100000;
  auto a = open_session("alice"), b = open_session("bob");
  subscribe(b, "messages/" + dm);
  auto before = db->commits();
  for (int i = 0; i < 1000; ++i) tell_say(a, "m" + std::to_string(i));
  run();
  EXPECT_EQ(ids_seen(b), one_to(1000));
  auto commits = db->commits() - before;
  EXPECT_LT(commits, 20) << commits << " commits for 1000 messages";
  EXPECT_EQ(raw().text("SELECT COUNT(*) FROM chat_messages"), "1000");
}

TEST_F(Channels, NotificationsAreStoredThenDeliveredAndEmptyChannelsGoAway) {
  auto b = open_session("bob");
  subscribe(b, "notifications");
  notify_batch batch;
  for (auto user : {"bob", "carol"}) {
    stored_notification n;
    n.user_id = user;
    n.stream = "notifications";
    n.payload = R"({"type":"notification","kind":"custom","data":1})";
    batch.notes.notes.push_back(n);
  }
  auto r = ask<notify_result>(deps().channels, notify_atom::value, batch);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->delivered, 1);
  EXPECT_EQ(r->stored, 1);
  auto n = b.link->last("notification");
  EXPECT_EQ(n.at("id"), 1);
  EXPECT_EQ(str(n.at("kind")), "custom");
  EXPECT_EQ(raw().text("SELECT COUNT(*) FROM notifications"), "2");
  send_json(b, R"({"type":"unsubscribe","channel":"notifications"})");
  EXPECT_EQ(*ask<std::int64_t>(deps().channels, count_atom::value), 0) << "an empty channel stayed";
}

}  // namespace
}  // namespace tether::actor_testing
