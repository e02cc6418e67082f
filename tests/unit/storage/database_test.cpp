// Unit tests for storage/database: migrations, files, tracking, submit, end_session, audit,
// transactions (PROTOCOL.md §5 "Abandoned-upload cleanup" and §11 "Cleanup").
#include "proto/clock.hpp"
#include "storage/database.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tether::storage_testing {
namespace {

using strings = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Migrations

class Migrations : public database_test {};

TEST_F(Migrations, NewDatabaseReachesLatestVersion) {
  EXPECT_GE(database::latest_schema_version(), 1);
  EXPECT_EQ(db().schema_version(), database::latest_schema_version());
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.integer("PRAGMA user_version"), database::latest_schema_version());
  for (const char* table : {"files", "sessions", "tracked", "deletion_queue", "audit"})
    EXPECT_EQ(raw.integer(std::string("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='") + table +
                          "'"),
              1)
        << table;
}

TEST_F(Migrations, ReopenKeepsDataAndVersion) {
  add_file("f1", "alice");
  db().open_session("s1", "alice", "r1", T0);
  db().track("s1", "alice", {"f1"}, "", T0);
  auto before = audit_all();

  reopen();
  EXPECT_EQ(db().schema_version(), database::latest_schema_version());
  auto f = db().find_file("f1");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->user_id, "alice");
  EXPECT_EQ(f->state, "active");
  EXPECT_EQ(db().tracked_files("s1"), strings{"f1"});
  auto after = audit_all();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].event, before[i].event);
  }

  // A third open (migrations are a no-op at the latest version) still works.
  reopen();
  EXPECT_EQ(db().schema_version(), database::latest_schema_version());
  EXPECT_TRUE(db().find_file("f1"));
}

TEST_F(Migrations, NewerSchemaRefusesToOpen) {
  db_.reset();
  const int newer = database::latest_schema_version() + 1;
  {
    raw_sqlite raw(db_path());
    raw.exec("PRAGMA user_version=" + std::to_string(newer));
  }
  try {
    database d(db_path());
    FAIL() << "a database newer than this build must not open";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
  // The refusal leaves the file untouched.
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.integer("PRAGMA user_version"), newer);
}

TEST_F(Migrations, JournalModeIsWal) {
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
}

TEST_F(Migrations, SynchronousFullOpensToo) {
  db_.reset();
  database d(path("full.db"), "full");
  EXPECT_EQ(d.schema_version(), database::latest_schema_version());
  raw_sqlite raw(path("full.db"));
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
}

// Open file descriptors of this process.
static int open_fds() {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

// Known bug (reported, not fixed here): when database::database() throws after sqlite3_open_v2
// succeeded (migrate() refusing a newer schema, or a failing PRAGMA), the destructor never runs and
// the connection (file descriptors of the db/-wal/-shm files, cached statements) leaks.
// Enable once the constructor closes the connection on failure.
TEST_F(Migrations, RefusedOpenReleasesTheConnection) {
  db_.reset();
  {
    raw_sqlite raw(db_path());
    raw.exec("PRAGMA user_version=" + std::to_string(database::latest_schema_version() + 1));
  }
  const int before = open_fds();
  for (int i = 0; i < 3; ++i) EXPECT_THROW(database d(db_path()), std::runtime_error);
  EXPECT_EQ(open_fds(), before);
}

TEST_F(Migrations, UnopenablePathThrows) {
  EXPECT_THROW(database(path("no/such/dir/tether.db")), std::runtime_error);
}

TEST_F(Migrations, ForeignKeysAreEnforced) {
  // tracked.session_id references sessions: tracking for a session that was never opened fails.
  add_file("f1", "alice");
  EXPECT_THROW(db().track("nope", "alice", {"f1"}, "", T0), std::runtime_error);
}

// ---------------------------------------------------------------------------------------------
// Files

class Files : public database_test {};

TEST_F(Files, InsertAndFind) {
  file_record f;
  f.file_id = "f1";
  f.user_id = "alice";
  f.name = "photo.jpg";
  f.size = 1234;
  f.external = true;
  f.state = "kept";  // ignored: new files are always active
  db().insert_file(f, T0);
  auto got = db().find_file("f1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->file_id, "f1");
  EXPECT_EQ(got->user_id, "alice");
  EXPECT_EQ(got->name, "photo.jpg");
  EXPECT_EQ(got->size, 1234);
  EXPECT_TRUE(got->external);
  EXPECT_EQ(got->state, "active");
  EXPECT_FALSE(db().find_file("f2"));
}

TEST_F(Files, DuplicateIdThrowsAndLeavesTheFirst) {
  add_file("f1", "alice");
  EXPECT_THROW(add_file("f1", "bob"), std::runtime_error);
  EXPECT_EQ(db().find_file("f1")->user_id, "alice");
  // The cached statement is still usable after the failure.
  add_file("f2", "bob");
  EXPECT_TRUE(db().find_file("f2"));
}

// ---------------------------------------------------------------------------------------------
// Sessions and tracking

class Tracking : public session_s1_test {};

TEST_F(Tracking, SessionOpenedIsAudited) {
  auto opened = audit_of("session_opened");
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].session_id, "s1");
  EXPECT_EQ(opened[0].user_id, "alice");
  EXPECT_EQ(opened[0].at, iso8601_from_ms(T0));
  EXPECT_EQ(session_state("s1"), "open");
}

