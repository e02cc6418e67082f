// The file and audit HTTP API (PROTOCOL.md §5, §11 "Cleanup").
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

TEST(FilesHttp, UploadDownloadDeleteAndOwnership) {
  server_process s({"storage.max_upload_bytes=64"});
  auto alice = s.token("alice");
  auto bob = s.token("bob");

  EXPECT_EQ(http_call(s.port(), http::verb::post, "/api/files?name=x", "", "body").status, 401);
  EXPECT_EQ(http_call(s.port(), http::verb::post, "/api/files?name=x", "bad.token.here", "body").status, 401);
  auto big = http_call(s.port(), http::verb::post, "/api/files?name=big", alice, std::string(65, 'b'));
  EXPECT_EQ(big.status, 413) << big.body;
  auto err = big.json();
  ASSERT_TRUE(err.is_object()) << big.body;
  EXPECT_EQ(serialize(err.as_object()["error"].as_object()["code"]), "\"too_large\"") << big.body;

  auto f = upload(s, alice, "photo.jpg", std::string(64, 'a'));  // exactly the limit
  ASSERT_FALSE(f.empty());
  EXPECT_TRUE(s.blob_exists(f));
  auto got = http_call(s.port(), http::verb::get, "/api/files/" + f, alice);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, std::string(64, 'a'));
  // HEAD: the same headers, no body.
  auto head = http_call(s.port(), http::verb::head, "/api/files/" + f, alice);
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(head.headers["Content-Length"], "64");
  EXPECT_TRUE(head.body.empty());

  // Another user's file: 404 for reading and deleting; no token: 401.
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/files/" + f, bob).status, 404);
  EXPECT_EQ(http_call(s.port(), http::verb::delete_, "/api/files/" + f, bob).status, 404);
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/files/" + f).status, 401);
  EXPECT_TRUE(s.blob_exists(f));

  EXPECT_EQ(http_call(s.port(), http::verb::delete_, "/api/files/" + f, alice).status, 204);
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 2s));
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/files/" + f, alice).status, 404);
}

TEST(FilesHttp, RegisterExternalFile) {
  server_process s({"session.resume_window_ms=0"});
  auto key = s.api_key();
  auto body = [](const std::string& f, const std::string& u) {
    return serialize(object{{"file_id", f}, {"user_id", u}});
  };
  auto post = [&](const std::string& b, const std::string& bearer) {
    return http_call(s.port(), http::verb::post, "/api/files/register", bearer, b, "application/json");
  };
  EXPECT_EQ(post(body("ext-1", "alice"), "").status, 401);
  EXPECT_EQ(post(body("ext-1", "alice"), key).status, 201);
  EXPECT_EQ(post(body("ext-1", "bob"), key).status, 409);
  EXPECT_EQ(post("{not json", key).status, 400);

  // Alice can track it over WebSocket; Bob cannot.
  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, s.token("alice")));
  auto ack = request(c, {{"type", "file_uploaded"}, {"file_id", "ext-1"}});
  ASSERT_TRUE(ack);
  EXPECT_EQ(str(*ack, "type"), "ack") << serialize(*ack);
  ws_client b(s.port());
  ASSERT_TRUE(open_session(b, s.token("bob")));
  auto no = request(b, {{"type", "file_uploaded"}, {"file_id", "ext-1"}});
  ASSERT_TRUE(no);
  EXPECT_EQ(str(*no, "code"), "forbidden") << serialize(*no);

  // Closing Alice's session deletes it; a blob that was never there counts as done.
  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(wait_until([&] { return has_record(audit(s), "file_deleted", "", "ext-1"); }, 3s));
  EXPECT_FALSE(has_record(audit(s), "deletion_failed"));
}

TEST(FilesHttp, AuditFiltersAndLimit) {
  server_process s({"session.resume_window_ms=0"});
  auto d = closed_draft(s, s.token("alice"), {"1", "2"});
  ASSERT_FALSE(HasFailure());
  auto f1 = d.file_ids[0], f2 = d.file_ids[1], sid = d.session_id;
  ASSERT_TRUE(wait_until([&] { return has_record(audit(s), "file_deleted", "", f2); }, 3s));

  auto all = audit(s, "session_id=" + sid);
  ASSERT_GE(all.size(), 4u);
  for (const auto& r : all) EXPECT_EQ(str(r, "session_id"), sid) << serialize(r);
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(all[i - 1]["id"].to_number<std::int64_t>(), all[i]["id"].to_number<std::int64_t>()) << "not oldest first";
  for (const auto& r : all)
    for (const char* k : {"id", "at", "event", "session_id", "user_id", "file_id", "reason", "details"})
      EXPECT_TRUE(r.contains(k)) << k << " missing in " << serialize(r);
  auto at = str(all.front(), "at");
  EXPECT_EQ(at.size(), 24u) << at;  // 2026-01-01T12:00:00.000Z
  EXPECT_EQ(at.back(), 'Z') << at;

  auto newest2 = audit(s, "session_id=" + sid + "&limit=2");
  ASSERT_EQ(newest2.size(), 2u);
  EXPECT_EQ(serialize(newest2[0]), serialize(all[all.size() - 2]));
  EXPECT_EQ(serialize(newest2[1]), serialize(all.back()));

  auto by_file = audit(s, "file_id=" + f1);
  ASSERT_FALSE(by_file.empty());
  for (const auto& r : by_file) EXPECT_EQ(str(r, "file_id"), f1) << serialize(r);
  EXPECT_TRUE(has_record(by_file, "file_deleted"));

  auto by_user = audit(s, "user_id=alice");
  EXPECT_TRUE(has_record(by_user, "session_opened", "", "", sid));
  EXPECT_TRUE(audit(s, "user_id=nobody").empty());
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/audit?limit=0", s.api_key()).status, 400);
}
