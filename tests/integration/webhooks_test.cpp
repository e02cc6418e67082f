// Webhooks on the real binary (PROTOCOL.md §9): a real HTTP receiver on loopback gets signed
// events for joins, leaves, drops, session ends and deletions; a failed POST is retried with the
// same id; an event pending at a kill -9 is delivered after the restart; a bad url stops start-up.
#include "support.hpp"
#include "webhook_receiver.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

using namespace tether::it;

namespace {

const std::string secret = "it-webhook-secret";

// Short retries and windows, so that the suite stays fast.
std::vector<std::string> webhook_sets(const webhook_receiver& r, std::vector<std::string> more = {}) {
  std::vector<std::string> sets{"webhooks.url=" + r.url(), "webhooks.secret=" + secret, "webhooks.retry_base_ms=50",
                                "webhooks.retry_max_ms=200", "webhooks.timeout_ms=2000",
                                "session.resume_window_ms=300"};
  sets.insert(sets.end(), more.begin(), more.end());
  return sets;
}

void join(ws_client& c, const std::string& room) {
  auto r = request(c, {{"type", "join_room"}, {"room_id", room}});
  ASSERT_TRUE(r);
  ASSERT_EQ(str(*r, "type"), "room_joined") << serialize(*r);
}

std::function<bool(const json::object&)> about(const std::string& key, const std::string& value) {
  return [key, value](const json::object& e) { return str(e, key.c_str()) == value; };
}

}  // namespace

TEST(Webhooks, JoinLeaveAndDropAreSignedMemberEvents) {
  webhook_receiver receiver;
  server_process s(webhook_sets(receiver));
  ws_client a(s.port()), b(s.port());
  auto ida = open_session_ids(a, s.token("alice"));
  auto idb = open_session_ids(b, s.token("bob"));
  join(a, "study");
  join(b, "study");
  auto added = receiver.wait_event("member_added", about("user_id", "bob"), 5s);
  ASSERT_TRUE(added);
  EXPECT_EQ(str(added->event, "room_id"), "study");
  EXPECT_EQ(str(added->event, "session_id"), idb.session_id);
  EXPECT_EQ(str(added->event, "display_name"), "bob");
  EXPECT_EQ(str(added->event, "at").size(), 24u);

  // bob leaves; alice drops and her resume window (300 ms) passes.
  ASSERT_TRUE(request(b, {{"type", "leave_room"}, {"room_id", "study"}}));
  auto left = receiver.wait_event("member_removed", about("user_id", "bob"), 5s);
  ASSERT_TRUE(left);
  EXPECT_EQ(str(left->event, "reason"), "left");
  a.drop();
  auto dropped = receiver.wait_event("member_removed", about("user_id", "alice"), 5s);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(str(dropped->event, "reason"), "disconnected");
  EXPECT_EQ(str(dropped->event, "session_id"), ida.session_id);
  ASSERT_TRUE(receiver.wait_event("room_vacated", about("room_id", "study"), 5s));
  auto closed = receiver.wait_event("session_closed", about("session_id", ida.session_id), 5s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(str(closed->event, "reason"), "closed");
  EXPECT_EQ(str(closed->event, "user_id"), "alice");

  std::set<std::string> ids;
  for (const auto& d : receiver.received()) {
    EXPECT_TRUE(valid_signature(d.body, d.signature, secret)) << d.body << " " << d.signature;
    EXPECT_EQ(str(d.event, "id").rfind("wh_", 0), 0u) << d.body;
    ids.insert(str(d.event, "id"));
  }
  EXPECT_EQ(ids.size(), receiver.received().size());  // all answered 200: each sent once
  EXPECT_EQ(receiver.delivered("member_added").size(), 2u);
  EXPECT_EQ(receiver.delivered("member_removed").size(), 2u);
}

TEST(Webhooks, FilesDeletedAfterASessionWithATrackedFileEnds) {
  webhook_receiver receiver;
  server_process s(webhook_sets(receiver));
  auto d = closed_draft(s, s.token("alice"), {"photo.jpg", "clip.mp4"});
  ASSERT_EQ(d.file_ids.size(), 2u);
  auto deleted = receiver.wait_event("files_deleted", about("session_id", d.session_id), 5s);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(str(deleted->event, "user_id"), "alice");
  std::set<std::string> files;
  for (const auto& f : deleted->event.at("file_ids").as_array()) files.insert(std::string(f.as_string()));
  EXPECT_EQ(files, std::set<std::string>(d.file_ids.begin(), d.file_ids.end()));
  EXPECT_TRUE(valid_signature(deleted->body, deleted->signature, secret));
  EXPECT_TRUE(receiver.wait_event("session_closed", about("session_id", d.session_id), 5s));
}

TEST(Webhooks, AFailedPostIsRetriedWithTheSameId) {
  webhook_receiver receiver;
  receiver.answer_next({500});
  server_process s(webhook_sets(receiver));
  closed_draft(s, s.token("alice"), {});
  auto ok = receiver.wait_event("session_closed", 5s);
  ASSERT_TRUE(ok);
  auto all = receiver.received();
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all[0].answered, 500);
  EXPECT_EQ(str(all[0].event, "id"), str(ok->event, "id"));
  EXPECT_EQ(all[0].body, ok->body);  // byte for byte, signature and all
  EXPECT_EQ(all[0].signature, ok->signature);
  // Delivered: not sent again.
  EXPECT_FALSE(receiver.wait_for([](const auto& v) { return v.size() > 2; }, 500ms));
  EXPECT_EQ(receiver.delivered("session_closed").size(), 1u);
}

