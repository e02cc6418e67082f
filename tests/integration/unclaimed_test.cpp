// Uploads no session ever tracked (PROTOCOL.md §5): after cleanup.unclaimed_after_ms they are
// queued for deletion with the audit reason `unclaimed`; a registered upload is not touched.
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

TEST(Unclaimed, AnUploadNoSessionRegistersIsDeletedAndARegisteredOneIsNot) {
  // A sweep every 250 ms; a second is ample time to register an upload just made.
  server_process s({"cleanup.unclaimed_after_ms=1000"});
  auto alice = s.token("alice");

  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, alice));
  auto claimed = upload(s, alice, "kept-in-draft.jpg", "claimed");
  auto reg = request(c, {{"type", "register"}, {"file_ids", array{value(claimed)}}});
  ASSERT_TRUE(reg);
  ASSERT_EQ((*reg)["file_ids"], value(array{value(claimed)})) << serialize(*reg);

  // Uploaded after `claimed` was, and never registered: once it is gone, a sweep has run when
  // `claimed` was older than the limit too.
  auto orphan = upload(s, alice, "abandoned.jpg", "orphan");
  ASSERT_TRUE(s.blob_exists(orphan));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(orphan); }, 5s)) << "the unclaimed upload is still there";
  std::vector<boost::json::object> records;
  EXPECT_TRUE(wait_until(
      [&] {
        records = audit(s, "file_id=" + orphan);
        return has_record(records, "file_deleted", "", orphan);
      },
      3s))
      << dump(records);
  EXPECT_TRUE(has_record(records, "deletion_queued", "unclaimed", orphan)) << dump(records);
  auto gone = http_call(s.port(), boost::beast::http::verb::get, "/api/files/" + orphan, alice);
  EXPECT_EQ(gone.status, 404);

  EXPECT_TRUE(s.blob_exists(claimed));
  EXPECT_FALSE(has_record(audit(s, "file_id=" + claimed), "deletion_queued")) << dump(audit(s, "file_id=" + claimed));
  auto got = http_call(s.port(), boost::beast::http::verb::get, "/api/files/" + claimed, alice);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "claimed");
}

TEST(Unclaimed, ZeroKeepsUnregisteredUploads) {
  // With the sweep off, an upload no session registers stays; a second server's witness upload
  // shows a sweep would have had time to run.
  server_process s({"cleanup.unclaimed_after_ms=0"});
  server_process witness({"cleanup.unclaimed_after_ms=200"});
  auto orphan = upload(s, s.token("alice"), "abandoned.jpg", "orphan");
  auto w = upload(witness, witness.token("alice"), "abandoned.jpg", "witness");
  ASSERT_TRUE(wait_until([&] { return !witness.blob_exists(w); }, 5s));
  EXPECT_TRUE(s.blob_exists(orphan));
  EXPECT_FALSE(has_record(audit(s), "deletion_queued")) << dump(audit(s));
}