TEST_F(Tracking, OwnFileIsTracked) {
  add_file("f1", "alice");
  auto r = db().track("s1", "alice", {"f1"}, "", T0 + 1);
  EXPECT_EQ(r.tracked, strings{"f1"});
  EXPECT_TRUE(r.rejected.empty());
  EXPECT_EQ(db().tracked_files("s1"), strings{"f1"});
  auto tracked = only_audit("file_tracked");
  EXPECT_EQ(who(tracked), (audit_who{"f1", "alice", "s1", ""}));
  EXPECT_EQ(tracked.details, "");
  EXPECT_EQ(tracked.at, iso8601_from_ms(T0 + 1));
  EXPECT_EQ(state_of("f1"), "active");
}

TEST_F(Tracking, DraftIdIsRecordedInTheAudit) {
  add_file("f1", "alice");
  db().track("s1", "alice", {"f1"}, "draft-7", T0);
  auto tracked = audit_of("file_tracked");
  ASSERT_EQ(tracked.size(), 1u);
  EXPECT_EQ(tracked[0].details, R"({"draft_id":"draft-7"})");
}

TEST_F(Tracking, AnotherUsersFileIsForbidden) {
  add_file("fb", "bob");
  auto r = db().track("s1", "alice", {"fb"}, "", T0);
  EXPECT_TRUE(r.tracked.empty());
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].first, "fb");
  EXPECT_EQ(r.rejected[0].second, track_outcome::forbidden);
  EXPECT_TRUE(db().tracked_files("s1").empty());
  EXPECT_TRUE(audit_of("file_tracked").empty());
  // ... and it is never deleted by alice's session ending.
  EXPECT_EQ(db().end_session("s1", "closed", T0 + 1), 0);
  EXPECT_EQ(state_of("fb"), "active");
}

TEST_F(Tracking, UnknownFileIsNotFound) {
  auto r = db().track("s1", "alice", {"ghost"}, "", T0);
  EXPECT_TRUE(r.tracked.empty());
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].first, "ghost");
  EXPECT_EQ(r.rejected[0].second, track_outcome::not_found);
  EXPECT_TRUE(audit_of("file_tracked").empty());
}

TEST_F(Tracking, QueuedDeletedOrFailedFileIsNotFound) {
  add_file("fq", "alice");
  add_file("fd", "alice");
  add_file("ff", "alice");
  ASSERT_TRUE(db().queue_file_deletion("fq", "alice", T0));
  ASSERT_TRUE(db().queue_file_deletion("fd", "alice", T0));
  db().deletion_done("fd", T0);
  ASSERT_TRUE(db().queue_file_deletion("ff", "alice", T0));
  retry_policy once{1, 1000, 300000};
  EXPECT_FALSE(db().deletion_failed("ff", "EIO", once, T0));
  ASSERT_EQ(state_of("fq"), "queued");
  ASSERT_EQ(state_of("fd"), "deleted");
  ASSERT_EQ(state_of("ff"), "failed");

  auto r = db().track("s1", "alice", {"fq", "fd", "ff"}, "", T0);
  EXPECT_TRUE(r.tracked.empty());
  ASSERT_EQ(r.rejected.size(), 3u);
  for (auto& [id, outcome] : r.rejected) EXPECT_EQ(outcome, track_outcome::not_found) << id;
  EXPECT_TRUE(db().tracked_files("s1").empty());
}

