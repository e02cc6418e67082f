#pragma once
// The storage actor: the only SQLite writer. Writes from many actors are serialized by its
// mailbox and grouped into one transaction per burst; a reply is sent only after its write is
// committed (the durability rule: an `ack` follows the commit). It answers no plain reads: those
// go to the reader actor (actors/reader.hpp), which sees committed rows only.
#include "actors/atoms.hpp"
#include "actors/record_messages.hpp"
#include "storage/records.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tether {

class database;

using open_atom = caf::atom_constant<caf::atom("open")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using detach_atom = caf::atom_constant<caf::atom("detach")>;
using track_atom = caf::atom_constant<caf::atom("track")>;
using untrack_atom = caf::atom_constant<caf::atom("untrack")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using end_atom = caf::atom_constant<caf::atom("end")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using add_file_atom = caf::atom_constant<caf::atom("add_file")>;
using del_file_atom = caf::atom_constant<caf::atom("del_file")>;
using ext_file_atom = caf::atom_constant<caf::atom("ext_file")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using note_atom = caf::atom_constant<caf::atom("note")>;
using unclaimed_atom = caf::atom_constant<caf::atom("unclaimed")>;
using place_atom = caf::atom_constant<caf::atom("place")>;
using unplace_atom = caf::atom_constant<caf::atom("unplace")>;
using guest_atom = caf::atom_constant<caf::atom("guest")>;
using touch_atom = caf::atom_constant<caf::atom("touch")>;
using guest_sweep_atom = caf::atom_constant<caf::atom("gsweep")>;
using announce_atom = caf::atom_constant<caf::atom("announce")>;
using wh_report_atom = caf::atom_constant<caf::atom("wh_report")>;
using webhooks_atom = caf::atom_constant<caf::atom("webhooks")>;
using chat_post_atom = caf::atom_constant<caf::atom("chat_post")>;
using chat_read_atom = caf::atom_constant<caf::atom("chat_read")>;
using chat_new_atom = caf::atom_constant<caf::atom("chat_new")>;
using notes_atom = caf::atom_constant<caf::atom("notes")>;
using prune_notes_atom = caf::atom_constant<caf::atom("prune_nts")>;
using sub_atom = caf::atom_constant<caf::atom("sub")>;
using unsub_atom = caf::atom_constant<caf::atom("unsub")>;
using sub_mark_atom = caf::atom_constant<caf::atom("sub_mark")>;

// Replies that carry several rows travel as one struct.
struct recovered_sessions { std::vector<persisted_session> sessions; };
// found = false: the session is ended or unknown, nothing was resumed (not "no files").
struct resumed_session { bool found = false; std::vector<std::string> files; };
// What the cleaner did: file id and error text (empty = removed).
struct deletion_report { std::vector<std::pair<std::string, std::string>> results; };
enum class ext_file_outcome { created, exists, conflict };
// What the webhook sender did: outbox seq and error text (empty = delivered, a 2xx).
struct webhook_report { std::vector<std::pair<std::int64_t, std::string>> results; };

using string_list = std::vector<std::string>;

