#include "actors/cleaner.hpp"

#include "actors/timer.hpp"

#include "proto/clock.hpp"
#include "storage/blob_store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tether {

namespace {

// Fixed, not an option: it only bounds one round's reply and report (one storage operation);
// throughput does not depend on it, as a round that did work is followed by the next at once.
constexpr std::int64_t jobs_per_round = 64;

struct cleaner_state {
  storage_actor storage;
  reader_actor reader;
  std::shared_ptr<blob_store> blobs;
  bool busy = false;           // a round is in flight
  bool wake_again = false;     // a wake arrived during the round
  std::int64_t timer_for = -1; // unix ms the pending timer fires at, -1 if none
  static inline const char* name = "cleaner";
};

using cleaner_self = cleaner_actor::stateful_pointer<cleaner_state>;

void round(cleaner_self self);

void after_round(cleaner_self self, std::int64_t next_due_ms, bool did_work) {
  auto& st = self->state;
  st.busy = false;
  if (did_work || st.wake_again) {
    st.wake_again = false;
    round(self);
    return;
  }
  if (next_due_ms < 0) return;
  // One timer at a time, for the earliest due job.
  if (st.timer_for >= 0 && st.timer_for <= next_due_ms) return;
  st.timer_for = next_due_ms;
  auto delay = std::max<std::int64_t>(0, next_due_ms - unix_ms());
  // A timer that dies with the actor: a delayed_send would keep this detached actor, and so the
  // actor system's exit, waiting until the next retry is due (actors/timer.hpp).
  start_timer(self, std::chrono::milliseconds(delay), [self] {
    // Whatever the wall clock says now, this timer is spent: the round arms the next one.
    self->state.timer_for = -1;
    round(self);
  });
}

void round(cleaner_self self) {
  auto& st = self->state;
  if (st.busy) {
    st.wake_again = true;
    return;
  }
  st.busy = true;
  // The reply to the last report came after its commit, so this read already sees it.
  self->request(st.reader, caf::infinite, due_atom::value, jobs_per_round)
      .then(
          [self](deletion_batch& batch) {
            deletion_report report;
            for (auto& job : batch.jobs) {
              auto ec = self->state.blobs->remove(job.file_id);
              if (ec) spdlog::warn("cleanup: removing {} failed (attempt {}): {}", job.file_id, job.attempts + 1, ec.message());
              report.results.emplace_back(job.file_id, ec ? ec.message() : std::string());
            }
            bool did_work = !batch.jobs.empty();
            self->request(self->state.storage, caf::infinite, report_atom::value, std::move(report))
                .then([self, did_work](std::int64_t next_due) { after_round(self, next_due, did_work); },
                      [self](caf::error& err) {
                        spdlog::error("cleanup: report failed: {}", to_string(err));
                        after_round(self, unix_ms() + 1000, false);
                      });
          },
          [self](caf::error& err) {
            spdlog::error("cleanup: reading the queue failed: {}", to_string(err));
            after_round(self, unix_ms() + 1000, false);
          });
}

cleaner_actor::behavior_type cleaner_behavior(cleaner_self self, storage_actor storage, reader_actor reader,
                                              std::shared_ptr<blob_store> blobs) {
  self->set_default_handler(caf::print_and_drop);
  self->state.storage = std::move(storage);
  self->state.reader = std::move(reader);
  self->state.blobs = std::move(blobs);
  return {
      [=](wake_atom) { round(self); },
  };
}

}  // namespace

cleaner_actor spawn_cleaner(caf::actor_system& sys, storage_actor storage, reader_actor reader,
                            std::shared_ptr<blob_store> blobs, bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(cleaner_behavior, std::move(storage), std::move(reader), std::move(blobs));
  return sys.spawn(cleaner_behavior, std::move(storage), std::move(reader), std::move(blobs));
}

}  // namespace tether
