// Session actor: the file rules of PROTOCOL.md §5 and §11 "Cleanup" — what is tracked, what is
// refused, what is acked (only after the commit), what is kept and what is deleted.
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Files : public actor_test {};

TEST_F(Files, RegisterTracksOwnFilesAndRejectsForeignAndUnknown) {
  add_file("f1", "alice");
  add_file("f2", "bob");
  auto a = open_session("alice");
  auto sid = a.session_id();
  send_json(a, R"({"type":"register","file_ids":["f1","f2","f3"],"draft_id":"d1","ref":1})");
  auto r = a.link->last("registered");
  EXPECT_EQ(r.at("ref").as_int64(), 1);
  EXPECT_EQ(str(r.at("session_id")), sid);
  EXPECT_EQ(str_list(r.at("file_ids")), strings{"f1"});
  auto& rejected = r.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u) << json::serialize(r);
  EXPECT_EQ(str(rejected[0].at("file_id")), "f2");
  EXPECT_EQ(str(rejected[0].at("code")), "forbidden");
  EXPECT_EQ(str(rejected[1].at("file_id")), "f3");
  EXPECT_EQ(str(rejected[1].at("code")), "not_found");
  EXPECT_EQ(tracked_rows(sid), strings{"f1"});
  auto tracked = audit_of("file_tracked", sid);
  ASSERT_EQ(tracked.size(), 1u);
  EXPECT_EQ(tracked[0].file_id, "f1");
  EXPECT_EQ(tracked[0].details, R"({"draft_id":"d1"})");

  // The end of the session deletes only what it tracked: bob's file is never touched.
  drop(a, 1008, true);
  EXPECT_TRUE(deleted("f1"));
  EXPECT_TRUE(untouched("f2"));
}

TEST_F(Files, RegisterAddsToWhatTheSessionTracks) {
  add_file("f2");
  auto a = open_tracking({"f1"});
  send_json(a, R"({"type":"register","fileIds":["f2","f1"],"ref":"r2"})");
  auto r = a.link->last("registered");
  EXPECT_EQ(str(r.at("ref")), "r2");
  EXPECT_EQ(str_list(r.at("file_ids")), (strings{"f1", "f2"}));
  EXPECT_TRUE(r.at("rejected").as_array().empty());
  EXPECT_EQ(tracked_rows(a.session_id()), (strings{"f1", "f2"}));
}

TEST_F(Files, RegisterForAnotherUserIdIsForbidden) {
  add_file("f1");
  auto a = open_session("alice");
  send_json(a, R"({"type":"register","user_id":"bob","file_ids":["f1"],"ref":1})");
  EXPECT_EQ(str(a.link->last("error").at("code")), "forbidden");
  EXPECT_EQ(a.link->count("registered"), 0u);
  EXPECT_TRUE(tracked_rows(a.session_id()).empty());
}

TEST_F(Files, FileUploadedIsAckedOnlyAfterTheCommit) {
  add_file("f1");
  auto a = open_session();
  auto sid = a.session_id();
  // When the ack shows up, a second connection (which sees committed rows only) must already see
  // the tracked row.
  bool acked = send_json_stepwise(a, R"({"type":"file_uploaded","file_id":"f1","ref":"u1"})", "ack", [&] {
    EXPECT_EQ(tracked_rows(sid), strings{"f1"}) << "ack sent before the commit";
    EXPECT_EQ(raw().text("SELECT COUNT(*) FROM audit WHERE event='file_tracked' AND file_id='f1'"), "1");
  });
  ASSERT_TRUE(acked) << a.link->dump();
  run();
  auto ack = a.link->last("ack");
  EXPECT_EQ(str(ack.at("for")), "file_uploaded");
  EXPECT_EQ(str(ack.at("file_id")), "f1");
  EXPECT_EQ(str(ack.at("ref")), "u1");
}

TEST_F(Files, RegisteredIsSentOnlyAfterTheCommit) {
  add_file("f1");
  auto a = open_session();
  auto sid = a.session_id();
  bool answered = send_json_stepwise(a, R"({"type":"register","file_ids":["f1"]})", "registered", [&] {
    EXPECT_EQ(tracked_rows(sid), strings{"f1"}) << "registered sent before the commit";
  });
  EXPECT_TRUE(answered) << a.link->dump();
}

TEST_F(Files, FileUploadedOfForeignOrUnknownFileIsAnError) {
  add_file("f2", "bob");
  auto a = open_session("alice");
  send_json(a, R"({"type":"file_uploaded","file_id":"f2","ref":1})");
  send_json(a, R"({"type":"file_uploaded","file_id":"nope","ref":2})");
  auto errors = a.link->of_type("error");
  ASSERT_EQ(errors.size(), 2u) << a.link->dump();
  EXPECT_EQ(str(errors[0].at("code")), "forbidden");
  EXPECT_EQ(errors[0].at("ref").as_int64(), 1);
  EXPECT_EQ(str(errors[1].at("code")), "not_found");
  EXPECT_EQ(errors[1].at("ref").as_int64(), 2);
  EXPECT_EQ(a.link->count("ack"), 0u);
  EXPECT_TRUE(tracked_rows(a.session_id()).empty());
}

