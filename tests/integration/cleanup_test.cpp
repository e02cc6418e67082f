// Abandoned-upload cleanup with a resume window of 0 (PROTOCOL.md §5, §11 "Cleanup").
#include "support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace tether::it;

namespace {

const std::vector<std::string> window0{"session.resume_window_ms=0"};

// Closes `c` normally (1000), waits until the files in `gone` are deleted and the session's end
// is audited, and returns the audit then.
std::vector<object> close_and_clean(const server_process& s, ws_client& c, const std::string& session_id,
                                    const std::vector<std::string>& gone) {
  EXPECT_TRUE(c.close(1000)) << c.last_error();
  EXPECT_TRUE(wait_until([&] { return std::none_of(gone.begin(), gone.end(), [&](auto& f) { return s.blob_exists(f); }); }, 2s))
      << "blobs still there 2 s after the close";
  return wait_session_closed(s, session_id);
}

// The file ids the session tracks now (a register without files answers them).
value tracked_now(ws_client& c) {
  auto now = request(c, {{"type", "register"}});
  return now ? (*now)["file_ids"] : value();
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
  auto sid = open_session_ids(c, token).session_id;
  ASSERT_FALSE(sid.empty());
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
  ws_client c(s.port());
  auto d = open_draft(s, c, s.token("alice"), {"a.jpg", "b.jpg"});
  ASSERT_FALSE(HasFailure());
  auto f1 = d.file_ids[0], f2 = d.file_ids[1], sid = d.session_id;

  auto ack = request(c, {{"type", "post_submitted"}, {"post_id", "p1"}, {"ref", 7}});
  ASSERT_TRUE(ack);
  EXPECT_EQ(str(*ack, "type"), "ack") << serialize(*ack);
  EXPECT_EQ(str(*ack, "for"), "post_submitted");
  EXPECT_EQ(str(*ack, "post_id"), "p1");
  EXPECT_EQ((*ack)["kept"], value(ids({f1, f2})));
  EXPECT_EQ((*ack)["ref"], value(7));

  // The session goes on: a file uploaded after the submission is a new draft's, and abandoned.
  auto f3 = upload(s, d.token, "c.jpg", "after the post");
  auto up = request(c, {{"type", "file_uploaded"}, {"file_id", f3}});
  ASSERT_TRUE(up);
  EXPECT_EQ(str(*up, "type"), "ack") << serialize(*up);
  EXPECT_EQ(tracked_now(c), value(ids({f3})));

  auto records = close_and_clean(s, c, sid, {f3});
  EXPECT_TRUE(has_record(records, "post_submitted", "", "", sid));
  EXPECT_TRUE(has_record(records, "session_closed", "closed", "", sid));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f1));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f2));
  EXPECT_TRUE(s.blob_exists(f1));
  EXPECT_TRUE(s.blob_exists(f2));
  EXPECT_EQ(download(s, d.token, f1), "a.jpg");
}

TEST(Cleanup, ForeignFileIsRejectedAndNeverDeleted) {
  server_process s(window0);
  auto alice = s.token("alice");
  auto bob = s.token("bob");
  auto mine = upload(s, alice, "mine.png", "alice's");
  auto theirs = upload(s, bob, "theirs.png", "bob's");

  ws_client c(s.port());
  auto sid = open_session_ids(c, alice).session_id;
  ASSERT_FALSE(sid.empty());
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

  auto records = close_and_clean(s, c, sid, {mine});
  EXPECT_TRUE(s.blob_exists(theirs));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", theirs));
  EXPECT_FALSE(has_record(records, "file_tracked", "", theirs));
  EXPECT_EQ(download(s, bob, theirs), "bob's");
}

TEST(Cleanup, FileTrackedByTwoSessionsIsDeletedWhenTheLastCloses) {
  server_process s(window0);
  auto token = s.token("alice");
  auto f = upload(s, token, "shared.jpg", "shared");

  ws_client a(s.port()), b(s.port());
  auto sa = open_session_ids(a, token).session_id, sb = open_session_ids(b, token).session_id;
  ASSERT_NE(sa, sb);
  ASSERT_TRUE(register_files(a, {f}) && register_files(b, {f}));

  ASSERT_TRUE(a.close(1000));
  auto records = wait_session_closed(s, sa);
  EXPECT_TRUE(s.blob_exists(f));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f));

  // Still tracked by b: b's close deletes it.
  auto pong = request(b, {{"type", "ping"}});
  ASSERT_TRUE(pong);
  records = close_and_clean(s, b, sb, {f});
  EXPECT_TRUE(has_record(records, "deletion_queued", "", f, sb));
}

TEST(Cleanup, FileRemovedIsUntrackedNotDeleted) {
  server_process s(window0);
  ws_client c(s.port());
  auto d = open_draft(s, c, s.token("alice"), {"one.jpg", "two.jpg"});
  ASSERT_FALSE(HasFailure());
  auto f1 = d.file_ids[0], f2 = d.file_ids[1], sid = d.session_id;

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

  EXPECT_EQ(tracked_now(c), value(ids({f2})));

  auto records = close_and_clean(s, c, sid, {f2});
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
  auto sid = open_session_ids(c, token).session_id;
  ASSERT_FALSE(sid.empty());

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

  close_and_clean(s, c, sid, {f1, f2});
}