TEST_F(Tracking, KeptFileCanBeTracked) {
  add_file("f1", "alice");
  db().track("s1", "alice", {"f1"}, "", T0);
  db().submit("s1", "alice", "p1", T0);
  ASSERT_EQ(state_of("f1"), "kept");
  db().open_session("s2", "alice", "r2", T0);
  auto r = db().track("s2", "alice", {"f1"}, "", T0);
  EXPECT_EQ(r.tracked, strings{"f1"});
  EXPECT_TRUE(r.rejected.empty());
}

TEST_F(Tracking, RejectionsComeBackInRequestOrder) {
  add_file("mine", "alice");
  add_file("theirs", "bob");
  auto r = db().track("s1", "alice", {"ghost", "mine", "theirs", "ghost2"}, "", T0);
  EXPECT_EQ(r.tracked, strings{"mine"});
  ASSERT_EQ(r.rejected.size(), 3u);
  EXPECT_EQ(r.rejected[0], std::make_pair(std::string("ghost"), track_outcome::not_found));
  EXPECT_EQ(r.rejected[1], std::make_pair(std::string("theirs"), track_outcome::forbidden));
  EXPECT_EQ(r.rejected[2], std::make_pair(std::string("ghost2"), track_outcome::not_found));
}

TEST_F(Tracking, DuplicatesAreNotDoubleTracked) {
  add_file("f1", "alice");
  add_file("f2", "alice");
  auto r = db().track("s1", "alice", {"f1", "f1", "f2"}, "", T0);
  EXPECT_EQ(r.tracked, (strings{"f1", "f2"}));
  EXPECT_TRUE(r.rejected.empty());
  r = db().track("s1", "alice", {"f2", "f1"}, "", T0);
  EXPECT_EQ(r.tracked, (strings{"f1", "f2"}));  // order unchanged by re-tracking
  EXPECT_EQ(audit_of("file_tracked").size(), 2u);
}

TEST_F(Tracking, TrackedListKeepsTrackingOrderAndAddsToIt) {
  for (auto id : {"a", "b", "c", "d"}) add_file(id, "alice");
  db().track("s1", "alice", {"c"}, "", T0);
  db().track("s1", "alice", {"a", "d"}, "", T0);
  auto r = db().track("s1", "alice", {"b"}, "", T0);
  EXPECT_EQ(r.tracked, (strings{"c", "a", "d", "b"}));
  EXPECT_EQ(db().tracked_files("s1"), (strings{"c", "a", "d", "b"}));
  // Untracked then tracked again: it goes to the end.
  EXPECT_TRUE(db().untrack("s1", "alice", "c", T0));
  r = db().track("s1", "alice", {"c"}, "", T0);
  EXPECT_EQ(r.tracked, (strings{"a", "d", "b", "c"}));
}

TEST_F(Tracking, TrackingIsPerSession) {
  add_file("f1", "alice");
  add_file("f2", "alice");
  db().open_session("s2", "alice", "r2", T0);
  db().track("s1", "alice", {"f1"}, "", T0);
  auto r = db().track("s2", "alice", {"f2", "f1"}, "", T0);
  EXPECT_EQ(r.tracked, (strings{"f2", "f1"}));
  EXPECT_EQ(db().tracked_files("s1"), strings{"f1"});
  EXPECT_TRUE(db().tracked_files("unknown").empty());
}

TEST_F(Tracking, UntrackRemovesWithoutDeleting) {
  add_file("f1", "alice");
  db().track("s1", "alice", {"f1"}, "", T0);
  EXPECT_TRUE(db().untrack("s1", "alice", "f1", T0 + 5));
  EXPECT_TRUE(db().tracked_files("s1").empty());
  EXPECT_EQ(state_of("f1"), "active");
  auto untracked = audit_of("file_untracked");
  ASSERT_EQ(untracked.size(), 1u);
  EXPECT_EQ(who(untracked[0]), (audit_who{"f1", "alice", "s1", "file_removed"}));
  EXPECT_EQ(untracked[0].at, iso8601_from_ms(T0 + 5));
  // Ending the session no longer deletes it.
  EXPECT_EQ(db().end_session("s1", "closed", T0 + 6), 0);
  EXPECT_EQ(state_of("f1"), "active");
}

