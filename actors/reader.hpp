#pragma once
// The reader actor: answers every read that leaves the storage side (audit, cleanup stats, file
// lookups, the cleaner's due deletions, later chat history) from its own read-only SQLite
// connection. WAL lets it read while the storage actor writes, and it sees committed rows only:
// nothing leaves the storage side that is not committed (a deletion handed to the cleaner before
// its queueing commits could unlink a blob that a crash then brings back as tracked). A long read
// never delays the writer's commit, and a write that must read first (ext_file) stays on the writer.
#include "actors/record_messages.hpp"
#include "storage/records.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tether {

class database;

using get_file_atom = caf::atom_constant<caf::atom("get_file")>;
using due_atom = caf::atom_constant<caf::atom("due")>;
using audit_atom = caf::atom_constant<caf::atom("audit")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using guest_gone_atom = caf::atom_constant<caf::atom("guest_gone")>;
using wh_due_atom = caf::atom_constant<caf::atom("wh_due")>;
using wh_stats_atom = caf::atom_constant<caf::atom("wh_stats")>;
using chat_info_atom = caf::atom_constant<caf::atom("chat_info")>;
using is_member_atom = caf::atom_constant<caf::atom("is_member")>;
using chat_after_atom = caf::atom_constant<caf::atom("chat_after")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using stream_last_atom = caf::atom_constant<caf::atom("strm_last")>;
using notes_after_atom = caf::atom_constant<caf::atom("notes_aft")>;

// Replies that carry several rows travel as one struct.
struct file_lookup { bool found = false; file_record file; };
struct deletion_batch { std::vector<deletion_job> jobs; };
struct audit_records { std::vector<audit_record> records; };
// next_ms: unix ms of the earliest pending event (due now or later), -1 when none.
struct webhook_batch { std::vector<webhook_event> events; std::int64_t next_ms = -1; };

using reader_actor = caf::typed_actor<
    caf::replies_to<get_file_atom, std::string>::with<file_lookup>,
    // at most n -> queued deletions due now, oldest due first
    caf::replies_to<due_atom, std::int64_t>::with<deletion_batch>,
    caf::replies_to<audit_atom, audit_query>::with<audit_records>,
    caf::replies_to<stats_atom>::with<cleanup_stats>,
    // user_id -> whether it is a guest that was deleted (its token is refused at the upgrade)
    caf::replies_to<guest_gone_atom, std::string>::with<bool>,
    // at most n -> webhook events due now (committed: never one whose cause could roll back)
    caf::replies_to<wh_due_atom, std::int64_t>::with<webhook_batch>,
    caf::replies_to<wh_stats_atom>::with<webhook_stats>,
    // Chats (channel actors): chat_id -> whether it exists, its members, its last message id
    caf::replies_to<chat_info_atom, std::string>::with<chat_info>,
    // chat_id, user_id -> membership (the upgrade of /ws/messages/{chat} checks it)
    caf::replies_to<is_member_atom, std::string, std::string>::with<bool>,
    // chat_id, after message_id, at most n -> the messages after it, ascending (replay)
    caf::replies_to<chat_after_atom, std::string, std::int64_t, std::int64_t>::with<message_list>,
    // chat_id, before message_id (0: none), at most n -> the newest n before it, ascending
    caf::replies_to<history_atom, std::string, std::int64_t, std::int64_t>::with<history_page>,
    // user_id, stream -> its last id on that stream (0: none)
    caf::replies_to<stream_last_atom, std::string, std::string>::with<std::int64_t>,
    // user_id, stream, after id, at most n -> what came after it, ascending (replay)
    caf::replies_to<notes_after_atom, std::string, std::string, std::int64_t, std::int64_t>::with<note_list>>;

// `db` is a connection opened with database::read_only after the writer opened and migrated the
// file; the reader owns it (SQLite handles are not shared between threads here).
reader_actor spawn_reader(caf::actor_system& sys, std::shared_ptr<database> db, bool detached = true);

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::file_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::deletion_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::audit_records)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::audit_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::cleanup_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::webhook_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::webhook_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::chat_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::message_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::history_page)
