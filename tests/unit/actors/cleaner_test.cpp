// The cleaner and the durable deletion queue as the actors drive them (PROTOCOL.md §5:
// retried with backoff up to cleanup.max_attempts, then marked failed; deleting a file already
// gone counts as done).
#include "fixture.hpp"

#include <cerrno>

namespace tether::actor_testing {
namespace {

// Removes through the real store, but fails the first `failures` calls with EIO.
class flaky_store : public blob_store {
 public:
  flaky_store(std::shared_ptr<blob_store> inner, int failures) : inner_(std::move(inner)), failures_(failures) {}
  std::error_code remove(const std::string& file_id) override {
    ++calls;
    if (failures_ > 0) {
      --failures_;
      return {EIO, std::generic_category()};
    }
    return inner_->remove(file_id);
  }
  int calls = 0;

 private:
  std::shared_ptr<blob_store> inner_;
  int failures_;
};

class Cleaner : public actor_test {
 protected:
  std::shared_ptr<flaky_store> flaky(int failures) {
    auto f = std::make_shared<flaky_store>(blobs, failures);
    cleaner_store = f;
    return f;
  }
  // f1 queued for deletion straight in the database, then the cleaner woken. No session actor
  // is involved, so the only timer the clock can hold is the cleaner's.
  void queue_and_wake() {
    auto now = unix_ms();
    add_file("f1");
    db->open_session("s_x", "alice", "tok", now);
    db->track("s_x", "alice", {"f1"}, "", now);
    ASSERT_EQ(db->end_session("s_x", "closed", now), 1);
    caf::anon_send(deps().cleaner, wake_atom::value);
    run();
  }
};

TEST_F(Cleaner, AFailedRemovalStaysQueuedForARetry) {
  auto store = flaky(1);
  queue_and_wake();
  EXPECT_EQ(store->calls, 1);
  EXPECT_EQ(file_state("f1"), "queued");
  EXPECT_TRUE(blob_exists("f1"));
  auto row = raw().rows("SELECT state, attempts, last_error FROM deletion_queue WHERE file_id='f1'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0], "queued");
  EXPECT_EQ(row[0][1], "1");
  EXPECT_FALSE(row[0][2].empty());
  EXPECT_TRUE(audit_of("file_deleted").empty());
  EXPECT_EQ(db->stats().queued, 1);
  // The next attempt is scheduled (base 1000 ms): the cleaner holds a timer for it.
  EXPECT_TRUE(sched->has_pending_timeout());
}

TEST_F(Cleaner, GivesUpAfterMaxAttempts) {
  s.cleanup.max_attempts = 1;
  auto store = flaky(5);
  queue_and_wake();
  EXPECT_EQ(store->calls, 1);
  EXPECT_EQ(file_state("f1"), "failed");
  auto st = db->stats();
  EXPECT_EQ(st.queued, 0);
  EXPECT_EQ(st.failed_total, 1);
  ASSERT_EQ(st.failed.size(), 1u);
  EXPECT_EQ(st.failed[0].file_id, "f1");
  EXPECT_EQ(st.failed[0].attempts, 1);
  auto failed = audit_of("deletion_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].file_id, "f1");
  EXPECT_FALSE(sched->has_pending_timeout());  // nothing left to retry
}

TEST_F(Cleaner, ASessionEndWakesTheCleaner) {
  auto a = open_tracking({"f1"});
  drop(a, 1008, true);
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Cleaner, AWakeWithNothingDueDoesNoHarm) {
  queue_and_wake();
  EXPECT_TRUE(deleted("f1"));
  caf::anon_send(deps().cleaner, wake_atom::value);
  run();
  EXPECT_EQ(audit_of("file_deleted").size(), 1u);
  EXPECT_EQ(db->stats().done_total, 1);
  EXPECT_FALSE(sched->has_pending_timeout());
}

TEST_F(Cleaner, ATimerThatFindsNothingDueIsReArmed) {
  // The retry timer runs on the actor clock, due times on the wall clock; when the timer fires
  // before the wall clock reaches the due time (here: simulated time; in production: a wall
  // clock step back), the cleaner must arm a new timer instead of sleeping until the next wake.
  flaky(1);
  queue_and_wake();
  ASSERT_TRUE(sched->has_pending_timeout());
  advance(1000ms);  // the retry timer fires; the wall clock has not reached the due time
  EXPECT_EQ(file_state("f1"), "queued");
  EXPECT_TRUE(sched->has_pending_timeout()) << "the cleaner lost its retry timer";
}

}  // namespace
}  // namespace tether::actor_testing