TEST_F(Tracking, UntrackOfUntrackedReturnsFalseAndWritesNothing) {
  add_file("f1", "alice");
  auto n = audit_all().size();
  EXPECT_FALSE(db().untrack("s1", "alice", "f1", T0));     // exists, never tracked
  EXPECT_FALSE(db().untrack("s1", "alice", "ghost", T0));  // does not exist
  db().track("s1", "alice", {"f1"}, "", T0);
  EXPECT_TRUE(db().untrack("s1", "alice", "f1", T0));
  n += 2;  // file_tracked + file_untracked
  EXPECT_FALSE(db().untrack("s1", "alice", "f1", T0));  // already untracked
  EXPECT_EQ(audit_all().size(), n);
}

TEST_F(Tracking, SubmitKeepsTrackedFilesAndClearsTracking) {
  add_file("f1", "alice");
  add_file("f2", "alice");
  add_file("other", "alice");
  db().track("s1", "alice", {"f2", "f1"}, "", T0);
  auto kept = db().submit("s1", "alice", "post-1", T0 + 10);
  EXPECT_EQ(kept, (strings{"f2", "f1"}));
  EXPECT_EQ(state_of("f1"), "kept");
  EXPECT_EQ(state_of("f2"), "kept");
  EXPECT_EQ(state_of("other"), "active");
  EXPECT_TRUE(db().tracked_files("s1").empty());
  auto submitted = audit_of("post_submitted");
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].session_id, "s1");
  EXPECT_EQ(submitted[0].user_id, "alice");
  EXPECT_EQ(submitted[0].details, R"({"post_id":"post-1","kept":2})");
  EXPECT_EQ(submitted[0].at, iso8601_from_ms(T0 + 10));
  // The kept files survive the end of the session.
  EXPECT_EQ(db().end_session("s1", "closed", T0 + 11), 0);
  EXPECT_EQ(state_of("f1"), "kept");
  EXPECT_EQ(state_of("f2"), "kept");
  EXPECT_EQ(db().stats().queued, 0);
}

TEST_F(Tracking, SubmitDoesNotReviveAFileBeingDeleted) {
  add_file("f1", "alice");
  add_file("f2", "alice");
  db().track("s1", "alice", {"f1", "f2"}, "", T0);
  ASSERT_TRUE(db().queue_file_deletion("f2", "alice", T0));  // HTTP DELETE while tracked
  db().submit("s1", "alice", "p", T0 + 1);
  EXPECT_EQ(state_of("f1"), "kept");
  EXPECT_EQ(state_of("f2"), "queued");
  EXPECT_EQ(job_ids(db().due_deletions(T0, 10)), strings{"f2"});
}

TEST_F(Tracking, SubmitWithNothingTracked) {
  auto kept = db().submit("s1", "alice", "post-2", T0);
  EXPECT_TRUE(kept.empty());
  auto submitted = audit_of("post_submitted");
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].details, R"({"post_id":"post-2","kept":0})");
}

TEST_F(Tracking, SubmitThenNewDraftOnTheSameSession) {
  add_file("f1", "alice");
  add_file("f2", "alice");
  db().track("s1", "alice", {"f1"}, "", T0);
  db().submit("s1", "alice", "p1", T0);
  db().track("s1", "alice", {"f2"}, "", T0);
  EXPECT_EQ(db().tracked_files("s1"), strings{"f2"});
  EXPECT_EQ(db().end_session("s1", "closed", T0), 1);
  EXPECT_EQ(state_of("f1"), "kept");
  EXPECT_EQ(state_of("f2"), "queued");
}

TEST_F(Tracking, AuditTrailOfAWholeDraft) {
  add_file("f1", "alice");
  add_file("f2", "alice");
  db().track("s1", "alice", {"f1", "f2"}, "", T0);
  db().untrack("s1", "alice", "f2", T0);
  db().submit("s1", "alice", "p", T0);
  db().end_session("s1", "left", T0);
  EXPECT_EQ(audit_events(), (strings{"session_opened", "file_tracked", "file_tracked", "file_untracked",
                                     "post_submitted", "session_closed"}));
}

// ---------------------------------------------------------------------------------------------
// end_session

class EndSession : public session_s1_test {};

