// The unclaimed sweep (PROTOCOL.md §5): uploads no session ever tracked are queued for deletion
// after cleanup.unclaimed_after_ms (0 = never), with the audit reason `unclaimed`, and go through
// the durable deletion queue like every other deletion. The supervisor drives it from recovery on;
// the storage actor runs each batch as its own transaction.
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

constexpr std::int64_t hour = 3'600'000;

class Unclaimed : public actor_test {
 protected:
  Unclaimed() { s.cleanup.unclaimed_after_ms = hour; }

  // An upload made `age_ms` ago (by the wall clock, which the storage actor reads), with its blob.
  void upload(const std::string& file_id, std::int64_t age_ms, const std::string& user = "alice",
              bool external = false) {
    file_record f;
    f.file_id = file_id;
    f.user_id = user;
    f.external = external;
    db->insert_file(f, unix_ms() - age_ms);
    std::ofstream(blobs->path_of(file_id), std::ios::binary) << "data";
  }

  strings unclaimed_audit() {
    strings out;
    for (auto& r : audit_of("deletion_queued"))
      if (r.reason == "unclaimed") out.push_back(r.file_id);
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(Unclaimed, OnlyOldUploadsNoSessionEverTrackedAreDeleted) {
  upload("orphan", 2 * hour);
  upload("young", hour / 2);
  upload("tracked_once", 2 * hour);
  upload("kept", 2 * hour);
  upload("external", 2 * hour, "alice", /*external=*/true);
  auto now = unix_ms();
  db->open_session("s_old", "alice", "tok", now);
  db->track("s_old", "alice", {"tracked_once", "kept"}, "", now);
  ASSERT_TRUE(db->untrack("s_old", "alice", "tracked_once", now));
  ASSERT_EQ(db->submit("s_old", "alice", "post-1", now), strings{"kept"});

  start_supervisor();
  ASSERT_EQ(started, std::optional<bool>(true));
  EXPECT_TRUE(deleted("orphan"));
  EXPECT_EQ(unclaimed_audit(), strings{"orphan"});
  EXPECT_EQ(audit_of("file_deleted").size(), 1u);
  EXPECT_EQ(file_state("young"), "active");
  EXPECT_EQ(file_state("tracked_once"), "active");
  EXPECT_EQ(file_state("kept"), "kept");
  EXPECT_EQ(file_state("external"), "active");
  for (const char* f : {"young", "tracked_once", "kept"}) EXPECT_TRUE(blob_exists(f)) << f;
}

TEST_F(Unclaimed, ZeroMeansNever) {
  s.cleanup.unclaimed_after_ms = 0;
  upload("orphan", 100 * hour);
  start_supervisor();
  ASSERT_EQ(started, std::optional<bool>(true));
  advance(120s);
  EXPECT_TRUE(untouched("orphan"));
  EXPECT_TRUE(unclaimed_audit().empty());
}

TEST_F(Unclaimed, TheSweepRunsAgainEveryQuarterOfTheAge) {
  s.cleanup.unclaimed_after_ms = 400;  // a sweep every 100 ms
  start_supervisor();
  ASSERT_EQ(started, std::optional<bool>(true));
  upload("later", 2 * hour);  // appears after the first sweep
  run();
  EXPECT_EQ(file_state("later"), "active");
  advance(100ms);
  EXPECT_TRUE(deleted("later"));
  upload("much_later", 2 * hour);
  advance(100ms);
  EXPECT_EQ(file_state("much_later"), "deleted");
}

TEST_F(Unclaimed, ABacklogIsWorkedOffInBatchesWithoutWaitingForTheTimer) {
  for (int i = 0; i < 1100; ++i) {
    file_record f;
    f.file_id = "f" + std::to_string(i);
    f.user_id = "alice";
    db->insert_file(f, unix_ms() - 2 * hour);  // no blobs: a blob already gone counts as done
  }
  start_supervisor();
  ASSERT_EQ(started, std::optional<bool>(true));
  EXPECT_EQ(raw().text("SELECT COUNT(*) FROM files WHERE state='deleted'"), "1100");
  EXPECT_EQ(unclaimed_audit().size(), 1100u);
}

// The storage side: a batch is committed before the reply (a second connection sees it), and a
// file tracked in a write that was still pending when the sweep arrived is not taken.
TEST_F(Unclaimed, TheStorageActorCommitsEachBatchBeforeReplying) {
  upload("orphan", 2 * hour);
  upload("claimed_just_now", 2 * hour);
  auto now = unix_ms();
  db->open_session("s1", "alice", "tok", now);
  // Track and sweep in one burst: the track is ordered first by the storage mailbox.
  auto storage = deps().storage;
  auto tracked = std::make_shared<bool>(false);
  auto queued = std::make_shared<std::int64_t>(-1);
  sys->spawn([=](caf::event_based_actor* self) {
    self->request(storage, caf::infinite, track_atom::value, std::string("s1"), std::string("alice"),
                  strings{"claimed_just_now"}, std::string())
        .then([=](track_result&) { *tracked = true; });
    self->request(storage, caf::infinite, unclaimed_atom::value, hour, std::int64_t{500})
        .then([=](std::int64_t n) { *queued = n; });
  });
  run();
  EXPECT_TRUE(*tracked);
  EXPECT_EQ(*queued, 1);
  EXPECT_EQ(raw().text("SELECT state FROM files WHERE file_id='orphan'"), "queued");
  EXPECT_EQ(raw().text("SELECT state FROM files WHERE file_id='claimed_just_now'"), "active");
}

}  // namespace
}  // namespace tether::actor_testing
