#pragma once
// The SQLite database: schema migrations and every query tether makes. Synchronous and
// single-threaded by design: the storage actor owns the one instance that writes, and groups calls
// into transactions with begin()/commit(); the reader actor owns a read_only one. One class, its
// member functions defined by domain: database.cpp (connection, statements, transactions),
// sessions.cpp, files.cpp, deletion_queue.cpp, audit.cpp, rooms.cpp, users.cpp, chats.cpp, notifications.cpp,
// migrations.cpp.
#include "storage/records.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace tether {

class database {
public:
  // Opens (creating if needed) and migrates. Throws std::runtime_error: start-up only.
  // `synchronous` is "normal" (durable against process crashes, the default) or "full".
  database(const std::string& path, const std::string& synchronous = "normal");
  // Opens an existing database to read only (`tetherd audit` beside a running server): never
  // creates, migrates, writes or checkpoints it. Throws std::runtime_error when the file is not a
  // tether database or its schema is newer than this build.
  struct read_only_t {};
  static constexpr read_only_t read_only{};
  database(const std::string& path, read_only_t);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  // A cached prepared statement: defined in storage/statement.hpp, for the storage/*.cpp files only.
  class statement;

  static int latest_schema_version();
  int schema_version();

  // Transactions (database.cpp). A savepoint wraps one operation inside a batch so that its failure
  // undoes only that operation.
  void begin();
  void commit();
  // Transactions committed by this connection (a burst of writes is one: see actors/storage.cpp).
  std::int64_t commits() const { return commits_; }
  void rollback();
  void savepoint();
  void release();
  void rollback_to();

  // Files (files.cpp).
  void insert_file(const file_record& f, std::int64_t now_ms);
  std::optional<file_record> find_file(const std::string& file_id);
  // Queues an owner's explicit delete (HTTP DELETE). False when there is nothing to delete.
  bool queue_file_deletion(const std::string& file_id, const std::string& user_id, std::int64_t now_ms);
  // The unclaimed sweep: queues for deletion (audit reason "unclaimed") up to `limit` active uploads
  // at least `older_than_ms` old that no session ever tracked; kept files and files registered for
  // an external store are left alone. Returns the number queued.
  std::int64_t queue_unclaimed(std::int64_t older_than_ms, std::int64_t limit, std::int64_t now_ms);

  // Sessions and tracking (sessions.cpp).
  void open_session(const std::string& session_id, const std::string& user_id,
                    const std::string& resume_token, std::int64_t now_ms);
  // A resumed session: new token, open again. Returns the files it tracks, or nullopt when the
  // session is ended or unknown (nothing was resumed; not the same as a session without files).
  std::optional<std::vector<std::string>> resume_session(const std::string& session_id, const std::string& resume_token,
                                          std::int64_t now_ms);
  void set_resume_token(const std::string& session_id, const std::string& resume_token);
  // The socket went away but the session waits for a resume; `reason` is what session_closed
  // will say if the window passes.
  void detach_session(const std::string& session_id, const std::string& reason, std::int64_t now_ms);
  track_result track(const std::string& session_id, const std::string& user_id,
                     const std::vector<std::string>& file_ids, const std::string& draft_id,
                     std::int64_t now_ms);
  std::vector<std::string> tracked_files(const std::string& session_id);
  bool untrack(const std::string& session_id, const std::string& user_id, const std::string& file_id,
               std::int64_t now_ms);
  // Marks every tracked file kept forever; returns them.
  std::vector<std::string> submit(const std::string& session_id, const std::string& user_id,
                                  const std::string& post_id, std::int64_t now_ms);
  // The end of a session, exactly once: every tracked file that is still active and not tracked
  // by another live session is queued for deletion. Returns the number queued (0 when the
  // session had already ended).
  std::int64_t end_session(const std::string& session_id, const std::string& reason, std::int64_t now_ms);