TEST_F(EndSession, QueuesEveryActiveTrackedFile) {
  for (auto id : {"a", "b", "c", "untouched"}) add_file(id, "alice");
  db().track("s1", "alice", {"a", "b", "c"}, "", T0);
  EXPECT_EQ(db().end_session("s1", "timeout", T0 + 100), 3);

  for (auto id : {"a", "b", "c"}) EXPECT_EQ(state_of(id), "queued") << id;
  EXPECT_EQ(state_of("untouched"), "active");
  EXPECT_TRUE(db().tracked_files("s1").empty());
  EXPECT_EQ(session_state("s1"), "ended");

  auto due = db().due_deletions(T0 + 100, 10);
  EXPECT_EQ(sorted(job_ids(due)), (strings{"a", "b", "c"}));
  for (auto& j : due) EXPECT_EQ(j.attempts, 0);
  EXPECT_EQ(db().stats().queued, 3);
  EXPECT_EQ(db().next_deletion_at(), T0 + 100);

  auto queued = audit_of("deletion_queued");
  ASSERT_EQ(queued.size(), 3u);
  strings ids;
  for (auto& r : queued) {
    ids.push_back(r.file_id);
    EXPECT_EQ(r.session_id, "s1");
    EXPECT_EQ(r.user_id, "alice");
    EXPECT_EQ(r.reason, "timeout");
  }
  EXPECT_EQ(sorted(ids), (strings{"a", "b", "c"}));

  auto closed = audit_of("session_closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(who(closed[0]), (audit_who{"", "alice", "s1", "timeout"}));
  EXPECT_EQ(closed[0].details, R"({"files_queued":3})");
  EXPECT_EQ(closed[0].at, iso8601_from_ms(T0 + 100));
  // The close is the last record of the session.
  EXPECT_EQ(audit_all().back().event, "session_closed");
}

TEST_F(EndSession, RecordsEndedStateAndReason) {
  EXPECT_EQ(db().end_session("s1", "stale", T0 + 7), 0);
  raw_sqlite raw(db_path());
  auto row = raw.rows("SELECT state,end_reason,ended_ms FROM sessions WHERE session_id='s1'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], (strings{"ended", "stale", std::to_string(T0 + 7)}));
  auto closed = audit_of("session_closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, "stale");
  EXPECT_EQ(closed[0].details, R"({"files_queued":0})");
}

TEST_F(EndSession, SessionClosedReasons) {
  const strings reasons{"closed", "left", "timeout", "stale", "idle", "inactive", "shutdown", "crash"};
  for (size_t i = 0; i < reasons.size(); ++i) {
    std::string sid = "r" + std::to_string(i);
    db().open_session(sid, "alice", "tok" + sid, T0);
    db().end_session(sid, reasons[i], T0);
    audit_query q;
    q.session_id = sid;
    auto recs = db().read_audit(q);
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(recs.back().event, "session_closed");
    EXPECT_EQ(recs.back().reason, reasons[i]);
  }
}

TEST_F(EndSession, ExactlyOnce) {
  add_file("a", "alice");
  db().track("s1", "alice", {"a"}, "", T0);
  ASSERT_EQ(db().end_session("s1", "closed", T0), 1);
  auto audit_before = audit_all().size();
  auto stats_before = db().stats();

  EXPECT_EQ(db().end_session("s1", "closed", T0 + 1), 0);
  EXPECT_EQ(db().end_session("s1", "timeout", T0 + 2), 0);
  EXPECT_EQ(audit_all().size(), audit_before);
  EXPECT_EQ(db().stats().queued, stats_before.queued);
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("SELECT end_reason FROM sessions WHERE session_id='s1'"), "closed");
  EXPECT_EQ(raw.integer("SELECT ended_ms FROM sessions WHERE session_id='s1'"), T0);
}

TEST_F(EndSession, UnknownSessionIsANoOp) {
  auto n = audit_all().size();
  EXPECT_EQ(db().end_session("nope", "closed", T0), 0);
  EXPECT_EQ(audit_all().size(), n);
}

TEST_F(EndSession, DetachedSessionEndsToo) {
  add_file("a", "alice");
  db().track("s1", "alice", {"a"}, "", T0);
  db().detach_session("s1", "closed", T0);
  EXPECT_EQ(session_state("s1"), "detached");
  EXPECT_EQ(db().end_session("s1", "closed", T0 + 5000), 1);
  EXPECT_EQ(state_of("a"), "queued");
  EXPECT_EQ(session_state("s1"), "ended");
}

TEST_F(EndSession, FileTrackedByAnotherOpenSessionIsKept) {
  add_file("shared", "alice");
  add_file("mine", "alice");
  db().open_session("s2", "alice", "r2", T0);
  db().track("s1", "alice", {"shared", "mine"}, "", T0);
  db().track("s2", "alice", {"shared"}, "", T0);

  EXPECT_EQ(db().end_session("s1", "closed", T0 + 1), 1);
  EXPECT_EQ(state_of("shared"), "active");
  EXPECT_EQ(state_of("mine"), "queued");
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 1, 10)), strings{"mine"});
  auto untracked = audit_of("file_untracked");
  ASSERT_EQ(untracked.size(), 1u);
  EXPECT_EQ(untracked[0].file_id, "shared");
  EXPECT_EQ(untracked[0].session_id, "s1");
  EXPECT_EQ(untracked[0].reason, "tracked_by_another_session");
  EXPECT_EQ(audit_of("session_closed")[0].details, R"({"files_queued":1})");

  // The other session still tracks it; when it ends too, the file goes.
  EXPECT_EQ(db().tracked_files("s2"), strings{"shared"});
  EXPECT_EQ(db().end_session("s2", "closed", T0 + 2), 1);
  EXPECT_EQ(state_of("shared"), "queued");
}

