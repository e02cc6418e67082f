// Unit tests for the durable deletion queue of storage/database (PROTOCOL.md §5: retried with
// backoff up to cleanup.max_attempts, then marked failed and shown in metrics / admin API).
#include "proto/clock.hpp"
#include "storage/database.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace tether::storage_testing {
namespace {

using strings = std::vector<std::string>;

class DeletionQueue : public database_test {
 protected:
  // Queues `id` (owned by alice) at `now` through the owner's explicit delete.
  void queue(const std::string& id, std::int64_t now = T0) {
    add_file(id, "alice", now);
    ASSERT_TRUE(db().queue_file_deletion(id, "alice", now));
  }
  // Queues `id` through the end of a session s-<id> of alice.
  void queue_via_session(const std::string& id, std::int64_t now = T0) {
    add_file(id, "alice", now);
    std::string sid = "s-" + id;
    db().open_session(sid, "alice", "r-" + id, now);
    db().track(sid, "alice", {id}, "", now);
    ASSERT_EQ(db().end_session(sid, "closed", now), 1);
  }
  std::optional<failed_deletion> failed_entry(const std::string& id) {
    for (auto& f : db().stats().failed)
      if (f.file_id == id) return f;
    return std::nullopt;
  }
};

// ---- due_deletions / next_deletion_at ----

TEST_F(DeletionQueue, EmptyQueue) {
  EXPECT_TRUE(db().due_deletions(T0 + 1000000, 100).empty());
  EXPECT_EQ(db().next_deletion_at(), std::nullopt);
  auto s = db().stats();
  EXPECT_EQ(totals(s), (counts{0, 0, 0})) << "queued, done, failed";
  EXPECT_TRUE(s.failed.empty());
}

TEST_F(DeletionQueue, DueDeletionsRespectsNextMs) {
  queue("late", T0 + 200);
  queue("early", T0);
  queue("middle", T0 + 100);
  EXPECT_TRUE(db().due_deletions(T0 - 1, 10).empty());
  EXPECT_EQ(job_ids(db().due_deletions(T0, 10)), strings{"early"});
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 99, 10)), strings{"early"});
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 100, 10)), (strings{"early", "middle"}));
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 10000, 10)), (strings{"early", "middle", "late"}));
  for (auto& j : db().due_deletions(T0 + 10000, 10)) EXPECT_EQ(j.attempts, 0);
}

TEST_F(DeletionQueue, DueDeletionsRespectsLimit) {
  queue("a", T0);
  queue("b", T0 + 1);
  queue("c", T0 + 2);
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 10, 1)), strings{"a"});
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 10, 2)), (strings{"a", "b"}));
  EXPECT_EQ(db().due_deletions(T0 + 10, 3).size(), 3u);
  EXPECT_EQ(db().due_deletions(T0 + 10, 100).size(), 3u);
  EXPECT_TRUE(db().due_deletions(T0 + 10, 0).empty());
}

TEST_F(DeletionQueue, DueDeletionsDoesNotConsumeJobs) {
  queue("a");
  EXPECT_EQ(db().due_deletions(T0, 10).size(), 1u);
  EXPECT_EQ(db().due_deletions(T0, 10).size(), 1u);
  EXPECT_EQ(state_of("a"), "queued");
}

TEST_F(DeletionQueue, NextDeletionAtIsTheEarliestQueued) {
  queue("a", T0 + 50);
  queue("b", T0 + 20);
  EXPECT_EQ(db().next_deletion_at(), T0 + 20);
  db().deletion_done("b", T0 + 20);
  EXPECT_EQ(db().next_deletion_at(), T0 + 50);
  db().deletion_done("a", T0 + 50);
  EXPECT_EQ(db().next_deletion_at(), std::nullopt);
}

TEST_F(DeletionQueue, QueueSurvivesRestart) {
  queue_via_session("a", T0);
  queue("b", T0 + 5);
  reopen();
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 5, 10)), (strings{"a", "b"}));
  EXPECT_EQ(db().next_deletion_at(), T0);
  EXPECT_EQ(db().stats().queued, 2);
}