  // Room places (rooms.cpp): what a session must get back on a resume after a restart. A place is
  // recorded before the room is told, so a `room_joined` never names a place that could be lost.
  void place(const std::string& session_id, const std::string& room_id, const std::string& display_name,
             std::int64_t now_ms);
  // False when the session had no place there. With webhooks, the user's last place in the room
  // going makes it member_removed (reason "left").
  bool unplace(const std::string& session_id, const std::string& room_id, std::int64_t now_ms);
  std::vector<room_place> room_places(const std::string& session_id);
  // A session's channel subscriptions (rooms.cpp): recorded at subscribe (last_id: the since_id,
  // or the channel's last id then; -1: none), removed at unsubscribe and with the session, and
  // marked with the last id sent when its connection drops.
  void subscribe_channel(const std::string& session_id, const std::string& channel, std::int64_t last_id);
  void unsubscribe_channel(const std::string& session_id, const std::string& channel);
  void mark_channel(const std::string& session_id, const std::string& channel, std::int64_t last_id);
  std::vector<channel_place> session_channels(const std::string& session_id);

  // Users (users.cpp). Called before a session opens (open_session records other users): a guest
  // is recorded, its activity too. False for a guest that was deleted: its token is refused.
  bool admit_user(const std::string& user_id, bool guest, const std::string& display_name, std::int64_t now_ms);
  // False when the id is taken.
  bool create_guest(const std::string& user_id, const std::string& display_name, std::int64_t now_ms);
  // Moves a user's last activity forward (never back).
  void touch_user(const std::string& user_id, std::int64_t active_ms);
  // Deletes up to `limit` guests last active before `inactive_before_ms`, with their room places
  // (cascade), leaving a tombstone and a guest_deleted audit record each. Returns their ids.
  std::vector<std::string> delete_inactive_guests(std::int64_t inactive_before_ms, std::int64_t limit,
                                                  std::int64_t now_ms);
  bool guest_deleted(const std::string& user_id);

  // Chats (chats.cpp). A dm:{a}:{b} id (a < b) names its two members; nullopt for any other id.
  static std::optional<std::pair<std::string, std::string>> dm_members(const std::string& chat_id);
  // False when the chat exists (its members are left as they are).
  bool create_chat(const std::string& chat_id, const std::vector<std::string>& members, std::int64_t now_ms);
  bool is_chat_member(const std::string& chat_id, const std::string& user_id);
  chat_info chat(const std::string& chat_id);
  std::vector<std::string> chat_members(const std::string& chat_id);
  // Stores a message with the chat's next id (a dm chat is made on its first). A client_msg_id the
  // sender already used in this chat returns that message, marked duplicate, and stores nothing.
  // Throws for a chat that does not exist.
  append_result append_message(const std::string& chat_id, const std::string& sender_id,
                               const std::string& client_msg_id, const std::string& content,
                               const std::string& attachment, std::int64_t now_ms);
  // The newest `limit` messages before `before_id` (0: the newest), in ascending order.
  history_page history(const std::string& chat_id, std::int64_t before_id, std::int64_t limit);
  // Replay: up to `limit` messages after `after_id`, ascending.
  std::vector<chat_message> messages_after(const std::string& chat_id, std::int64_t after_id, std::int64_t limit);
  read_receipt mark_read(const std::string& chat_id, std::int64_t message_id, const std::string& reader_id,
                         std::int64_t now_ms);

  // Notifications (notifications.cpp): stream is "notifications" or "connections".
  stored_notification store_notification(const std::string& user_id, const std::string& stream,
                                         const std::string& payload, std::int64_t now_ms);
  // The user's last id on that stream (0: none).
  std::int64_t last_notification_id(const std::string& user_id, const std::string& stream);
  // Deletes up to `limit` notifications created before `before_ms`, never a user's newest one
  // (it carries the user's id counter: ids must keep increasing). Returns how many went.
  std::int64_t prune_notifications(std::int64_t before_ms, std::int64_t limit);
  std::vector<stored_notification> notifications_after(const std::string& user_id, const std::string& stream,
                                                       std::int64_t after_id, std::int64_t limit);