TEST_F(EndSession, FileTrackedByAnotherDetachedSessionIsKept) {
  add_file("shared", "alice");
  db().open_session("s2", "alice", "r2", T0);
  db().track("s1", "alice", {"shared"}, "", T0);
  db().track("s2", "alice", {"shared"}, "", T0);
  db().detach_session("s2", "closed", T0);  // inside its resume window: still live

  EXPECT_EQ(db().end_session("s1", "closed", T0 + 1), 0);
  EXPECT_EQ(state_of("shared"), "active");
  EXPECT_TRUE(audit_of("deletion_queued").empty());
}

TEST_F(EndSession, FileTrackedByAnEndedSessionIsQueued) {
  add_file("shared", "alice");
  db().open_session("s2", "alice", "r2", T0);
  db().track("s1", "alice", {"shared"}, "", T0);
  db().track("s2", "alice", {"shared"}, "", T0);
  ASSERT_EQ(db().end_session("s2", "closed", T0), 0);  // s1 still holds it
  // A late track on the ended session leaves a tracked row behind; an ended session holds nothing.
  db().track("s2", "alice", {"shared"}, "", T0);
  ASSERT_EQ(db().tracked_files("s2"), strings{"shared"});

  EXPECT_EQ(db().end_session("s1", "closed", T0 + 1), 1);
  EXPECT_EQ(state_of("shared"), "queued");
  auto queued = only_audit("deletion_queued");
  EXPECT_EQ(queued.file_id, "shared");
  EXPECT_EQ(queued.session_id, "s1");
}

TEST_F(EndSession, KeptFilesAreNeverQueued) {
  add_file("k", "alice");
  add_file("a", "alice");
  db().track("s1", "alice", {"k"}, "", T0);
  db().submit("s1", "alice", "p", T0);
  db().open_session("s2", "alice", "r2", T0);
  db().track("s2", "alice", {"k", "a"}, "", T0);  // a kept file tracked again by a new draft

  EXPECT_EQ(db().end_session("s2", "closed", T0), 1);
  EXPECT_EQ(state_of("k"), "kept");
  EXPECT_EQ(state_of("a"), "queued");
  EXPECT_EQ(only_audit("deletion_queued").file_id, "a");
  EXPECT_EQ(db().end_session("s1", "closed", T0), 0);
  EXPECT_EQ(state_of("k"), "kept");
}

TEST_F(EndSession, FileAlreadyQueuedIsNotQueuedTwice) {
  add_file("a", "alice");
  db().track("s1", "alice", {"a"}, "", T0);
  ASSERT_TRUE(db().queue_file_deletion("a", "alice", T0));  // HTTP DELETE while tracked
  EXPECT_EQ(db().end_session("s1", "closed", T0 + 1), 0);
  EXPECT_EQ(audit_of("deletion_queued").size(), 1u);
  EXPECT_EQ(db().stats().queued, 1);
  EXPECT_EQ(db().next_deletion_at(), T0);  // the first queueing time stands
}