// ---- deletion_done ----

TEST_F(DeletionQueue, DoneMarksTheFileDeleted) {
  queue_via_session("a", T0);
  db().deletion_done("a", T0 + 10);
  EXPECT_EQ(state_of("a"), "deleted");
  EXPECT_TRUE(db().due_deletions(T0 + 1000000, 10).empty());
  auto deleted = only_audit("file_deleted");
  EXPECT_EQ(who(deleted), (audit_who{"a", "alice", "s-a", ""}));  // s-a: the session whose end queued it
  EXPECT_EQ(deleted.at, iso8601_from_ms(T0 + 10));
  auto s = db().stats();
  EXPECT_EQ(totals(s), (counts{0, 1, 0})) << "queued, done, failed";
}

TEST_F(DeletionQueue, DoneIsIdempotent) {
  queue("a");
  db().deletion_done("a", T0 + 1);
  auto n = audit_all().size();
  db().deletion_done("a", T0 + 2);
  db().deletion_done("a", T0 + 3);
  EXPECT_EQ(audit_all().size(), n);
  EXPECT_EQ(audit_of("file_deleted").size(), 1u);
  EXPECT_EQ(state_of("a"), "deleted");
  EXPECT_EQ(db().stats().done_total, 1);
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.integer("SELECT attempts FROM deletion_queue WHERE file_id='a'"), 1);
  EXPECT_EQ(raw.integer("SELECT updated_ms FROM files WHERE file_id='a'"), T0 + 1);
}

TEST_F(DeletionQueue, DoneOfAnUnqueuedFileIsANoOp) {
  add_file("active", "alice");
  auto n = audit_all().size();
  db().deletion_done("active", T0);
  db().deletion_done("ghost", T0);
  EXPECT_EQ(state_of("active"), "active");
  EXPECT_EQ(audit_all().size(), n);
  EXPECT_EQ(db().stats().done_total, 0);
}

TEST_F(DeletionQueue, DoneAfterRetries) {
  queue("a");
  retry_policy p{8, 1000, 300000};
  EXPECT_TRUE(db().deletion_failed("a", "EBUSY", p, T0));
  EXPECT_TRUE(db().deletion_failed("a", "EBUSY", p, T0 + 1000));
  db().deletion_done("a", T0 + 3000);
  EXPECT_EQ(state_of("a"), "deleted");
  EXPECT_EQ(db().stats().done_total, 1);
  EXPECT_EQ(db().next_deletion_at(), std::nullopt);
}

// ---- deletion_failed ----

TEST_F(DeletionQueue, BackoffDoublesFromBase) {
  queue("a");
  retry_policy p{100, 1000, 300000};
  std::int64_t now = T0;
  const std::int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000};
  std::int64_t attempt = 0;
  for (std::int64_t delay : expected) {
    ++attempt;
    ASSERT_TRUE(db().deletion_failed("a", "EIO " + std::to_string(attempt), p, now)) << attempt;
    EXPECT_EQ(db().next_deletion_at(), now + delay) << "attempt " << attempt;
    EXPECT_TRUE(db().due_deletions(now + delay - 1, 10).empty()) << "attempt " << attempt;
    auto due = db().due_deletions(now + delay, 10);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].attempts, attempt);
    EXPECT_EQ(state_of("a"), "queued");
    now += delay + 7;  // the retry runs a little late
  }
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("SELECT last_error FROM deletion_queue WHERE file_id='a'"),
            "EIO " + std::to_string(attempt));
}

TEST_F(DeletionQueue, BackoffIsCappedAtMax) {
  queue("a");
  retry_policy p{100, 1000, 3000};
  const std::int64_t expected[] = {1000, 2000, 3000, 3000, 3000};
  std::int64_t now = T0;
  for (std::int64_t delay : expected) {
    ASSERT_TRUE(db().deletion_failed("a", "EIO", p, now));
    EXPECT_EQ(db().next_deletion_at(), now + delay);
    now += delay;
  }
}

