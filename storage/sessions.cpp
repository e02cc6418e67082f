// Sessions and what they track: open, resume, detach, track/untrack/submit, the one end (which
// queues the files), and crash recovery.
#include "storage/database.hpp"

#include "proto/reasons.hpp"
#include "storage/statement.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <utility>
#include <vector>

namespace tether {

void database::open_session(const std::string& session_id, const std::string& user_id,
                            const std::string& resume_token, std::int64_t now_ms) {
  // Every user a session opens for has a row (its places reference it); a guest's was made by
  // admit_user or create_guest already.
  statement(*this, "INSERT OR IGNORE INTO users(user_id,created_ms,last_active_ms) VALUES(?,?,?2)")
      .bind(1, user_id).bind(2, now_ms).run();
  statement(*this, "INSERT INTO sessions(session_id,user_id,resume_token,state,opened_ms) VALUES(?,?,?,'open',?)")
      .bind(1, session_id).bind(2, user_id).bind(3, resume_token).bind(4, now_ms)
      .run();
  audit("session_opened", session_id, user_id, "", "", "", now_ms);
}

std::optional<std::vector<std::string>> database::resume_session(const std::string& session_id, const std::string& resume_token,
                                                  std::int64_t now_ms) {
  // A deleted guest's session is not resumable, even if it has not ended yet.
  if (auto user = session_user(session_id); !user.empty() && guest_deleted(user)) return std::nullopt;
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
    queue_deletion(id, session_id, user_id, reason, now_ms);
    ++queued;
  }
  statement(*this, "DELETE FROM tracked WHERE session_id=?").bind(1, session_id).run();
  std::vector<room_place> places;
  if (webhooks_) places = room_places(session_id);
  statement(*this, "DELETE FROM room_places WHERE session_id=?").bind(1, session_id).run();
  statement(*this, "DELETE FROM session_channels WHERE session_id=?").bind(1, session_id).run();
  statement(*this, "UPDATE sessions SET state='ended',ended_ms=?,end_reason=? WHERE session_id=?")
      .bind(1, now_ms).bind(2, reason).bind(3, session_id).run();
  audit("session_closed", session_id, user_id, "", reason, "{\"files_queued\":" + std::to_string(queued) + "}", now_ms);
  if (webhooks_) {
    // In the end's own transaction: the events can be neither lost nor invented by a crash.
    for (const auto& p : places) place_gone(session_id, user_id, p.room_id, p.display_name, user_left_reason(reason), now_ms);
    boost::json::object fields{{"session_id", session_id}, {"user_id", user_id}, {"reason", reason}};
    emit_webhook("session_closed", fields, now_ms);
  }
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
    statement s(*this, "SELECT s.session_id,s.user_id,s.resume_token,s.pending_reason,COALESCE(u.guest,0) "
                     "FROM sessions s LEFT JOIN users u ON u.user_id=s.user_id "
                     "WHERE s.state='detached' ORDER BY s.opened_ms");
    while (s.step()) found.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.integer(4) != 0, {}, {}, {}});
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
    p.rooms = room_places(p.session_id);
    p.channels = session_channels(p.session_id);
    out.push_back(std::move(p));
  }
  if (webhooks_) settle_members(now_ms);
  audit("recovery", "", "", "", "",
        "{\"sessions_recovered\":" + std::to_string(out.size()) + ",\"sessions_ended\":" +
            std::to_string(found.size() - out.size()) + ",\"deletions_resumed\":" + std::to_string(deletions_resumed) +
            "}",
        now_ms);
  return out;
}

}  // namespace tether
