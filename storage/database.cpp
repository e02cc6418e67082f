#include "storage/database.hpp"

#include "proto/clock.hpp"
#include "storage/activity_counts.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

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
};

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

// A cached prepared statement, reset and unbound on every use.
class database::statement {
public:
  // `sql` must be a string literal: the cache is keyed by its address.
  statement(database& d, const char* sql) : db_(d.db_) {
    auto& slot = d.cache_[sql];
    if (!slot && sqlite3_prepare_v2(db_, sql, -1, &slot, nullptr) != SQLITE_OK)
      fail(db_, std::string("prepare ") + sql);
    stmt_ = slot;
  }
  ~statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "step");
  }
  void run() {
    while (step()) {
    }
  }
  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Opens `path` with `flags` into db_, or throws naming the file and SQLite's reason.
void database::open_handle(const std::string& path, int flags) {
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = "cannot open database " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(msg);
  }
  sqlite3_busy_timeout(db_, 5000);
}

database::database(const std::string& path, const std::string& synchronous) {
  open_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec(synchronous == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    close();  // the destructor won't run for a constructor that throws
    throw;
  }
}

database::database(const std::string& path, read_only_t) {
  open_handle(path, SQLITE_OPEN_READONLY);
  try {
    const int version = schema_version();
    if (version == 0) throw std::runtime_error(path + " is not a tether database (no schema)");
    if (version > latest_schema_version())
      throw std::runtime_error("database schema v" + std::to_string(version) + " of " + path +
                               " is newer than this tetherd (v" + std::to_string(latest_schema_version()) + ")");
  } catch (...) {
    close();
    throw;
  }
}

database::~database() { close(); }

void database::close() {
  if (!db_) return;
  // Statements are cached per connection; finalize them before closing.
  sqlite3_stmt* s = nullptr;
  while ((s = sqlite3_next_stmt(db_, nullptr)) != nullptr) sqlite3_finalize(s);
  cache_.clear();
  sqlite3_close(db_);
  db_ = nullptr;
}

void database::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite: ") + msg);
  }
}

int database::latest_schema_version() { return static_cast<int>(std::size(migrations)); }

