#include "actors/storage.hpp"

#include "proto/clock.hpp"
#include "storage/database.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <functional>

namespace tether {

namespace {

// A burst of writes shares one transaction; past this many the batch commits early so that
// acks don't wait behind an unbounded burst. Fixed, not an option: a batch also ends whenever the
// mailbox is drained, so the limit only matters under a flood, where 512 operations already make
// the commit's cost per write negligible while keeping the first ack of the burst within a few ms.
constexpr std::size_t max_batch = 512;

struct storage_state {
  std::shared_ptr<database> db;
  retry_policy retry;
  bool in_transaction = false;
  // The webhook sender (if any) and how many events the database had written when it was last
  // woken: a commit that wrote more wakes it.
  caf::actor webhooks;
  std::int64_t events_seen = 0;
  // Replies waiting for the commit of the current batch: called with whether it committed.
  std::vector<std::function<void(bool)>> waiting;
  static inline const char* name = "storage";
};

using storage_self = storage_actor::stateful_pointer<storage_state>;

caf::error storage_failure(const std::string& what) {
  return caf::make_error(caf::sec::runtime_error, "storage: " + what);
}

void flush(storage_self self) {
  auto& st = self->state;
  if (!st.in_transaction) return;
  bool committed = true;
  try {
    st.db->commit();
  } catch (const std::exception& e) {
    spdlog::error("storage: commit failed, {} replies get an error: {}", st.waiting.size(), e.what());
    st.db->rollback();
    committed = false;
  }
  st.in_transaction = false;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& reply : waiting) reply(committed);
  // Only after the commit: the sender reads committed rows (a rolled-back batch wakes it for nothing).
  if (st.webhooks && st.db->webhook_events_written() != st.events_seen) {
    st.events_seen = st.db->webhook_events_written();
    caf::anon_send(st.webhooks, wake_atom::value);
  }
}

// Runs `op` inside the current batch, under a savepoint so that a failing op undoes only itself.
// Returns what went wrong, or an empty string.
template <class Op>
std::string in_batch(storage_self self, Op op) {
  auto& st = self->state;
  if (!st.in_transaction) {
    st.db->begin();
    st.in_transaction = true;
    // Goes to the back of the mailbox: everything already queued joins this transaction.
    self->send(self, flush_atom::value);
  }
  try {
    st.db->savepoint();
    op(*st.db, unix_ms());
    st.db->release();
    return {};
  } catch (const std::exception& e) {
    spdlog::error("storage: {}", e.what());
    try {
      st.db->rollback_to();
    } catch (...) {
    }
    return e.what();
  }
}

// Runs `op` in the current batch and promises its result for when the batch commits.
template <class T, class Op>
caf::typed_response_promise<T> batched(storage_self self, Op op) {
  auto& st = self->state;
  auto rp = self->template make_response_promise<T>();
  T value{};
  auto failure = in_batch(self, [&](database& d, std::int64_t now) { value = op(d, now); });
  st.waiting.push_back([rp, value = std::move(value), failure](bool committed) mutable {
    if (committed && failure.empty())
      rp.deliver(std::move(value));
    else
      rp.deliver(storage_failure(failure.empty() ? "commit failed" : failure));
  });
  if (st.waiting.size() >= max_batch) flush(self);
  return rp;
}

storage_actor::behavior_type storage_behavior(storage_self self, std::shared_ptr<database> db, retry_policy retry) {
  // A stray message is logged and dropped: the one SQLite writer must not die of it.
  self->set_default_handler(caf::print_and_drop);
  self->state.db = std::move(db);
  self->state.retry = retry;
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    flush(self);
    self->quit(msg.reason);
  });
  return {
      [=](open_atom, const std::string& sid, const std::string& uid, const std::string& token, bool guest,
          const std::string& name) {
        return batched<bool>(self, [&](database& d, std::int64_t now) {
          if (!d.admit_user(uid, guest, name, now)) return false;
          d.open_session(sid, uid, token, now);
          return true;
        });
      },
      [=](guest_atom, const std::string& uid, const std::string& name) {
        return batched<bool>(self, [&](database& d, std::int64_t now) { return d.create_guest(uid, name, now); });
      },
      [=](touch_atom, const std::string& uid, std::int64_t active_ms) {
        // No reply (a promise made for a plain send would answer it as a message): a touch lost to
        // a crash only makes its guest look older by at most one report interval.
        in_batch(self, [&](database& d, std::int64_t) { d.touch_user(uid, active_ms); });
      },
      [=](guest_sweep_atom, std::int64_t inactive_before_ms, std::int64_t limit) {
        // Its own transaction, like the unclaimed sweep: a touch committed before it counts.
        flush(self);
        auto rp = batched<string_list>(self, [&](database& d, std::int64_t now) {
          return d.delete_inactive_guests(inactive_before_ms, limit, now);
        });
        flush(self);
        return rp;
      },
      [=](resume_atom, const std::string& sid, const std::string& token) {
        return batched<resumed_session>(self, [&](database& d, std::int64_t now) {
          auto files = d.resume_session(sid, token, now);
          return files ? resumed_session{true, std::move(*files)} : resumed_session{};
        });
      },
      [=](place_atom, const std::string& sid, const std::string& room, const std::string& name) {
        return batched<bool>(self, [&](database& d, std::int64_t now) {
          d.place(sid, room, name, now);
          return true;
        });
      },
      [=](unplace_atom, const std::string& sid, const std::string& room) {
        return batched<bool>(self, [&](database& d, std::int64_t now) { return d.unplace(sid, room, now); });
      },
      [=](chat_post_atom, const std::string& chat, const std::string& sender, const std::string& client_msg_id,
          const std::string& content, const std::string& attachment) {
        return batched<append_result>(self, [&](database& d, std::int64_t now) {
          return d.append_message(chat, sender, client_msg_id, content, attachment, now);
        });
      },
      [=](chat_read_atom, const std::string& chat, std::int64_t message_id, const std::string& reader) {
        return batched<read_receipt>(self,
                                     [&](database& d, std::int64_t now) { return d.mark_read(chat, message_id, reader, now); });
      },
      [=](chat_new_atom, const std::string& chat, const string_list& members) {
        return batched<bool>(self, [&](database& d, std::int64_t now) { return d.create_chat(chat, members, now); });
      },
      [=](notes_atom, const note_list& in) {
        return batched<note_list>(self, [&](database& d, std::int64_t now) {
          note_list out;
          out.notes.reserve(in.notes.size());
          for (const auto& n : in.notes) out.notes.push_back(d.store_notification(n.user_id, n.stream, n.payload, now));
          return out;
        });
      },
      [=](sub_atom, const std::string& sid, const std::string& channel, std::int64_t last_id) {
        in_batch(self, [&](database& d, std::int64_t) { d.subscribe_channel(sid, channel, last_id); });
      },
      [=](unsub_atom, const std::string& sid, const std::string& channel) {
        in_batch(self, [&](database& d, std::int64_t) { d.unsubscribe_channel(sid, channel); });
      },
      [=](sub_mark_atom, const std::string& sid, const std::string& channel, std::int64_t last_id) {
        in_batch(self, [&](database& d, std::int64_t) { d.mark_channel(sid, channel, last_id); });
      },
      [=](prune_notes_atom, std::int64_t before_ms, std::int64_t limit) {
        return batched<std::int64_t>(self,
                                     [&](database& d, std::int64_t) { return d.prune_notifications(before_ms, limit); });
      },
      [=](announce_atom, const std::string& sid, const std::string& room) {
        return batched<bool>(self, [&](database& d, std::int64_t now) {
          d.announce_member(sid, room, now);
          return true;
        });
      },
      [=](wh_report_atom, const webhook_report& report) {
        return batched<std::int64_t>(self, [&](database& d, std::int64_t now) {
          for (const auto& [seq, error] : report.results) {
            if (error.empty())
              d.webhook_delivered(seq);
            else
              d.webhook_failed(seq, error, now);
          }
          return d.next_webhook_at().value_or(-1);
        });
      },
      [=](webhooks_atom, const caf::actor& sender) {
        self->state.webhooks = sender;
        self->state.events_seen = self->state.db->webhook_events_written();
      },
      [=](token_atom, const std::string& sid, const std::string& token) {
        return batched<bool>(self, [&](database& d, std::int64_t) {
          d.set_resume_token(sid, token);
          return true;
        });
      },
      [=](detach_atom, const std::string& sid, const std::string& reason) {
        return batched<bool>(self, [&](database& d, std::int64_t now) {
          d.detach_session(sid, reason, now);
          return true;
        });
      },
      [=](track_atom, const std::string& sid, const std::string& uid, const string_list& ids, const std::string& draft) {
        return batched<track_result>(self,
                                     [&](database& d, std::int64_t now) { return d.track(sid, uid, ids, draft, now); });
      },
      [=](untrack_atom, const std::string& sid, const std::string& uid, const std::string& fid) {
        return batched<bool>(self, [&](database& d, std::int64_t now) { return d.untrack(sid, uid, fid, now); });
      },
      [=](submit_atom, const std::string& sid, const std::string& uid, const std::string& post) {
        return batched<string_list>(self, [&](database& d, std::int64_t now) { return d.submit(sid, uid, post, now); });
      },
      [=](end_atom, const std::string& sid, const std::string& reason) {
        return batched<std::int64_t>(self, [&](database& d, std::int64_t now) { return d.end_session(sid, reason, now); });
      },
      [=](recover_atom, std::int64_t resume_window_ms, std::int64_t restart_window_ms) {
        return batched<recovered_sessions>(self, [&](database& d, std::int64_t now) {
          return recovered_sessions{d.recover(now, recovery_windows{resume_window_ms, restart_window_ms})};
        });
      },
      [=](add_file_atom, const file_record& f) {
        return batched<bool>(self, [&](database& d, std::int64_t now) {
          d.insert_file(f, now);
          return true;
        });
      },
      [=](del_file_atom, const std::string& fid, const std::string& uid) {
        return batched<bool>(self, [&](database& d, std::int64_t now) { return d.queue_file_deletion(fid, uid, now); });
      },
      [=](ext_file_atom, const std::string& fid, const std::string& uid) {
        return batched<ext_file_outcome>(self, [&](database& d, std::int64_t now) {
          if (auto f = d.find_file(fid)) return f->user_id == uid ? ext_file_outcome::exists : ext_file_outcome::conflict;
          d.insert_file(file_record{fid, uid, "", 0, "active", true}, now);
          return ext_file_outcome::created;
        });
      },
      [=](report_atom, const deletion_report& report) {
        return batched<std::int64_t>(self, [&](database& d, std::int64_t now) {
          std::vector<std::string> deleted;
          for (const auto& [file_id, error] : report.results) {
            if (error.empty()) {
              if (d.deletion_done(file_id, now)) deleted.push_back(file_id);
            } else if (!d.deletion_failed(file_id, error, self->state.retry, now))
              spdlog::error("cleanup: giving up on {} after {} attempts: {}", file_id, self->state.retry.max_attempts,
                            error);
          }
          d.files_deleted(deleted, now);  // webhooks: in the transaction that records the deletions
          return d.next_deletion_at().value_or(-1);
        });
      },
      [=](unclaimed_atom, std::int64_t older_than_ms, std::int64_t limit) {
        // Its own transaction: it reads only committed rows and never makes others' acks wait
        // behind a long sweep (the caller bounds `limit`).
        flush(self);
        auto rp = batched<std::int64_t>(self, [&](database& d, std::int64_t now) {
          return d.queue_unclaimed(older_than_ms, limit, now);
        });
        flush(self);
        return rp;
      },
      [=](sync_atom) {
        flush(self);
        return true;
      },
      [=](note_atom, const std::string& event, const std::string& details) {
        return batched<bool>(self, [&](database& d, std::int64_t now) {
          d.audit(event, "", "", "", "", details, now);
          return true;
        });
      },
      [=](flush_atom) { flush(self); },
  };
}

}  // namespace

storage_actor spawn_storage(caf::actor_system& sys, std::shared_ptr<database> db, retry_policy retry, bool detached) {
  if (detached) return sys.spawn<caf::detached>(storage_behavior, std::move(db), retry);
  return sys.spawn(storage_behavior, std::move(db), retry);
}

}  // namespace tether
