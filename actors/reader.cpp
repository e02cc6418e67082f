#include "actors/reader.hpp"

#include "proto/clock.hpp"
#include "storage/database.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tether {

namespace {

struct reader_state {
  std::shared_ptr<database> db;
  static inline const char* name = "reader";
};

using reader_self = reader_actor::stateful_pointer<reader_state>;

// Every read runs in autocommit: each statement takes its own snapshot and lets it go when it is
// reset (database::statement does so as it goes out of scope). No read transaction outlives a
// message, so the reader never holds the WAL back from a checkpoint and never sees a batch the
// writer has not committed. The price: a reply made of two statements (stats) may come from two
// snapshots, which only ever shows a count one commit newer than the list beside it.
template <class T, class Op>
caf::result<T> read(reader_self self, Op op) {
  try {
    return op(*self->state.db);
  } catch (const std::exception& e) {
    spdlog::error("reader: {}", e.what());
    return caf::make_error(caf::sec::runtime_error, std::string("reader: ") + e.what());
  }
}

reader_actor::behavior_type reader_behavior(reader_self self, std::shared_ptr<database> db) {
  // A stray message is logged and dropped: a core actor must not die of it.
  self->set_default_handler(caf::print_and_drop);
  self->state.db = std::move(db);
  return {
      [=](get_file_atom, const std::string& fid) {
        return read<file_lookup>(self, [&](database& d) {
          auto f = d.find_file(fid);
          return f ? file_lookup{true, *f} : file_lookup{};
        });
      },
      // The jobs handed out stay valid while the writer goes on: a queued file never becomes
      // active or kept again, and the report the cleaner sends back is applied only to rows still
      // queued (deletion_done and deletion_failed are idempotent), so a job reported twice, or
      // reported after the writer changed its row, does no harm.
      [=](due_atom, std::int64_t limit) {
        return read<deletion_batch>(self,
                                    [&](database& d) { return deletion_batch{d.due_deletions(unix_ms(), limit)}; });
      },
      [=](audit_atom, const audit_query& q) {
        return read<audit_records>(self, [&](database& d) { return audit_records{d.read_audit(q)}; });
      },
      [=](stats_atom) { return read<cleanup_stats>(self, [&](database& d) { return d.stats(); }); },
      [=](guest_gone_atom, const std::string& uid) {
        return read<bool>(self, [&](database& d) { return d.guest_deleted(uid); });
      },
      // Like deletions: the sender reports each event back to the writer, which applies it only
      // to rows still pending, so an event handed out twice is at worst sent twice (at least once).
      [=](wh_due_atom, std::int64_t limit) {
        return read<webhook_batch>(self, [&](database& d) {
          return webhook_batch{d.due_webhooks(unix_ms(), limit), d.next_webhook_at().value_or(-1)};
        });
      },
      [=](wh_stats_atom) { return read<webhook_stats>(self, [&](database& d) { return d.webhook_counts(); }); },
      [=](chat_info_atom, const std::string& chat) {
        return read<chat_info>(self, [&](database& d) { return d.chat(chat); });
      },
      [=](is_member_atom, const std::string& chat, const std::string& user) {
        return read<bool>(self, [&](database& d) { return d.is_chat_member(chat, user); });
      },
      [=](chat_after_atom, const std::string& chat, std::int64_t after, std::int64_t limit) {
        return read<message_list>(self, [&](database& d) { return message_list{d.messages_after(chat, after, limit)}; });
      },
      [=](history_atom, const std::string& chat, std::int64_t before, std::int64_t limit) {
        return read<history_page>(self, [&](database& d) { return d.history(chat, before, limit); });
      },
      [=](stream_last_atom, const std::string& user, const std::string& stream) {
        return read<std::int64_t>(self, [&](database& d) { return d.last_notification_id(user, stream); });
      },
      [=](notes_after_atom, const std::string& user, const std::string& stream, std::int64_t after, std::int64_t limit) {
        return read<note_list>(self,
                               [&](database& d) { return note_list{d.notifications_after(user, stream, after, limit)}; });
      },
  };
}

}  // namespace

reader_actor spawn_reader(caf::actor_system& sys, std::shared_ptr<database> db, bool detached) {
  // Detached: a 10 000-row audit read blocks its own thread, never a scheduler thread.
  if (detached) return sys.spawn<caf::detached>(reader_behavior, std::move(db));
  return sys.spawn(reader_behavior, std::move(db));
}

}  // namespace tether