TEST_F(Files, FileRemovedOfAnUntrackedFileIsNotFound) {
  add_file("f1");
  auto a = open_session();
  send_json(a, R"({"type":"file_removed","file_id":"f1","ref":9})");
  auto e = a.link->last("error");
  EXPECT_EQ(str(e.at("code")), "not_found");
  EXPECT_EQ(e.at("ref").as_int64(), 9);
  EXPECT_EQ(a.link->count("ack"), 0u);
  EXPECT_TRUE(audit_of("file_untracked").empty());
}

TEST_F(Files, FileRemovedUntracksWithoutDeleting) {
  auto a = open_tracking({"f1", "f2"});
  auto sid = a.session_id();
  send_json(a, R"({"type":"file_removed","fileId":"f1","ref":"rm"})");
  auto ack = a.link->last("ack");
  EXPECT_EQ(str(ack.at("for")), "file_removed");
  EXPECT_EQ(str(ack.at("file_id")), "f1");
  EXPECT_EQ(str(ack.at("ref")), "rm");
  EXPECT_EQ(tracked_rows(sid), strings{"f2"});
  EXPECT_EQ(file_state("f1"), "active");
  auto untracked = audit_of("file_untracked", sid);
  ASSERT_EQ(untracked.size(), 1u);
  EXPECT_EQ(untracked[0].reason, "file_removed");

  drop(a, 1008, true);
  EXPECT_TRUE(untouched("f1"));
  EXPECT_TRUE(deleted("f2"));
}

TEST_F(Files, PostSubmittedKeepsTheFilesForever) {
  add_file("f3");
  auto a = open_tracking({"f1", "f2"});
  auto sid = a.session_id();
  send_json(a, R"({"type":"post_submitted","post_id":"p1","ref":4})");
  auto ack = a.link->last("ack");
  EXPECT_EQ(str(ack.at("for")), "post_submitted");
  EXPECT_EQ(str(ack.at("post_id")), "p1");
  EXPECT_EQ(str_list(ack.at("kept")), (strings{"f1", "f2"}));
  EXPECT_EQ(ack.at("ref").as_int64(), 4);
  EXPECT_EQ(file_state("f1"), "kept");
  EXPECT_EQ(file_state("f2"), "kept");
  EXPECT_TRUE(tracked_rows(sid).empty());

  // A file uploaded after the submission belongs to the next draft and is cleaned.
  send_json(a, R"({"type":"file_uploaded","file_id":"f3"})");
  drop(a);  // unplanned: the window passes, then cleanup
  advance(2000ms);
  EXPECT_EQ(closed_reasons(sid), strings{"closed"});
  EXPECT_EQ(file_state("f1"), "kept");
  EXPECT_EQ(file_state("f2"), "kept");
  EXPECT_TRUE(blob_exists("f1"));
  EXPECT_TRUE(blob_exists("f2"));
  EXPECT_TRUE(deleted("f3"));
}

TEST_F(Files, PostSubmittedWithoutPostIdAcksNull) {
  auto a = open_session();
  send_json(a, R"({"type":"post_submitted"})");
  auto ack = a.link->last("ack");
  EXPECT_TRUE(ack.at("post_id").is_null());
  EXPECT_TRUE(ack.at("kept").as_array().empty());
}

TEST_F(Files, AFileTrackedByAnotherLiveSessionIsNotDeleted) {
  auto a = open_tracking({"f1"});
  auto b = open_session("alice");
  send_json(b, R"({"type":"file_uploaded","file_id":"f1"})");
  ASSERT_EQ(str(b.link->last("ack").at("for")), "file_uploaded");

  send_json(a, R"({"type":"before_disconnect"})");
  drop(a, 1000);
  EXPECT_EQ(closed_reasons(a.session_id()), strings{"left"});
  EXPECT_TRUE(untouched("f1"));
  auto untracked = audit_of("file_untracked", a.session_id());
  ASSERT_EQ(untracked.size(), 1u);
  EXPECT_EQ(untracked[0].reason, "tracked_by_another_session");

  send_json(b, R"({"type":"before_disconnect"})");
  drop(b, 1000);
  EXPECT_EQ(closed_reasons(b.session_id()), strings{"left"});
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Files, AFileTrackedByADetachedSessionIsNotDeletedEither) {
  auto a = open_tracking({"f1"});
  auto b = open_session("alice");
  send_json(b, R"({"type":"register","file_ids":["f1"]})");
  drop(b);  // b waits in its resume window
  drop(a, 1008, true);
  EXPECT_EQ(file_state("f1"), "active");
  advance(2000ms);  // b's window passes
  EXPECT_EQ(closed_reasons(b.session_id()), strings{"closed"});
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Files, AMissingBlobCountsAsDeleted) {
  add_file("f1", "alice", /*with_blob=*/false);
  auto a = open_session();
  send_json(a, R"({"type":"register","file_ids":["f1"]})");
  drop(a, 1008, true);
  EXPECT_EQ(file_state("f1"), "deleted");
  EXPECT_EQ(audit_of("file_deleted").size(), 1u);
  auto st = db->stats();
  EXPECT_EQ(st.queued, 0);
  EXPECT_EQ(st.done_total, 1);
}

}  // namespace
}  // namespace tether::actor_testing
