// Abandoned-upload cleanup with a resume window of 0 (PROTOCOL.md §5, §11 "Cleanup").
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;
namespace http = boost::beast::http;
using boost::json::array;
using boost::json::object;
using boost::json::serialize;
using boost::json::value;

namespace {

const std::vector<std::string> window0{"session.resume_window_ms=0"};

// Waits until the audit shows session_closed for `session_id`; returns the records then.
std::vector<object> wait_session_closed(const server_process& s, const std::string& session_id, ms timeout = 3s) {
  std::vector<object> records;
  bool closed = wait_until(
      [&] {
        records = audit(s);
        return has_record(records, "session_closed", "", "", session_id);
      },
      timeout);
  EXPECT_TRUE(closed) << "no session_closed for " << session_id;
  return records;
}

}  // namespace

TEST(Cleanup, CloseWithoutSubmitDeletesBothFiles) {
  server_process s(window0);
  auto token = s.token("alice");
  auto f1 = upload(s, token, "a.jpg", "first file");
  auto f2 = upload(s, token, "b.jpg", "second file");
  ASSERT_TRUE(s.blob_exists(f1));
  ASSERT_TRUE(s.blob_exists(f2));

  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");
  auto reg = request(c, {{"type", "register"}, {"file_ids", ids({f1, f2})}, {"draft_id", "d1"}, {"ref", "r1"}});
  ASSERT_TRUE(reg);
  EXPECT_EQ(str(*reg, "type"), "registered") << serialize(*reg);
  EXPECT_EQ(str(*reg, "ref"), "r1");
  EXPECT_EQ(str(*reg, "session_id"), sid);
  EXPECT_EQ((*reg)["file_ids"], value(ids({f1, f2})));
  EXPECT_EQ((*reg)["rejected"], value(array{}));

  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f1) && !s.blob_exists(f2); }, 2s))
      << "blobs still there 2 s after the close";

  std::vector<object> records;
  EXPECT_TRUE(wait_until(
      [&] {
        records = audit(s);
        return has_record(records, "file_deleted", "", f1) && has_record(records, "file_deleted", "", f2) &&
               has_record(records, "session_closed", "", "", sid);
      },
      2s));
  EXPECT_TRUE(has_record(records, "session_opened", "", "", sid));
  EXPECT_TRUE(has_record(records, "file_tracked", "", f1, sid));
  EXPECT_TRUE(has_record(records, "file_tracked", "", f2, sid));
  EXPECT_TRUE(has_record(records, "deletion_queued", "", f1, sid));
  EXPECT_TRUE(has_record(records, "deletion_queued", "", f2, sid));
  EXPECT_TRUE(has_record(records, "session_closed", "closed", "", sid));

  // The store agrees: the files are gone for the owner too.
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/files/" + f1, token).status, 404);
}

TEST(Cleanup, PostSubmittedKeepsFiles) {
  server_process s(window0);
  auto token = s.token("alice");
  auto f1 = upload(s, token, "a.jpg", "kept one");
  auto f2 = upload(s, token, "b.jpg", "kept two");

  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");
  auto reg = request(c, {{"type", "register"}, {"file_ids", ids({f1, f2})}});
  ASSERT_TRUE(reg);
  ASSERT_EQ(str(*reg, "type"), "registered") << serialize(*reg);

  auto ack = request(c, {{"type", "post_submitted"}, {"post_id", "p1"}, {"ref", 7}});
  ASSERT_TRUE(ack);
  EXPECT_EQ(str(*ack, "type"), "ack") << serialize(*ack);
  EXPECT_EQ(str(*ack, "for"), "post_submitted");
  EXPECT_EQ(str(*ack, "post_id"), "p1");
  EXPECT_EQ((*ack)["kept"], value(ids({f1, f2})));
  EXPECT_EQ((*ack)["ref"], value(7));

  // The session goes on: a file uploaded after the submission is a new draft's, and abandoned.
  auto f3 = upload(s, token, "c.jpg", "after the post");
  auto up = request(c, {{"type", "file_uploaded"}, {"file_id", f3}});
  ASSERT_TRUE(up);
  EXPECT_EQ(str(*up, "type"), "ack") << serialize(*up);
  auto now = request(c, {{"type", "register"}});
  ASSERT_TRUE(now);
  EXPECT_EQ((*now)["file_ids"], value(ids({f3}))) << serialize(*now);

  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f3); }, 2s));
  auto records = wait_session_closed(s, sid);
  EXPECT_TRUE(has_record(records, "post_submitted", "", "", sid));
  EXPECT_TRUE(has_record(records, "session_closed", "closed", "", sid));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f1));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f2));
  EXPECT_TRUE(s.blob_exists(f1));
  EXPECT_TRUE(s.blob_exists(f2));
  auto got = http_call(s.port(), http::verb::get, "/api/files/" + f1, token);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "kept one");
}

