// The schema and its upgrades: database::migrate runs every entry past the file's user_version,
// each in its own transaction.
#include "storage/database.hpp"

#include <iterator>
#include <stdexcept>
#include <string>

namespace tether {

namespace {

// Each entry upgrades the schema by one version; never edit a released entry, append a new one.
const char* const migrations[] = {
    // v1: files, sessions, tracking, the deletion queue and the audit log.
    R"sql(
    CREATE TABLE files (
      file_id    TEXT PRIMARY KEY,
      user_id    TEXT NOT NULL,
      name       TEXT NOT NULL DEFAULT '',
      size       INTEGER NOT NULL DEFAULT 0,
      external   INTEGER NOT NULL DEFAULT 0,
      state      TEXT NOT NULL DEFAULT 'active',  -- active | kept | queued | deleted | failed
      created_ms INTEGER NOT NULL,
      updated_ms INTEGER NOT NULL
    );
    CREATE INDEX files_user ON files(user_id);
    CREATE TABLE sessions (
      session_id     TEXT PRIMARY KEY,
      user_id        TEXT NOT NULL,
      resume_token   TEXT NOT NULL,
      state          TEXT NOT NULL,  -- open | detached | ended
      pending_reason TEXT NOT NULL DEFAULT '',
      opened_ms      INTEGER NOT NULL,
      detached_ms    INTEGER,
      ended_ms       INTEGER,
      end_reason     TEXT
    );
    CREATE INDEX sessions_live ON sessions(state) WHERE state <> 'ended';
    CREATE TABLE tracked (
      session_id TEXT NOT NULL REFERENCES sessions(session_id),
      file_id    TEXT NOT NULL REFERENCES files(file_id),
      seq        INTEGER NOT NULL,
      PRIMARY KEY (session_id, file_id)
    ) WITHOUT ROWID;
    CREATE INDEX tracked_file ON tracked(file_id);
    CREATE TABLE deletion_queue (
      file_id    TEXT PRIMARY KEY REFERENCES files(file_id),
      state      TEXT NOT NULL,  -- queued | done | failed
      attempts   INTEGER NOT NULL DEFAULT 0,
      next_ms    INTEGER NOT NULL,
      last_error TEXT NOT NULL DEFAULT '',
      session_id TEXT,
      queued_ms  INTEGER NOT NULL,
      updated_ms INTEGER NOT NULL
    );
    CREATE INDEX deletion_due ON deletion_queue(next_ms) WHERE state = 'queued';
    CREATE TABLE audit (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      at         TEXT NOT NULL,
      event      TEXT NOT NULL,
      session_id TEXT NOT NULL DEFAULT '',
      user_id    TEXT NOT NULL DEFAULT '',
      file_id    TEXT NOT NULL DEFAULT '',
      reason     TEXT NOT NULL DEFAULT '',
      details    TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_session ON audit(session_id);
    CREATE INDEX audit_file ON audit(file_id);
    CREATE INDEX audit_user ON audit(user_id);
    )sql",
    // v2: files.claimed, 1 once any session tracked the file, so that the unclaimed sweep finds
    // uploads no session ever tracked through a partial index (cheap however many files are kept).
    // Files of an existing database count as claimed when a session tracks them now or the audit
    // says one did.
    R"sql(
    ALTER TABLE files ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;
    UPDATE files SET claimed=1
     WHERE file_id IN (SELECT file_id FROM tracked)
        OR file_id IN (SELECT file_id FROM audit WHERE event='file_tracked');
    CREATE INDEX files_unclaimed ON files(created_ms) WHERE state='active' AND claimed=0 AND external=0;
    )sql",
    // v3: room places, durable with their session (PROTOCOL.md §4: a resume, after a restart too,
    // gets the session's rooms back). Deleted when the session ends or leaves the room.
    R"sql(
    CREATE TABLE room_places (
      session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
      room_id TEXT NOT NULL,
      display_name TEXT NOT NULL,
      joined_ms INTEGER NOT NULL,
      PRIMARY KEY (session_id, room_id)
    ) WITHOUT ROWID;
    )sql",
    // v4: users. Guests (POST /api/guests) are deleted after users.guest_inactive_ms without
    // activity, and what is theirs goes with them (ON DELETE CASCADE: room places now, chat
    // messages later); other users get a row when a session first opens for them, so that every
    // place can reference its user. A deleted guest leaves a tombstone, so that its token (which
    // may live longer than the guest) is refused instead of making a new guest of the same id.
    // room_places is rebuilt: SQLite cannot add a foreign key to an existing table.
    R"sql(
    CREATE TABLE users (
      user_id        TEXT PRIMARY KEY,
      guest          INTEGER NOT NULL DEFAULT 0,
      display_name   TEXT NOT NULL DEFAULT '',
      created_ms     INTEGER NOT NULL,
      last_active_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX users_guest_activity ON users(last_active_ms) WHERE guest=1;
    CREATE TABLE deleted_guests (
      user_id    TEXT PRIMARY KEY,
      deleted_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO users(user_id,created_ms,last_active_ms)
      SELECT user_id,MIN(opened_ms),MAX(opened_ms) FROM sessions WHERE state<>'ended' GROUP BY user_id;
    CREATE TABLE room_places_v4 (
      session_id   TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
      user_id      TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
      room_id      TEXT NOT NULL,
      display_name TEXT NOT NULL,
      joined_ms    INTEGER NOT NULL,
      PRIMARY KEY (session_id, room_id)
    ) WITHOUT ROWID;
    INSERT INTO room_places_v4(session_id,user_id,room_id,display_name,joined_ms)
      SELECT p.session_id,s.user_id,p.room_id,p.display_name,p.joined_ms
        FROM room_places p JOIN sessions s ON s.session_id=p.session_id;
    DROP TABLE room_places;
    ALTER TABLE room_places_v4 RENAME TO room_places;
    CREATE INDEX room_places_user ON room_places(user_id);
    )sql",
    // v5: chats, their messages and read receipts, and the notifications kept for replay
    // (PROTOCOL.md §7). A message's id comes from its chat's counter (chats.last_message_id), so
    // ids increase per chat without a MAX() scan; dm:{a}:{b} chats get their row on first use.
    // Messages and reads go with their user (a deleted guest's, by cascade).
    R"sql(
    CREATE TABLE chats (
      chat_id         TEXT PRIMARY KEY,
      created_ms      INTEGER NOT NULL,
      last_message_id INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE chat_members (
      chat_id TEXT NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
      user_id TEXT NOT NULL,
      PRIMARY KEY (chat_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX chat_members_user ON chat_members(user_id);
    CREATE TABLE chat_messages (
      chat_id       TEXT NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
      message_id    INTEGER NOT NULL,
      sender_id     TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
      content       TEXT NOT NULL,
      attachment    TEXT NOT NULL DEFAULT '',
      client_msg_id TEXT,
      sent_ms       INTEGER NOT NULL,
      PRIMARY KEY (chat_id, message_id)
    ) WITHOUT ROWID;
    CREATE INDEX chat_messages_sender ON chat_messages(sender_id);
    CREATE UNIQUE INDEX chat_messages_client_id ON chat_messages(chat_id, sender_id, client_msg_id)
      WHERE client_msg_id IS NOT NULL;
    CREATE TABLE message_reads (
      chat_id    TEXT NOT NULL,
      message_id INTEGER NOT NULL,
      user_id    TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
      read_ms    INTEGER NOT NULL,
      PRIMARY KEY (chat_id, message_id, user_id),
      FOREIGN KEY (chat_id, message_id) REFERENCES chat_messages(chat_id, message_id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX message_reads_user ON message_reads(user_id);
    CREATE TABLE notifications (
      user_id    TEXT NOT NULL,
      id         INTEGER NOT NULL,
      stream     TEXT NOT NULL,  -- notifications | connections
      payload    TEXT NOT NULL,
      created_ms INTEGER NOT NULL,
      PRIMARY KEY (user_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX notifications_age ON notifications(created_ms);
    )sql",
    // v6: webhooks (PROTOCOL.md §9). The outbox holds events until the receiver took them (then
    // the row is deleted); AUTOINCREMENT so that a seq is never reused after its row is gone.
    // webhook_members is what the receiver has been told: (room, user) pairs it got a
    // member_added for and no member_removed yet, so that every member_added gets its
    // member_removed whatever crashes in between. Written only while webhooks.url is set.
    R"sql(
    CREATE TABLE webhook_outbox (
      seq        INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id   TEXT NOT NULL,
      type       TEXT NOT NULL,
      body       TEXT NOT NULL,
      state      TEXT NOT NULL DEFAULT 'pending',  -- pending | failed
      attempts   INTEGER NOT NULL DEFAULT 0,
      next_ms    INTEGER NOT NULL,
      last_error TEXT NOT NULL DEFAULT '',
      created_ms INTEGER NOT NULL
    );
    CREATE INDEX webhook_due ON webhook_outbox(next_ms) WHERE state = 'pending';
    CREATE TABLE webhook_members (
      room_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      PRIMARY KEY (room_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX room_places_room ON room_places(room_id);
    )sql",
    // v7: a session's channel subscriptions (PROTOCOL.md §4: a resume after a restart gets them
    // back), each with the last id its connection was sent before it dropped (NULL: not known; the
    // replay then starts from the id recorded at subscribe time, at least once). They go with
    // their session.
    R"sql(
    CREATE TABLE session_channels (
      session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
      channel    TEXT NOT NULL,
      last_id    INTEGER,
      PRIMARY KEY (session_id, channel)
    ) WITHOUT ROWID;
    )sql",
};

}  // namespace

int database::latest_schema_version() { return static_cast<int>(std::size(migrations)); }

void database::migrate() {
  int version = schema_version();
  if (version > latest_schema_version())
    throw std::runtime_error("database schema v" + std::to_string(version) + " is newer than this tetherd (v" +
                             std::to_string(latest_schema_version()) + ")");
  for (int v = version; v < latest_schema_version(); ++v) {
    exec("BEGIN IMMEDIATE");
    try {
      exec(migrations[v]);
      exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
      exec("COMMIT");
    } catch (...) {
      exec("ROLLBACK");
      throw;
    }
  }
}

}  // namespace tether
