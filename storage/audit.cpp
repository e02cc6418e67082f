// The audit log: one row per event, written inside the operation it records.
#include "storage/database.hpp"

#include "proto/clock.hpp"
#include "storage/activity_counts.hpp"
#include "storage/statement.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

namespace tether {

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
