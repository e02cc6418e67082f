// The durable deletion queue: what is due, what the cleaner reported (done, or retried with
// backoff until cleanup.max_attempts), and its numbers for /metrics and /api/admin/cleanup.
#include "storage/database.hpp"

#include "storage/statement.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace tether {

// Every way a file goes (a session's end, its owner's DELETE, the unclaimed sweep) comes here, so
// the file, its queue row and the deletion_queued record always change together.
void database::queue_deletion(const std::string& file_id, const std::string& session_id, const std::string& user_id,
                              const std::string& reason, std::int64_t now_ms) {
  statement(*this, "UPDATE files SET state='queued',updated_ms=? WHERE file_id=?").bind(1, now_ms).bind(2, file_id).run();
  statement(*this, "INSERT INTO deletion_queue(file_id,state,attempts,next_ms,session_id,queued_ms,updated_ms) "
                   "VALUES(?,'queued',0,?,?,?,?) "
                   "ON CONFLICT(file_id) DO UPDATE SET state='queued',next_ms=excluded.next_ms,updated_ms=excluded.updated_ms")
      .bind(1, file_id).bind(2, now_ms).bind(3, session_id).bind(4, now_ms).bind(5, now_ms)
      .run();
  audit("deletion_queued", session_id, user_id, file_id, reason, "", now_ms);
}

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

bool database::deletion_done(const std::string& file_id, std::int64_t now_ms) {
  statement(*this, "UPDATE deletion_queue SET state='done',attempts=attempts+1,updated_ms=? "
                 "WHERE file_id=? AND state='queued'")
      .bind(1, now_ms).bind(2, file_id).run();
  if (sqlite3_changes(db_) == 0) return false;  // idempotent: already recorded
  statement(*this, "UPDATE files SET state='deleted',updated_ms=? WHERE file_id=?").bind(1, now_ms).bind(2, file_id).run();
  statement s(*this, "SELECT q.session_id,f.user_id FROM deletion_queue q JOIN files f ON f.file_id=q.file_id "
                   "WHERE q.file_id=?");
  s.bind(1, file_id);
  queue_row_owner owner;
  if (s.step()) owner = {s.text(0), s.text(1)};
  audit("file_deleted", owner.session_id, owner.user_id, file_id, "", "", now_ms);
  return true;
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
  // The newest 1000 failures: enough to act on in /api/admin/cleanup and bounded whatever the
  // history (failed_total has the count), so it is fixed rather than an option.
  statement s(*this, "SELECT file_id,attempts,last_error FROM deletion_queue WHERE state='failed' "
                   "ORDER BY updated_ms DESC LIMIT 1000");
  while (s.step()) out.failed.push_back({s.text(0), s.integer(1), s.text(2)});
  return out;
}

}  // namespace tether