TEST_F(EndSession, OtherSessionsAreUntouched) {
  add_file("a", "alice");
  add_file("b", "alice");
  db().open_session("s2", "alice", "r2", T0);
  db().track("s1", "alice", {"a"}, "", T0);
  db().track("s2", "alice", {"b"}, "", T0);
  EXPECT_EQ(db().end_session("s1", "closed", T0), 1);
  EXPECT_EQ(db().tracked_files("s2"), strings{"b"});
  EXPECT_EQ(state_of("b"), "active");
  EXPECT_EQ(session_state("s2"), "open");
}

// ---------------------------------------------------------------------------------------------
// Audit

class Audit : public database_test {
 protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure()) return;
    db().audit("e1", "s1", "alice", "f1", "", "", T0 + 1);
    db().audit("e2", "s1", "alice", "f2", "", "", T0 + 2);
    db().audit("e3", "s2", "alice", "f1", "why", R"({"k":1})", T0 + 3);
    db().audit("e4", "s3", "bob", "f3", "", "", T0 + 4);
    db().audit("e5", "", "bob", "", "", "", T0 + 5);
  }
  static strings events(const std::vector<audit_record>& rs) {
    strings out;
    for (auto& r : rs) out.push_back(r.event);
    return out;
  }
};

TEST_F(Audit, AllRecordsOldestFirstWithEveryField) {
  auto rs = db().read_audit({});
  EXPECT_EQ(events(rs), (strings{"e1", "e2", "e3", "e4", "e5"}));
  for (size_t i = 1; i < rs.size(); ++i) EXPECT_LT(rs[i - 1].id, rs[i].id);
  EXPECT_EQ(rs[2].at, iso8601_from_ms(T0 + 3));
  EXPECT_EQ(rs[2].at, "2026-01-01T12:00:00.003Z");
  EXPECT_EQ(rs[2].session_id, "s2");
  EXPECT_EQ(rs[2].user_id, "alice");
  EXPECT_EQ(rs[2].file_id, "f1");
  EXPECT_EQ(rs[2].reason, "why");
  EXPECT_EQ(rs[2].details, R"({"k":1})");
}

TEST_F(Audit, FilterBySession) {
  audit_query q;
  q.session_id = "s1";
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e1", "e2"}));
  q.session_id = "none";
  EXPECT_TRUE(db().read_audit(q).empty());
}

TEST_F(Audit, FilterByFile) {
  audit_query q;
  q.file_id = "f1";
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e1", "e3"}));
}

TEST_F(Audit, FilterByUser) {
  audit_query q;
  q.user_id = "bob";
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e4", "e5"}));
}

TEST_F(Audit, FiltersCombine) {
  audit_query q;
  q.user_id = "alice";
  q.file_id = "f1";
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e1", "e3"}));
  q.session_id = "s2";
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e3"}));
  q.user_id = "bob";
  EXPECT_TRUE(db().read_audit(q).empty());
}

TEST_F(Audit, LimitKeepsTheNewestReturnedOldestFirst) {
  audit_query q;
  q.limit = 2;
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e4", "e5"}));
  q.limit = 1;
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e5"}));
  q.limit = 50;
  EXPECT_EQ(events(db().read_audit(q)).size(), 5u);
  q.limit = 1;
  q.user_id = "alice";
  EXPECT_EQ(events(db().read_audit(q)), (strings{"e3"}));
}

TEST_F(Audit, DefaultLimitIs100) {
  for (int i = 0; i < 150; ++i) db().audit("bulk" + std::to_string(i), "", "", "", "", "", T0);
  auto rs = db().read_audit({});
  ASSERT_EQ(rs.size(), 100u);
  EXPECT_EQ(rs.front().event, "bulk50");
  EXPECT_EQ(rs.back().event, "bulk149");
}

TEST_F(Audit, SurvivesReopen) {
  reopen();
  EXPECT_EQ(events(db().read_audit({})), (strings{"e1", "e2", "e3", "e4", "e5"}));
  db().audit("e6", "", "", "", "", "", T0 + 6);
  auto rs = db().read_audit({});
  EXPECT_EQ(rs.back().event, "e6");
  EXPECT_GT(rs.back().id, rs[rs.size() - 2].id);
}

// ---------------------------------------------------------------------------------------------
// Transactions

class Transactions : public database_test {};

TEST_F(Transactions, CommitMakesABatchDurable) {
  db().begin();
  add_file("a", "alice");
  add_file("b", "alice");
  {
    raw_sqlite raw(db_path());  // another connection does not see the open transaction
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM files"), 0);
  }
  db().commit();
  {
    raw_sqlite raw(db_path());
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM files"), 2);
  }
  reopen();
  EXPECT_TRUE(db().find_file("a"));
  EXPECT_TRUE(db().find_file("b"));
}