  // Crash recovery: sessions open at the crash become detached with reason "crash"; returns every
  // detached session, with its files and its window (`windows.for_reason`), to be counted from now.
  // A session whose window is 0 is ended here instead (its files queued) and not returned.
  std::vector<persisted_session> recover(std::int64_t now_ms, const recovery_windows& windows = {});

  // Deletion queue (deletion_queue.cpp).
  std::vector<deletion_job> due_deletions(std::int64_t now_ms, std::int64_t limit);
  std::optional<std::int64_t> next_deletion_at();
  // False when it was recorded already (idempotent).
  bool deletion_done(const std::string& file_id, std::int64_t now_ms);
  // Counts a failed attempt; past max_attempts the job is marked failed. Returns true if it will be retried.
  bool deletion_failed(const std::string& file_id, const std::string& error, const retry_policy& policy,
                       std::int64_t now_ms);
  cleanup_stats stats();

  // Webhooks (webhooks.cpp): a durable outbox written in the same transaction as the event's
  // cause. Off (nothing recorded) until enable_webhooks.
  void enable_webhooks(const webhook_policy& policy);
  bool webhooks_enabled() const { return webhooks_.has_value(); }
  // A room accepted the session's join: its user becomes a member (member_added) unless it is one.
  // Nothing when the session has no place there any more.
  void announce_member(const std::string& session_id, const std::string& room_id, std::int64_t now_ms);
  // Deleted files (the cleaner's report), one files_deleted per session and user.
  void files_deleted(const std::vector<std::string>& file_ids, std::int64_t now_ms);
  std::vector<webhook_event> due_webhooks(std::int64_t now_ms, std::int64_t limit);
  std::optional<std::int64_t> next_webhook_at();
  void webhook_delivered(std::int64_t seq);
  // Counts a failed attempt: retried after a backoff with jitter, or marked failed past
  // max_attempts. Returns true if it will be retried.
  bool webhook_failed(std::int64_t seq, const std::string& error, std::int64_t now_ms);
  webhook_stats webhook_counts();
  // Events written by this connection so far (rolled back ones included): the storage actor wakes
  // the sender after a commit when this moved.
  std::int64_t webhook_events_written() const { return events_written_; }

  // Audit (audit.cpp).
  void audit(const std::string& event, const std::string& session_id, const std::string& user_id,
             const std::string& file_id, const std::string& reason, const std::string& details,
             std::int64_t now_ms);
  std::vector<audit_record> read_audit(const audit_query& q);

private:
  void open_handle(const std::string& path, int flags);
  void close();
  void exec(const char* sql);
  void migrate();
  // Marks a file queued, adds (or re-arms) its deletion_queue row and audits deletion_queued.
  void queue_deletion(const std::string& file_id, const std::string& session_id, const std::string& user_id,
                      const std::string& reason, std::int64_t now_ms);
  std::string session_user(const std::string& session_id);
  // Webhooks (webhooks.cpp): appends an event {id, seq, type, at, ...fields} to the outbox.
  void emit_webhook(const char* type, boost::json::object& fields, std::int64_t now_ms);
  // A session's place in a room went: member_removed when it was its user's last one there (and
  // the back end was told of the member), then room_vacated when the room has no member left.
  void place_gone(const std::string& session_id, const std::string& user_id, const std::string& room_id,
                  const std::string& display_name, const std::string& reason, std::int64_t now_ms);
  // A deleted guest's places go (member_removed, reason "inactive"), in the deletion's transaction.
  void guest_leaves_rooms(const std::string& user_id, std::int64_t now_ms);
  // At recovery: members with no place left (webhooks were off meanwhile, rows deleted by a
  // cascade) get their member_removed.
  void settle_members(std::int64_t now_ms);
  bool tracked_elsewhere(const std::string& file_id, const std::string& session_id);

  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;  // prepared statements by SQL literal
  std::optional<webhook_policy> webhooks_;
  std::int64_t events_written_ = 0;
  std::int64_t commits_ = 0;
  std::int64_t events_dropped_ = 0;  // over webhooks.max_pending since this connection opened
};

}  // namespace tether