TEST_F(DeletionQueue, BackoffDoesNotOverflowAfterManyAttempts) {
  queue("a");
  retry_policy p{1000, 1000, 300000};
  std::int64_t now = T0;
  for (int i = 1; i <= 80; ++i) {
    ASSERT_TRUE(db().deletion_failed("a", "EIO", p, now));
    auto next = db().next_deletion_at();
    ASSERT_TRUE(next);
    EXPECT_GT(*next, now) << i;
    EXPECT_LE(*next - now, 300000) << i;
    if (i >= 10) {
      EXPECT_EQ(*next - now, 300000) << i;
    }
    now = *next;
  }
}

TEST_F(DeletionQueue, MarkedFailedAfterMaxAttempts) {
  queue_via_session("a", T0);
  retry_policy p{3, 1000, 300000};
  EXPECT_TRUE(db().deletion_failed("a", "EACCES 1", p, T0));
  EXPECT_TRUE(db().deletion_failed("a", "EACCES 2", p, T0 + 1000));
  EXPECT_TRUE(audit_of("deletion_failed").empty());
  EXPECT_FALSE(db().deletion_failed("a", "EACCES 3", p, T0 + 3000));  // the 3rd of 3 attempts

  EXPECT_EQ(state_of("a"), "failed");
  EXPECT_TRUE(db().due_deletions(T0 + 100000000, 10).empty());
  EXPECT_EQ(db().next_deletion_at(), std::nullopt);

  auto failed = only_audit("deletion_failed");
  EXPECT_EQ(who(failed), (audit_who{"a", "alice", "s-a", "EACCES 3"}));
  EXPECT_EQ(failed.details, R"({"attempts":3})");
  EXPECT_EQ(failed.at, iso8601_from_ms(T0 + 3000));

  auto s = db().stats();
  EXPECT_EQ(totals(s), (counts{0, 0, 1})) << "queued, done, failed";
  ASSERT_EQ(s.failed.size(), 1u);
  EXPECT_EQ(s.failed[0].file_id, "a");
  EXPECT_EQ(s.failed[0].attempts, 3);
  EXPECT_EQ(s.failed[0].last_error, "EACCES 3");
}

TEST_F(DeletionQueue, DefaultPolicyGivesEightAttempts) {
  queue("a");
  retry_policy p;  // defaults: 8 attempts, 1 s base, 5 min cap
  EXPECT_EQ(p.max_attempts, 8);
  std::int64_t now = T0;
  for (int i = 1; i < 8; ++i) {
    ASSERT_TRUE(db().deletion_failed("a", "EIO", p, now)) << i;
    now = *db().next_deletion_at();
  }
  EXPECT_FALSE(db().deletion_failed("a", "EIO", p, now));
  EXPECT_EQ(state_of("a"), "failed");
  EXPECT_EQ(failed_entry("a")->attempts, 8);
}

TEST_F(DeletionQueue, OneAttemptPolicyFailsAtOnce) {
  queue("a");
  EXPECT_FALSE(db().deletion_failed("a", "EROFS", retry_policy{1, 1000, 300000}, T0));
  EXPECT_EQ(state_of("a"), "failed");
  EXPECT_EQ(failed_entry("a")->attempts, 1);
}

TEST_F(DeletionQueue, FailedJobIsFinal) {
  queue("a");
  retry_policy p{1, 1000, 300000};
  ASSERT_FALSE(db().deletion_failed("a", "EIO", p, T0));
  auto n = audit_all().size();
  EXPECT_FALSE(db().deletion_failed("a", "EIO again", p, T0 + 1));
  db().deletion_done("a", T0 + 2);
  EXPECT_EQ(audit_all().size(), n);
  EXPECT_EQ(state_of("a"), "failed");
  EXPECT_EQ(failed_entry("a")->last_error, "EIO");
  EXPECT_EQ(db().stats().failed_total, 1);
  EXPECT_EQ(db().stats().done_total, 0);
  // Its owner can no longer queue it, nor can a session track it.
  EXPECT_FALSE(db().queue_file_deletion("a", "alice", T0 + 3));
}