using storage_actor = caf::typed_actor<
    // session_id, user_id, resume_token, guest, display name -> false: a deleted guest, refused
    caf::replies_to<open_atom, std::string, std::string, std::string, bool, std::string>::with<bool>,
    // session_id, new resume_token -> files the session tracks, or found = false
    caf::replies_to<resume_atom, std::string, std::string>::with<resumed_session>,
    caf::replies_to<token_atom, std::string, std::string>::with<bool>,
    // session_id, pending reason
    caf::replies_to<detach_atom, std::string, std::string>::with<bool>,
    // session_id, user_id, file ids, draft_id
    caf::replies_to<track_atom, std::string, std::string, string_list, std::string>::with<track_result>,
    // session_id, user_id, file_id -> whether it was tracked
    caf::replies_to<untrack_atom, std::string, std::string, std::string>::with<bool>,
    // session_id, user_id, post_id -> kept files
    caf::replies_to<submit_atom, std::string, std::string, std::string>::with<string_list>,
    // session_id, room_id, display_name: the session's place in a room, recorded before the room
    // is told (a room_joined never names a place a crash could lose)
    caf::replies_to<place_atom, std::string, std::string, std::string>::with<bool>,
    // session_id, room_id -> whether it had a place there
    caf::replies_to<unplace_atom, std::string, std::string>::with<bool>,
    // session_id, room_id: the room accepted the session (webhooks: member_added if the user is new
    // there); sent only while webhooks are on
    caf::replies_to<announce_atom, std::string, std::string>::with<bool>,
    // -> unix ms of the next due webhook event, or -1 when none is pending
    caf::replies_to<wh_report_atom, webhook_report>::with<std::int64_t>,
    // The webhook sender, woken (wake_atom) after every commit that wrote events.
    caf::reacts_to<webhooks_atom, caf::actor>,
    // session_id, reason -> number of files queued for deletion
    caf::replies_to<end_atom, std::string, std::string>::with<std::int64_t>,
    // resume window ms, restart window ms (0: the resume window) -> sessions waiting for a resume
    caf::replies_to<recover_atom, std::int64_t, std::int64_t>::with<recovered_sessions>,
    caf::replies_to<add_file_atom, file_record>::with<bool>,
    // file_id, user_id -> whether a deletion was queued
    caf::replies_to<del_file_atom, std::string, std::string>::with<bool>,
    caf::replies_to<ext_file_atom, std::string, std::string>::with<ext_file_outcome>,
    // -> unix ms of the next due deletion, or -1 when the queue is empty
    caf::replies_to<report_atom, deletion_report>::with<std::int64_t>,
    // older than ms, at most n -> uploads no session ever tracked, now queued for deletion (one
    // transaction of its own; a reply of n means there may be more)
    caf::replies_to<unclaimed_atom, std::int64_t, std::int64_t>::with<std::int64_t>,
    // user_id, display_name -> a new guest (false: the id is taken)
    caf::replies_to<guest_atom, std::string, std::string>::with<bool>,
    // user_id, unix ms of its latest activity (a guest's sessions report it, throttled)
    caf::reacts_to<touch_atom, std::string, std::int64_t>,
    // inactive before unix ms, at most n -> the guests deleted (their own transaction)
    caf::replies_to<guest_sweep_atom, std::int64_t, std::int64_t>::with<string_list>,
    // Chats (a chat's channel actor, the only one appending to it): chat_id, sender, client_msg_id,
    // content, attachment (JSON text) -> the stored message (or the earlier one of that client_msg_id)
    caf::replies_to<chat_post_atom, std::string, std::string, std::string, std::string, std::string>::with<append_result>,
    // chat_id, message_id, reader -> the receipt (found = false: no such message)
    caf::replies_to<chat_read_atom, std::string, std::int64_t, std::string>::with<read_receipt>,
    // chat_id, members -> false when the chat exists already
    caf::replies_to<chat_new_atom, std::string, string_list>::with<bool>,
    // notifications to keep (user, stream, payload) -> the same, stored, with their ids
    caf::replies_to<notes_atom, note_list>::with<note_list>,
    // A session's subscriptions, kept for a resume after a restart (no reply: losing one to a crash
    // only means the client subscribes again): session_id, channel, last id (-1: none)
    caf::reacts_to<sub_atom, std::string, std::string, std::int64_t>,
    caf::reacts_to<unsub_atom, std::string, std::string>,
    // From a channel whose subscriber's connection dropped: the last id it was sent
    caf::reacts_to<sub_mark_atom, std::string, std::string, std::int64_t>,
    // created before unix ms, at most n -> notifications deleted (notifications.retention_ms)
    caf::replies_to<prune_notes_atom, std::int64_t, std::int64_t>::with<std::int64_t>,
    // commits what is pending, then replies (used at shutdown and by tests)
    caf::replies_to<sync_atom>::with<bool>,
    // event, details: an audit record of the server itself (server_stopped), no session or file
    caf::replies_to<note_atom, std::string, std::string>::with<bool>,
    caf::reacts_to<flush_atom>>;

// `db` is opened (and migrated) by the caller, so that start-up errors surface before serving.
storage_actor spawn_storage(caf::actor_system& sys, std::shared_ptr<database> db, retry_policy retry,
                            bool detached = true);

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::recovered_sessions)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::resumed_session)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::file_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::deletion_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::track_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::ext_file_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::webhook_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::append_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::read_receipt)