TEST(Cleanup, ForeignFileIsRejectedAndNeverDeleted) {
  server_process s(window0);
  auto alice = s.token("alice");
  auto bob = s.token("bob");
  auto mine = upload(s, alice, "mine.png", "alice's");
  auto theirs = upload(s, bob, "theirs.png", "bob's");

  ws_client c(s.port());
  auto hello = open_session(c, alice);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");
  auto reg = request(c, {{"type", "register"}, {"file_ids", ids({mine, theirs, "f_no_such_file"})}, {"ref", "r"}});
  ASSERT_TRUE(reg);
  ASSERT_EQ(str(*reg, "type"), "registered") << serialize(*reg);
  EXPECT_EQ((*reg)["file_ids"], value(ids({mine})));
  array expected_rejected{object{{"file_id", theirs}, {"code", "forbidden"}},
                          object{{"file_id", "f_no_such_file"}, {"code", "not_found"}}};
  EXPECT_EQ((*reg)["rejected"], value(expected_rejected)) << serialize(*reg);

  auto up = request(c, {{"type", "file_uploaded"}, {"file_id", theirs}, {"ref", "u"}});
  ASSERT_TRUE(up);
  EXPECT_EQ(str(*up, "type"), "error") << serialize(*up);
  EXPECT_EQ(str(*up, "code"), "forbidden");
  EXPECT_EQ(str(*up, "ref"), "u");

  // register naming another user: forbidden, nothing changes.
  auto other = request(c, {{"type", "register"}, {"user_id", "bob"}, {"file_ids", ids({theirs})}});
  ASSERT_TRUE(other);
  EXPECT_EQ(str(*other, "code"), "forbidden") << serialize(*other);

  // Bob cannot see Alice's file either (existence not revealed).
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/files/" + mine, bob).status, 404);

  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(mine); }, 2s));
  auto records = wait_session_closed(s, sid);
  EXPECT_TRUE(s.blob_exists(theirs));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", theirs));
  EXPECT_FALSE(has_record(records, "file_tracked", "", theirs));
  auto got = http_call(s.port(), http::verb::get, "/api/files/" + theirs, bob);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "bob's");
}

TEST(Cleanup, FileTrackedByTwoSessionsIsDeletedWhenTheLastCloses) {
  server_process s(window0);
  auto token = s.token("alice");
  auto f = upload(s, token, "shared.jpg", "shared");

  ws_client a(s.port()), b(s.port());
  auto ha = open_session(a, token);
  auto hb = open_session(b, token);
  ASSERT_TRUE(ha && hb);
  auto sa = str(*ha, "session_id"), sb = str(*hb, "session_id");
  ASSERT_NE(sa, sb);
  for (auto* c : {&a, &b}) {
    auto reg = request(*c, {{"type", "register"}, {"file_ids", ids({f})}});
    ASSERT_TRUE(reg);
    EXPECT_EQ((*reg)["file_ids"], value(ids({f}))) << serialize(*reg);
  }

  ASSERT_TRUE(a.close(1000));
  auto records = wait_session_closed(s, sa);
  EXPECT_TRUE(s.blob_exists(f));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f));

  // Still tracked by b: b's close deletes it.
  auto pong = request(b, {{"type", "ping"}});
  ASSERT_TRUE(pong);
  ASSERT_TRUE(b.close(1000));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 2s));
  records = wait_session_closed(s, sb);
  EXPECT_TRUE(has_record(records, "deletion_queued", "", f, sb));
}