TEST_F(DeletionQueue, FailedOfAnUnqueuedFileReturnsFalse) {
  add_file("active", "alice");
  retry_policy p;
  EXPECT_FALSE(db().deletion_failed("ghost", "EIO", p, T0));
  EXPECT_FALSE(db().deletion_failed("active", "EIO", p, T0));
  EXPECT_EQ(state_of("active"), "active");
  EXPECT_EQ(db().stats().failed_total, 0);
}

TEST_F(DeletionQueue, StatsCountEveryState) {
  retry_policy once{1, 1000, 300000};
  queue("q1");
  queue("q2");
  queue("d1");
  queue("d2");
  queue("d3");
  queue("f1", T0);
  queue("f2", T0);
  db().deletion_done("d1", T0);
  db().deletion_done("d2", T0);
  db().deletion_done("d3", T0);
  db().deletion_failed("f1", "first", once, T0 + 1);
  db().deletion_failed("f2", "second", once, T0 + 2);
  auto s = db().stats();
  EXPECT_EQ(totals(s), (counts{2, 3, 2})) << "queued, done, failed";
  ASSERT_EQ(s.failed.size(), 2u);
  // Most recently failed first.
  EXPECT_EQ(s.failed[0].file_id, "f2");
  EXPECT_EQ(s.failed[0].last_error, "second");
  EXPECT_EQ(s.failed[1].file_id, "f1");
  EXPECT_EQ(s.failed[1].last_error, "first");
  reopen();
  auto again = db().stats();
  EXPECT_EQ(again.queued, 2);
  EXPECT_EQ(again.done_total, 3);
  EXPECT_EQ(again.failed_total, 2);
}

// ---- queue_file_deletion (HTTP DELETE) ----

TEST_F(DeletionQueue, OwnerQueuesActiveFile) {
  add_file("a", "alice");
  EXPECT_TRUE(db().queue_file_deletion("a", "alice", T0 + 9));
  EXPECT_EQ(state_of("a"), "queued");
  EXPECT_EQ(job_ids(db().due_deletions(T0 + 9, 10)), strings{"a"});
  EXPECT_EQ(db().next_deletion_at(), T0 + 9);
  EXPECT_EQ(who(only_audit("deletion_queued")), (audit_who{"a", "alice", "", "api_delete"}));
  // Its deletion audit carries no session.
  db().deletion_done("a", T0 + 10);
  EXPECT_EQ(who(only_audit("file_deleted")), (audit_who{"a", "alice", "", ""}));
}

TEST_F(DeletionQueue, OwnerQueuesKeptFile) {
  add_file("k", "alice");
  session_tracking("s1", "r1", {"k"});
  db().submit("s1", "alice", "p", T0);
  ASSERT_EQ(state_of("k"), "kept");
  EXPECT_TRUE(db().queue_file_deletion("k", "alice", T0));
  EXPECT_EQ(state_of("k"), "queued");
}

TEST_F(DeletionQueue, AnotherUserCannotQueue) {
  add_file("a", "alice");
  auto n = audit_all().size();
  EXPECT_FALSE(db().queue_file_deletion("a", "bob", T0));
  EXPECT_EQ(state_of("a"), "active");
  EXPECT_TRUE(db().due_deletions(T0, 10).empty());
  EXPECT_EQ(audit_all().size(), n);
}

TEST_F(DeletionQueue, UnknownFileCannotBeQueued) {
  EXPECT_FALSE(db().queue_file_deletion("ghost", "alice", T0));
  EXPECT_EQ(db().stats().queued, 0);
}

TEST_F(DeletionQueue, OnlyActiveOrKeptCanBeQueued) {
  queue("q");
  queue("d");
  db().deletion_done("d", T0);
  auto n = audit_all().size();
  EXPECT_FALSE(db().queue_file_deletion("q", "alice", T0 + 1));  // already queued
  EXPECT_FALSE(db().queue_file_deletion("d", "alice", T0 + 1));  // already deleted
  EXPECT_EQ(audit_all().size(), n);
  EXPECT_EQ(db().next_deletion_at(), T0);  // the queued job was not pushed back
  EXPECT_EQ(state_of("d"), "deleted");
}

}  // namespace
}  // namespace tether::storage_testing
