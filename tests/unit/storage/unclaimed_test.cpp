// Unit tests for the unclaimed sweep in storage/database (PROTOCOL.md §5: "An upload that no session
// has ever tracked ... after cleanup.unclaimed_after_ms it is queued for deletion, with the audit
// reason `unclaimed`. Submitted (kept) files and files tracked at least once are not affected.")
// and for the schema migration that makes "ever tracked" known for an existing database.
#include "storage/database.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::storage_testing {
namespace {

using strings = std::vector<std::string>;

constexpr std::int64_t hour = 3'600'000;

class Unclaimed : public database_test {
 protected:
  strings queued_ids(std::int64_t now) { return sorted(job_ids(db().due_deletions(now, 1000))); }
};

TEST_F(Unclaimed, AnOldUploadNoSessionEverTrackedIsQueued) {
  add_file("orphan", "alice", T0);
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + hour), 1);
  EXPECT_EQ(state_of("orphan"), "queued");
  EXPECT_EQ(queued_ids(T0 + hour), strings{"orphan"});
  EXPECT_EQ(who(only_audit("deletion_queued")), (audit_who{"orphan", "alice", "", "unclaimed"}));
  // Through the same queue as every deletion: done is done.
  db().deletion_done("orphan", T0 + hour + 1);
  EXPECT_EQ(state_of("orphan"), "deleted");
  // Once is enough.
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + 2 * hour), 0);
  EXPECT_EQ(audit_of("deletion_queued").size(), 1u);
}

TEST_F(Unclaimed, AYoungUploadWaits) {
  add_file("young", "alice", T0);
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + hour - 1), 0);
  EXPECT_EQ(state_of("young"), "active");
  EXPECT_TRUE(audit_of("deletion_queued").empty());
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + hour), 1);  // exactly that old: its time has come
}

TEST_F(Unclaimed, AFileTrackedOnceIsNeverUnclaimed) {
  add_file("tracked_now", "alice", T0);
  add_file("tracked_once", "alice", T0);
  db().open_session("s1", "alice", "r1", T0);
  db().track("s1", "alice", {"tracked_now", "tracked_once"}, "", T0);
  ASSERT_TRUE(db().untrack("s1", "alice", "tracked_once", T0 + 1));  // file_removed: untracked, not deleted
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + 10 * hour), 0);
  EXPECT_EQ(state_of("tracked_now"), "active");
  EXPECT_EQ(state_of("tracked_once"), "active");
}

TEST_F(Unclaimed, KeptFilesAreNotAffected) {
  add_file("kept", "alice", T0);
  db().open_session("s1", "alice", "r1", T0);
  db().track("s1", "alice", {"kept"}, "", T0);
  ASSERT_EQ(db().submit("s1", "alice", "p1", T0), strings{"kept"});
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + 10 * hour), 0);
  EXPECT_EQ(state_of("kept"), "kept");
}

// Files the service registered for an external store (POST /api/files/register) are the
// service's to keep or drop: tether holds no bytes of them (docs/protocol.md).
TEST_F(Unclaimed, FilesRegisteredForAnExternalStoreAreNotAffected) {
  file_record f;
  f.file_id = "ext-1";
  f.user_id = "alice";
  f.external = true;
  db().insert_file(f, T0);
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + 10 * hour), 0);
  EXPECT_EQ(state_of("ext-1"), "active");
}

TEST_F(Unclaimed, FilesOnTheirWayOutAreLeftAlone) {
  add_file("deleted_by_owner", "alice", T0);
  ASSERT_TRUE(db().queue_file_deletion("deleted_by_owner", "alice", T0 + 1));
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + 10 * hour), 0);
  auto q = audit_of("deletion_queued");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].reason, "api_delete");
}

TEST_F(Unclaimed, ABatchIsBoundedAndTakesTheOldestFirst) {
  add_file("c", "alice", T0 + 2);
  add_file("a", "alice", T0);
  add_file("b", "bob", T0 + 1);
  EXPECT_EQ(db().queue_unclaimed(hour, 2, T0 + 10 * hour), 2);
  EXPECT_EQ(queued_ids(T0 + 10 * hour), (strings{"a", "b"}));
  EXPECT_EQ(state_of("c"), "active");
  EXPECT_EQ(db().queue_unclaimed(hour, 2, T0 + 10 * hour), 1);
  EXPECT_EQ(state_of("c"), "queued");
}

TEST_F(Unclaimed, TheSweepQueryUsesThePartialIndex) {
  raw_sqlite raw(db_path());
  auto plan = raw.rows(
      "EXPLAIN QUERY PLAN SELECT file_id,user_id FROM files "
      "WHERE state='active' AND claimed=0 AND external=0 AND created_ms<=1 ORDER BY created_ms LIMIT 500");
  std::string text;
  for (auto& row : plan) text += row.back() + "\n";
  EXPECT_NE(text.find("USING INDEX files_unclaimed"), std::string::npos) << text;
  EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << text;  // no sort either
}

// A database file written by the previous version (schema v1, no files.claimed): the migration
// marks every file a session tracks now, or the audit says one tracked, as claimed.
TEST_F(Unclaimed, MigrationFromV1KnowsWhichFilesWereEverTracked) {
  add_file("orphan", "alice", T0);
  add_file("tracked_now", "alice", T0);
  add_file("tracked_once", "alice", T0);
  db().open_session("s1", "alice", "r1", T0);
  db().track("s1", "alice", {"tracked_now", "tracked_once"}, "", T0);
  ASSERT_TRUE(db().untrack("s1", "alice", "tracked_once", T0));
  db_.reset();
  {
    // Back to the v1 schema, as the previous tetherd left it.
    raw_sqlite raw(db_path());
    // Back to v1: undo v2 (files.claimed) and everything after it (v3: room_places, v4: users,
    // v5: chats and notifications, v6: webhooks).
    raw.exec("DROP TABLE session_channels; DROP TABLE webhook_outbox; DROP TABLE webhook_members; "
             "DROP TABLE message_reads; DROP TABLE chat_messages; DROP TABLE chat_members; DROP TABLE chats; "
             "DROP TABLE notifications; DROP TABLE room_places; DROP TABLE users; DROP TABLE deleted_guests; "
             "DROP INDEX files_unclaimed; "
             "ALTER TABLE files DROP COLUMN claimed; PRAGMA user_version=1");
  }
  open();
  EXPECT_EQ(db().schema_version(), database::latest_schema_version());
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("SELECT group_concat(file_id) FROM (SELECT file_id FROM files WHERE claimed=1 ORDER BY file_id)"),
            "tracked_now,tracked_once");
  EXPECT_EQ(db().queue_unclaimed(hour, 500, T0 + 10 * hour), 1);
  EXPECT_EQ(state_of("orphan"), "queued");
  EXPECT_EQ(state_of("tracked_now"), "active");
  EXPECT_EQ(state_of("tracked_once"), "active");
}

}  // namespace
}  // namespace tether::storage_testing