TEST(Cleanup, FileRemovedIsUntrackedNotDeleted) {
  server_process s(window0);
  auto token = s.token("alice");
  auto f1 = upload(s, token, "one.jpg", "one");
  auto f2 = upload(s, token, "two.jpg", "two");

  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");
  auto reg = request(c, {{"type", "register"}, {"file_ids", ids({f1, f2})}});
  ASSERT_TRUE(reg);

  auto ack = request(c, {{"type", "file_removed"}, {"file_id", f1}, {"ref", "rm"}});
  ASSERT_TRUE(ack);
  EXPECT_EQ(str(*ack, "type"), "ack") << serialize(*ack);
  EXPECT_EQ(str(*ack, "for"), "file_removed");
  EXPECT_EQ(str(*ack, "file_id"), f1);
  EXPECT_EQ(str(*ack, "ref"), "rm");
  EXPECT_TRUE(s.blob_exists(f1));  // untracked, not deleted

  auto again = request(c, {{"type", "file_removed"}, {"file_id", f1}, {"ref", "rm2"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(str(*again, "type"), "error") << serialize(*again);
  EXPECT_EQ(str(*again, "code"), "not_found");
  EXPECT_EQ(str(*again, "ref"), "rm2");

  auto now = request(c, {{"type", "register"}});
  ASSERT_TRUE(now);
  EXPECT_EQ((*now)["file_ids"], value(ids({f2}))) << serialize(*now);

  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f2); }, 2s));
  auto records = wait_session_closed(s, sid);
  EXPECT_TRUE(s.blob_exists(f1));
  EXPECT_TRUE(has_record(records, "file_untracked", "", f1, sid));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f1));
}

TEST(Cleanup, FileUploadedAckCarriesFileIdAndRef) {
  server_process s(window0);
  auto token = s.token("alice");
  auto f1 = upload(s, token, "one.jpg", "one");
  auto f2 = upload(s, token, "two.jpg", "two");

  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");

  // Without a register first; ref as a string, then as an integer with the camelCase alias.
  auto ack = request(c, {{"type", "file_uploaded"}, {"file_id", f1}, {"ref", "u1"}});
  ASSERT_TRUE(ack);
  EXPECT_EQ(str(*ack, "type"), "ack") << serialize(*ack);
  EXPECT_EQ(str(*ack, "for"), "file_uploaded");
  EXPECT_EQ(str(*ack, "file_id"), f1);
  EXPECT_EQ(str(*ack, "ref"), "u1");

  auto ack2 = request(c, {{"type", "file_uploaded"}, {"fileId", f2}, {"ref", 42}});
  ASSERT_TRUE(ack2);
  EXPECT_EQ(str(*ack2, "type"), "ack") << serialize(*ack2);
  EXPECT_EQ(str(*ack2, "file_id"), f2);
  EXPECT_EQ((*ack2)["ref"], value(42));

  auto missing = request(c, {{"type", "file_uploaded"}, {"file_id", "f_nothing_here"}, {"ref", "m"}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(str(*missing, "code"), "not_found") << serialize(*missing);

  auto reg = request(c, {{"type", "register"}, {"fileIds", array{}}});
  ASSERT_TRUE(reg);
  EXPECT_EQ((*reg)["file_ids"], value(ids({f1, f2}))) << serialize(*reg);

  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f1) && !s.blob_exists(f2); }, 2s));
  wait_session_closed(s, sid);
}
