// The reader actor (actors/reader.cpp): what leaves the storage side is committed. Each test holds
// the storage actor's batch open (its flush still waiting in the mailbox), reads through the
// reader, which must not see the batch, and reads again after the commit, which must.
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Reader : public actor_test {
 protected:
  // Hands the storage actor one write and lets it handle that message alone: the batch it opens
  // stays open, its flush waiting in the mailbox, until the next run().
  template <class... Ts>
  void write_without_commit(Ts... xs) {
    auto storage = deps().storage;
    caf::anon_send(storage, xs...);
    ASSERT_TRUE(sched->prioritize(storage));
    sched->run_once();
    ASSERT_TRUE(sched->prioritize(storage)) << "the batch committed already";
  }

  // Asks the reader and runs every actor but the storage actor, so its batch stays open.
  template <class T, class... Ts>
  std::optional<T> read_with_batch_open(Ts... xs) {
    auto out = std::make_shared<std::optional<T>>();
    auto reader = deps().reader;
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(reader, caf::infinite, xs...).then([=](T& x) { *out = std::move(x); });
    });
    auto* storage = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(deps().storage));
    sched->run_jobs_filtered([storage](caf::resumable* job) { return job != storage; });
    if (!*out) ADD_FAILURE() << "the reader did not answer while the storage batch was open";
    return *out;
  }
};

TEST_F(Reader, DueHandsOutADeletionOnlyOnceItsQueueingIsCommitted) {
  add_file("f1");
  auto now = unix_ms();
  db->open_session("s1", "alice", "tok", now);
  db->track("s1", "alice", {"f1"}, "", now);
  write_without_commit(end_atom::value, std::string("s1"), std::string("closed"));
  // The open batch queued f1 (the writer's connection sees it); nothing of it is committed.
  ASSERT_EQ(file_state("f1"), "queued");
  ASSERT_EQ(raw().text("SELECT COUNT(*) FROM deletion_queue"), "0");

  // A kill -9 now would bring s1 back as resumable with f1 tracked: f1 must not be unlinked.
  auto due = read_with_batch_open<deletion_batch>(due_atom::value, std::int64_t{64});
  ASSERT_TRUE(due);
  EXPECT_TRUE(due->jobs.empty()) << "a deletion whose queueing was not committed was handed out";
  auto stats = read_with_batch_open<cleanup_stats>(stats_atom::value);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->queued, 0);

  run();  // the batch commits
  due = ask<deletion_batch>(deps().reader, due_atom::value, std::int64_t{64});
  ASSERT_TRUE(due);
  ASSERT_EQ(due->jobs.size(), 1u);
  EXPECT_EQ(due->jobs[0].file_id, "f1");
  EXPECT_EQ(ask<cleanup_stats>(deps().reader, stats_atom::value)->queued, 1);
}

TEST_F(Reader, AFileLookupSeesAnUploadOnlyOnceItsInsertIsCommitted) {
  write_without_commit(add_file_atom::value, file_record{"f1", "alice", "f1.bin", 4, "active", false});
  ASSERT_EQ(file_state("f1"), "active");  // the writer's open batch has it

  auto lookup = read_with_batch_open<file_lookup>(get_file_atom::value, std::string("f1"));
  ASSERT_TRUE(lookup);
  EXPECT_FALSE(lookup->found) << "GET /api/files/f1 would serve a file whose insert may roll back";

  run();
  lookup = ask<file_lookup>(deps().reader, get_file_atom::value, std::string("f1"));
  ASSERT_TRUE(lookup);
  EXPECT_TRUE(lookup->found);
  EXPECT_EQ(lookup->file.user_id, "alice");
}

TEST_F(Reader, AuditShowsARecordOnlyOnceItIsCommitted) {
  write_without_commit(note_atom::value, std::string("server_stopped"), std::string());
  audit_query q;
  q.limit = 10;
  auto records = read_with_batch_open<audit_records>(audit_atom::value, q);
  ASSERT_TRUE(records);
  EXPECT_TRUE(records->records.empty());

  run();
  records = ask<audit_records>(deps().reader, audit_atom::value, q);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->records.size(), 1u);
  EXPECT_EQ(records->records[0].event, "server_stopped");
}

}  // namespace
}  // namespace tether::actor_testing