int database::schema_version() {
  statement s(*this, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}

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

void database::begin() { exec("BEGIN IMMEDIATE"); }
void database::commit() { exec("COMMIT"); }
void database::rollback() {
  if (!sqlite3_get_autocommit(db_)) exec("ROLLBACK");
}
void database::savepoint() { exec("SAVEPOINT op"); }
void database::release() { exec("RELEASE op"); }
void database::rollback_to() {
  exec("ROLLBACK TO op");
  exec("RELEASE op");
}

// ---- files ----

void database::insert_file(const file_record& f, std::int64_t now_ms) {
  statement(*this, "INSERT INTO files(file_id,user_id,name,size,external,state,created_ms,updated_ms) "
                 "VALUES(?,?,?,?,?,'active',?,?)")
      .bind(1, f.file_id).bind(2, f.user_id).bind(3, f.name).bind(4, f.size)
      .bind(5, std::int64_t{f.external}).bind(6, now_ms).bind(7, now_ms)
      .run();
}

std::optional<file_record> database::find_file(const std::string& file_id) {
  statement s(*this, "SELECT file_id,user_id,name,size,state,external FROM files WHERE file_id=?");
  s.bind(1, file_id);
  if (!s.step()) return std::nullopt;
  return file_record{s.text(0), s.text(1), s.text(2), s.integer(3), s.text(4), s.integer(5) != 0};
}

namespace {
const char* const queue_deletion_sql =
    "INSERT INTO deletion_queue(file_id,state,attempts,next_ms,session_id,queued_ms,updated_ms) "
    "VALUES(?,'queued',0,?,?,?,?) "
    "ON CONFLICT(file_id) DO UPDATE SET state='queued',next_ms=excluded.next_ms,updated_ms=excluded.updated_ms";
}

bool database::queue_file_deletion(const std::string& file_id, const std::string& user_id, std::int64_t now_ms) {
  auto f = find_file(file_id);
  if (!f || f->user_id != user_id || (f->state != "active" && f->state != "kept")) return false;
  statement(*this, "UPDATE files SET state='queued',updated_ms=? WHERE file_id=?").bind(1, now_ms).bind(2, file_id).run();
  statement(*this, queue_deletion_sql).bind(1, file_id).bind(2, now_ms).bind(3, std::string()).bind(4, now_ms)
      .bind(5, now_ms).run();
  audit("deletion_queued", "", user_id, file_id, "api_delete", "", now_ms);
  return true;
}

// ---- sessions ----

void database::open_session(const std::string& session_id, const std::string& user_id,
                            const std::string& resume_token, std::int64_t now_ms) {
  statement(*this, "INSERT INTO sessions(session_id,user_id,resume_token,state,opened_ms) VALUES(?,?,?,'open',?)")
      .bind(1, session_id).bind(2, user_id).bind(3, resume_token).bind(4, now_ms)
      .run();
  audit("session_opened", session_id, user_id, "", "", "", now_ms);
}

std::optional<std::vector<std::string>> database::resume_session(const std::string& session_id, const std::string& resume_token,
                                                  std::int64_t now_ms) {
  statement(*this, "UPDATE sessions SET state='open',resume_token=?,pending_reason='',detached_ms=NULL "
                 "WHERE session_id=? AND state<>'ended'")
      .bind(1, resume_token).bind(2, session_id)
      .run();
  if (sqlite3_changes(db_) == 0) return std::nullopt;  // ended or unknown: nothing was resumed
  audit("session_resumed", session_id, session_user(session_id), "", "", "", now_ms);
  return tracked_files(session_id);
}

void database::set_resume_token(const std::string& session_id, const std::string& resume_token) {
  statement(*this, "UPDATE sessions SET resume_token=? WHERE session_id=?").bind(1, resume_token).bind(2, session_id).run();
}

void database::detach_session(const std::string& session_id, const std::string& reason, std::int64_t now_ms) {
  statement(*this, "UPDATE sessions SET state='detached',pending_reason=?,detached_ms=? "
                 "WHERE session_id=? AND state<>'ended'")
      .bind(1, reason).bind(2, now_ms).bind(3, session_id)
      .run();
}

std::string database::session_user(const std::string& session_id) {
  statement s(*this, "SELECT user_id FROM sessions WHERE session_id=?");
  s.bind(1, session_id);
  return s.step() ? s.text(0) : std::string();
}

std::vector<std::string> database::tracked_files(const std::string& session_id) {
  statement s(*this, "SELECT file_id FROM tracked WHERE session_id=? ORDER BY seq");
  s.bind(1, session_id);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

track_result database::track(const std::string& session_id, const std::string& user_id,
                             const std::vector<std::string>& file_ids, const std::string& draft_id,
                             std::int64_t now_ms) {
  track_result result;
  for (const auto& id : file_ids) {
    auto f = find_file(id);
    // A file that is gone or going is as good as not there; another user's file is refused.
    if (!f || f->state == "queued" || f->state == "deleted" || f->state == "failed") {
      result.rejected.emplace_back(id, track_outcome::not_found);
      continue;
    }
    if (f->user_id != user_id) {
      result.rejected.emplace_back(id, track_outcome::forbidden);
      continue;
    }
    statement ins(*this, "INSERT OR IGNORE INTO tracked(session_id,file_id,seq) "
                       "VALUES(?,?,(SELECT COALESCE(MAX(seq),0)+1 FROM tracked WHERE session_id=?1))");
    ins.bind(1, session_id).bind(2, id).run();
    if (sqlite3_changes(db_) == 0) continue;  // tracked already
    statement(*this, "UPDATE files SET claimed=1 WHERE file_id=? AND claimed=0").bind(1, id).run();
    audit("file_tracked", session_id, user_id, id, "", draft_id.empty() ? "" : "{\"draft_id\":\"" + draft_id + "\"}",
          now_ms);
  }
  result.tracked = tracked_files(session_id);
  return result;
}

bool database::untrack(const std::string& session_id, const std::string& user_id, const std::string& file_id,
                       std::int64_t now_ms) {
  statement(*this, "DELETE FROM tracked WHERE session_id=? AND file_id=?").bind(1, session_id).bind(2, file_id).run();
  if (sqlite3_changes(db_) == 0) return false;
  audit("file_untracked", session_id, user_id, file_id, "file_removed", "", now_ms);
  return true;
}

std::vector<std::string> database::submit(const std::string& session_id, const std::string& user_id,
                                          const std::string& post_id, std::int64_t now_ms) {
  std::vector<std::string> files;
  for (const auto& id : tracked_files(session_id)) {
    statement(*this, "UPDATE files SET state='kept',updated_ms=? WHERE file_id=? AND state='active'")
        .bind(1, now_ms).bind(2, id).run();
    // Kept now or already; a file on its way out (deleted over HTTP meanwhile) is not.
    auto f = find_file(id);
    if (f && f->state == "kept") files.push_back(id);
  }
  statement(*this, "DELETE FROM tracked WHERE session_id=?").bind(1, session_id).run();
  std::string details = "{\"post_id\":\"" + post_id + "\",\"kept\":" + std::to_string(files.size()) + "}";
  audit("post_submitted", session_id, user_id, "", "", details, now_ms);
  return files;
}

bool database::tracked_elsewhere(const std::string& file_id, const std::string& session_id) {
  statement s(*this, "SELECT 1 FROM tracked t JOIN sessions s ON s.session_id=t.session_id "
                   "WHERE t.file_id=? AND t.session_id<>? AND s.state<>'ended' LIMIT 1");
  s.bind(1, file_id).bind(2, session_id);
  return s.step();
}

std::int64_t database::end_session(const std::string& session_id, const std::string& reason, std::int64_t now_ms) {
  std::string user_id;
  {
    statement s(*this, "SELECT user_id,state FROM sessions WHERE session_id=?");
    s.bind(1, session_id);
    if (!s.step() || s.text(1) == "ended") return 0;  // exactly once
    user_id = s.text(0);
  }
  std::int64_t queued = 0;
  for (const auto& id : tracked_files(session_id)) {
    auto f = find_file(id);
    if (!f || f->state != "active") continue;  // kept, or already on its way out
    if (tracked_elsewhere(id, session_id)) {
      audit("file_untracked", session_id, user_id, id, "tracked_by_another_session", "", now_ms);
      continue;
    }
    statement(*this, "UPDATE files SET state='queued',updated_ms=? WHERE file_id=?").bind(1, now_ms).bind(2, id).run();
    statement(*this, queue_deletion_sql).bind(1, id).bind(2, now_ms).bind(3, session_id).bind(4, now_ms)
        .bind(5, now_ms).run();
    audit("deletion_queued", session_id, user_id, id, reason, "", now_ms);
    ++queued;
  }
  statement(*this, "DELETE FROM tracked WHERE session_id=?").bind(1, session_id).run();
  statement(*this, "UPDATE sessions SET state='ended',ended_ms=?,end_reason=? WHERE session_id=?")
      .bind(1, now_ms).bind(2, reason).bind(3, session_id).run();
  audit("session_closed", session_id, user_id, "", reason, "{\"files_queued\":" + std::to_string(queued) + "}", now_ms);
  return queued;
}

std::vector<persisted_session> database::recover(std::int64_t now_ms, const recovery_windows& windows) {
  std::int64_t deletions_resumed = 0;  // for the recovery audit record: work the cleaner picks up again
  {
    statement q(*this, "SELECT COUNT(*) FROM deletion_queue WHERE state='queued'");
    if (q.step()) deletions_resumed = q.integer(0);
  }
  // Whatever was open when the process died is a drop caused by the crash; the window restarts now.
  statement(*this, "UPDATE sessions SET state='detached',pending_reason='crash',detached_ms=? WHERE state='open'")
      .bind(1, now_ms).run();
  statement(*this, "UPDATE sessions SET detached_ms=? WHERE state='detached'").bind(1, now_ms).run();
  std::vector<persisted_session> found;
  {
    statement s(*this, "SELECT session_id,user_id,resume_token,pending_reason FROM sessions "
                     "WHERE state='detached' ORDER BY opened_ms");
    while (s.step()) found.push_back({s.text(0), s.text(1), s.text(2), s.text(3), {}});
  }
  std::vector<persisted_session> out;
  for (auto& p : found) {
    p.window_ms = windows.for_reason(p.pending_reason);
    // No window: the session ends here, in the recovery transaction, and its files are queued.
    if (p.window_ms == 0) {
      end_session(p.session_id, p.pending_reason.empty() ? "closed" : p.pending_reason, now_ms);
      continue;
    }
    p.files = tracked_files(p.session_id);
    out.push_back(std::move(p));
  }
  audit("recovery", "", "", "", "",
        "{\"sessions_recovered\":" + std::to_string(out.size()) + ",\"sessions_ended\":" +
            std::to_string(found.size() - out.size()) + ",\"deletions_resumed\":" + std::to_string(deletions_resumed) +
            "}",
        now_ms);
  return out;
}

std::int64_t database::queue_unclaimed(std::int64_t older_than_ms, std::int64_t limit, std::int64_t now_ms) {
  struct orphan {
    std::string file_id, user_id;
  };
  std::vector<orphan> orphans;
  {
    // Matches the partial index files_unclaimed term for term, so only candidates are visited.
    statement s(*this, "SELECT file_id,user_id FROM files "
                     "WHERE state='active' AND claimed=0 AND external=0 AND created_ms<=? "
                     "ORDER BY created_ms LIMIT ?");
    s.bind(1, now_ms - older_than_ms).bind(2, limit);
    while (s.step()) orphans.push_back({s.text(0), s.text(1)});
  }
  for (const auto& o : orphans) {
    statement(*this, "UPDATE files SET state='queued',updated_ms=? WHERE file_id=?").bind(1, now_ms).bind(2, o.file_id).run();
    statement(*this, queue_deletion_sql).bind(1, o.file_id).bind(2, now_ms).bind(3, std::string()).bind(4, now_ms)
        .bind(5, now_ms).run();
    audit("deletion_queued", "", o.user_id, o.file_id, "unclaimed", "", now_ms);
  }
  return static_cast<std::int64_t>(orphans.size());
}

// ---- deletion queue ----

std::vector<deletion_job> database::due_deletions(std::int64_t now_ms, std::int64_t limit) {
  statement s(*this, "SELECT file_id,attempts FROM deletion_queue WHERE state='queued' AND next_ms<=? "
                   "ORDER BY next_ms LIMIT ?");
  s.bind(1, now_ms).bind(2, limit);
  std::vector<deletion_job> out;
  while (s.step()) out.push_back({s.text(0), s.integer(1)});
  return out;
}

std::optional<std::int64_t> database::next_deletion_at() {
  statement s(*this, "SELECT MIN(next_ms) FROM deletion_queue WHERE state='queued'");
  if (!s.step() || s.is_null(0)) return std::nullopt;
  return s.integer(0);
}

namespace {
struct queue_row_owner {
  std::string session_id, user_id;
};
}  // namespace

void database::deletion_done(const std::string& file_id, std::int64_t now_ms) {
  statement(*this, "UPDATE deletion_queue SET state='done',attempts=attempts+1,updated_ms=? "
                 "WHERE file_id=? AND state='queued'")
      .bind(1, now_ms).bind(2, file_id).run();
  if (sqlite3_changes(db_) == 0) return;  // idempotent: already recorded
  statement(*this, "UPDATE files SET state='deleted',updated_ms=? WHERE file_id=?").bind(1, now_ms).bind(2, file_id).run();
  statement s(*this, "SELECT q.session_id,f.user_id FROM deletion_queue q JOIN files f ON f.file_id=q.file_id "
                   "WHERE q.file_id=?");
  s.bind(1, file_id);
  queue_row_owner owner;
  if (s.step()) owner = {s.text(0), s.text(1)};
  audit("file_deleted", owner.session_id, owner.user_id, file_id, "", "", now_ms);
}

bool database::deletion_failed(const std::string& file_id, const std::string& error, const retry_policy& policy,
                               std::int64_t now_ms) {
  std::int64_t attempts = 0;
  queue_row_owner owner;
  {
    statement s(*this, "SELECT q.attempts,q.session_id,f.user_id FROM deletion_queue q "
                     "JOIN files f ON f.file_id=q.file_id WHERE q.file_id=? AND q.state='queued'");
    s.bind(1, file_id);
    if (!s.step()) return false;
    attempts = s.integer(0) + 1;
    owner = {s.text(1), s.text(2)};
  }
  if (attempts >= policy.max_attempts) {
    statement(*this, "UPDATE deletion_queue SET state='failed',attempts=?,last_error=?,updated_ms=? WHERE file_id=?")
        .bind(1, attempts).bind(2, error).bind(3, now_ms).bind(4, file_id).run();
    statement(*this, "UPDATE files SET state='failed',updated_ms=? WHERE file_id=?").bind(1, now_ms).bind(2, file_id).run();
    audit("deletion_failed", owner.session_id, owner.user_id, file_id, error,
          "{\"attempts\":" + std::to_string(attempts) + "}", now_ms);
    return false;
  }
  // Exponential backoff: base, 2*base, 4*base ... capped.
  std::int64_t delay = policy.base_ms;
  for (std::int64_t i = 1; i < attempts && delay < policy.max_ms; ++i) delay *= 2;
  delay = std::min(delay, policy.max_ms);
  statement(*this, "UPDATE deletion_queue SET attempts=?,last_error=?,next_ms=?,updated_ms=? WHERE file_id=?")
      .bind(1, attempts).bind(2, error).bind(3, now_ms + delay).bind(4, now_ms).bind(5, file_id).run();
  return true;
}

cleanup_stats database::stats() {
  cleanup_stats out;
  {
    statement s(*this, "SELECT state,COUNT(*) FROM deletion_queue GROUP BY state");
    while (s.step()) {
      auto state = s.text(0);
      if (state == "queued") out.queued = s.integer(1);
      else if (state == "done") out.done_total = s.integer(1);
      else if (state == "failed") out.failed_total = s.integer(1);
    }
  }
  statement s(*this, "SELECT file_id,attempts,last_error FROM deletion_queue WHERE state='failed' "
                   "ORDER BY updated_ms DESC LIMIT 1000");
  while (s.step()) out.failed.push_back({s.text(0), s.integer(1), s.text(2)});
  return out;
}

// ---- audit ----

void database::audit(const std::string& event, const std::string& session_id, const std::string& user_id,
                     const std::string& file_id, const std::string& reason, const std::string& details,
                     std::int64_t now_ms) {
  // Per event at debug; info gets a summary of the counts once a second (app/activity_log.hpp).
  spdlog::debug("audit {} session={} user={} file={} reason={} {}", event, session_id, user_id, file_id, reason,
                details);
  count_activity(event);
  statement(*this, "INSERT INTO audit(at,event,session_id,user_id,file_id,reason,details) VALUES(?,?,?,?,?,?,?)")
      .bind(1, iso8601_from_ms(now_ms)).bind(2, event).bind(3, session_id).bind(4, user_id).bind(5, file_id)
      .bind(6, reason).bind(7, details)
      .run();
}

std::vector<audit_record> database::read_audit(const audit_query& q) {
  // Newest `limit` matching records, returned oldest first. Empty filters match everything.
  statement s(*this, "SELECT * FROM (SELECT id,at,event,session_id,user_id,file_id,reason,details FROM audit "
                   "WHERE (?1='' OR session_id=?1) AND (?2='' OR file_id=?2) AND (?3='' OR user_id=?3) "
                   "ORDER BY id DESC LIMIT ?4) ORDER BY id ASC");
  s.bind(1, q.session_id.value_or("")).bind(2, q.file_id.value_or("")).bind(3, q.user_id.value_or(""))
      .bind(4, q.limit);
  std::vector<audit_record> out;
  while (s.step())
    out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7)});
  return out;
}

}  // namespace tether