TEST(Webhooks, AnEventPendingAtAKill9IsDeliveredAfterTheRestart) {
  webhook_receiver receiver(/*listening=*/false);  // down: connections refused
  server_process s(webhook_sets(receiver, {"webhooks.retry_base_ms=100", "session.resume_window_ms=200"}));
  ws_client a(s.port());
  auto ida = open_session_ids(a, s.token("alice"));
  join(a, "study");
  // The member_added was committed and tried at least once (refused).
  ASSERT_TRUE(wait_until(
      [&] {
        auto rows = sql_rows(s, "SELECT attempts FROM webhook_outbox WHERE type='member_added'");
        return !rows.empty() && rows[0][0] != "0";
      },
      5s));
  auto pending = sql_rows(s, "SELECT body FROM webhook_outbox WHERE type='member_added'");
  ASSERT_EQ(pending.size(), 1u);
  const auto id = str(json::parse(pending[0][0]).as_object(), "id");
  s.kill9();
  receiver.start();
  s.restart();
  auto added = receiver.wait_event("member_added", 5s);
  ASSERT_TRUE(added);
  EXPECT_EQ(str(added->event, "id"), id);
  EXPECT_EQ(added->body, pending[0][0]);
  EXPECT_TRUE(valid_signature(added->body, added->signature, secret));
  // Alice never comes back: her restored session ends with reason crash and leaves the room.
  auto removed = receiver.wait_event("member_removed", about("user_id", "alice"), 5s);
  ASSERT_TRUE(removed);
  EXPECT_EQ(str(removed->event, "reason"), "disconnected");
  auto closed = receiver.wait_event("session_closed", about("session_id", ida.session_id), 5s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(str(closed->event, "reason"), "crash");
  EXPECT_EQ(receiver.delivered("member_added").size(), 1u);  // the restored session's re-join adds nobody
}

TEST(Webhooks, SigtermStopsSendingAndKeepsTheRows) {
  webhook_receiver receiver(/*listening=*/false);
  server_process s(webhook_sets(receiver, {"session.resume_window_ms=0"}));
  auto d = closed_draft(s, s.token("alice"), {});
  ASSERT_TRUE(wait_until(
      [&] {
        auto rows = sql_rows(s, "SELECT attempts FROM webhook_outbox WHERE type='session_closed'");
        return !rows.empty() && rows[0][0] != "0";
      },
      5s));
  EXPECT_EQ(s.terminate(), 0);
  EXPECT_EQ(sql_rows(s, "SELECT state FROM webhook_outbox WHERE type='session_closed'"),
            (std::vector<std::vector<std::string>>{{"pending"}}));
  receiver.start();
  s.restart();
  auto closed = receiver.wait_event("session_closed", about("session_id", d.session_id), 5s);
  ASSERT_TRUE(closed);
  EXPECT_TRUE(valid_signature(closed->body, closed->signature, secret));
  EXPECT_TRUE(wait_until([&] { return sql_rows(s, "SELECT COUNT(*) FROM webhook_outbox")[0][0] == "0"; }, 5s));
}

TEST(Webhooks, ASecretIsGeneratedIntoTheDataDir) {
  webhook_receiver receiver;
  server_process s({"webhooks.url=" + receiver.url(), "session.resume_window_ms=0"});
  closed_draft(s, s.token("alice"), {});
  auto closed = receiver.wait_event("session_closed", 5s);
  ASSERT_TRUE(closed);
  std::ifstream in(s.data_dir() + "/webhook_secret");
  std::string generated;
  in >> generated;
  EXPECT_EQ(generated.size(), 64u);
  EXPECT_TRUE(valid_signature(closed->body, closed->signature, generated));
}

TEST(Webhooks, NothingIsRecordedWithoutAUrl) {
  server_process s({"session.resume_window_ms=0"});
  ws_client a(s.port());
  ASSERT_TRUE(open_session(a, s.token("alice")));
  join(a, "study");
  ASSERT_TRUE(a.close(1000));
  s.terminate();
  EXPECT_EQ(sql_rows(s, "SELECT COUNT(*) FROM webhook_outbox")[0][0], "0");
  EXPECT_EQ(sql_rows(s, "SELECT COUNT(*) FROM webhook_members")[0][0], "0");
}

TEST(Webhooks, AnHttpsUrlIsRefusedAtStartUp) {
  temp_dir dir;
  auto r = run_serve(dir.path(), {"webhooks.url=https://example.com/hook"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("webhooks.url"), std::string::npos) << r.err;
}