TEST_F(Transactions, RollbackUndoesTheBatch) {
  db().begin();
  add_file("a", "alice");
  db().open_session("s1", "alice", "r1", T0);
  db().rollback();
  EXPECT_FALSE(db().find_file("a"));
  EXPECT_TRUE(audit_all().empty());
  EXPECT_EQ(session_state("s1"), "");
}

TEST_F(Transactions, RollbackOutsideATransactionIsHarmless) {
  EXPECT_NO_THROW(db().rollback());
  add_file("a", "alice");
  EXPECT_NO_THROW(db().rollback());
  EXPECT_TRUE(db().find_file("a"));
}

TEST_F(Transactions, CommitWithoutBeginThrows) { EXPECT_THROW(db().commit(), std::runtime_error); }

TEST_F(Transactions, RolledBackOpLeavesTheRestOfTheBatch) {
  db().begin();
  db().savepoint();
  add_file("a", "alice");
  db().release();

  db().savepoint();
  add_file("b", "alice");
  db().rollback_to();

  db().savepoint();
  add_file("c", "alice");
  db().release();
  db().commit();

  reopen();
  EXPECT_TRUE(db().find_file("a"));
  EXPECT_FALSE(db().find_file("b"));
  EXPECT_TRUE(db().find_file("c"));
}

TEST_F(Transactions, FailingOpInsideABatchIsUndoneAlone) {
  add_file("dup", "alice");
  db().begin();
  db().savepoint();
  add_file("a", "alice");
  db().release();

  db().savepoint();
  EXPECT_THROW(add_file("dup", "bob"), std::runtime_error);
  db().rollback_to();

  db().savepoint();
  db().open_session("s1", "alice", "r1", T0);
  db().release();
  db().commit();

  reopen();
  EXPECT_TRUE(db().find_file("a"));
  EXPECT_EQ(db().find_file("dup")->user_id, "alice");
  EXPECT_EQ(session_state("s1"), "open");
}

TEST_F(Transactions, MultiRowOpRolledBackToItsSavepoint) {
  add_file("a", "alice");
  add_file("b", "alice");
  session_tracking("s1", "r1", {"a"});
  session_tracking("s2", "r2", {"b"});
  auto audit_before = audit_all().size();

  db().begin();
  db().savepoint();
  EXPECT_EQ(db().end_session("s1", "closed", T0 + 1), 1);
  db().rollback_to();  // as if a later step of this op had failed
  db().savepoint();
  EXPECT_EQ(db().end_session("s2", "closed", T0 + 1), 1);
  db().release();
  db().commit();

  reopen();
  EXPECT_EQ(session_state("s1"), "open");
  EXPECT_EQ(db().tracked_files("s1"), strings{"a"});
  EXPECT_EQ(state_of("a"), "active");
  EXPECT_EQ(session_state("s2"), "ended");
  EXPECT_EQ(state_of("b"), "queued");
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 1, 10)), strings{"b"});
  // Only s2's records were added: deletion_queued + session_closed.
  EXPECT_EQ(audit_all().size(), audit_before + 2);
  for (auto& r : audit_of("session_closed")) EXPECT_EQ(r.session_id, "s2");
}

TEST_F(Transactions, SavepointWithoutBeginIsItsOwnTransaction) {
  // Outside begin(), a savepoint opens a transaction; rollback_to() must end it (ROLLBACK TO + RELEASE),
  // and release() commits.
  db().savepoint();
  add_file("a", "alice");
  db().rollback_to();
  db().savepoint();
  add_file("b", "alice");
  db().release();
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("SELECT group_concat(file_id) FROM files"), "b");
  EXPECT_NO_THROW(db().begin());  // no transaction left open
  db().commit();
}

TEST_F(Transactions, WholeBatchRollbackAfterSavepoints) {
  db().begin();
  db().savepoint();
  add_file("a", "alice");
  db().release();
  db().rollback();
  EXPECT_FALSE(db().find_file("a"));
  // The connection is usable for the next batch.
  db().begin();
  add_file("b", "alice");
  db().commit();
  EXPECT_TRUE(db().find_file("b"));
}

}  // namespace
}  // namespace tether::storage_testing
