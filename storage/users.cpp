// Users: a row for every user a session opened for, and the guests made by POST /api/guests,
// which an inactivity sweep deletes together with what is theirs (ON DELETE CASCADE).
#include "storage/database.hpp"

#include "storage/statement.hpp"

#include <string>
#include <vector>

namespace tether {

bool database::admit_user(const std::string& user_id, bool guest, const std::string& display_name,
                          std::int64_t now_ms) {
  if (!guest) return true;  // open_session records the user
  if (guest_deleted(user_id)) return false;
  // A guest token the server did not make (`tetherd token --guest`) makes its guest on first use.
  statement(*this, "INSERT OR IGNORE INTO users(user_id,guest,display_name,created_ms,last_active_ms) VALUES(?,1,?,?,?3)")
      .bind(1, user_id).bind(2, display_name).bind(3, now_ms)
      .run();
  touch_user(user_id, now_ms);  // opening a session is activity
  return true;
}

bool database::create_guest(const std::string& user_id, const std::string& display_name, std::int64_t now_ms) {
  statement(*this, "INSERT OR IGNORE INTO users(user_id,guest,display_name,created_ms,last_active_ms) VALUES(?,1,?,?,?3)")
      .bind(1, user_id).bind(2, display_name).bind(3, now_ms)
      .run();
  if (sqlite3_changes(db_) == 0) return false;
  audit("guest_created", "", user_id, "", "", "", now_ms);
  return true;
}

void database::touch_user(const std::string& user_id, std::int64_t active_ms) {
  statement(*this, "UPDATE users SET last_active_ms=? WHERE user_id=? AND last_active_ms<?1")
      .bind(1, active_ms).bind(2, user_id)
      .run();
}

std::vector<std::string> database::delete_inactive_guests(std::int64_t inactive_before_ms, std::int64_t limit,
                                                          std::int64_t now_ms) {
  std::vector<std::string> ids;
  {
    statement s(*this, "SELECT user_id FROM users WHERE guest=1 AND last_active_ms<? ORDER BY last_active_ms LIMIT ?");
    s.bind(1, inactive_before_ms).bind(2, limit);
    while (s.step()) ids.push_back(s.text(0));
  }
  for (const auto& id : ids) {
    if (webhooks_) guest_leaves_rooms(id, now_ms);  // before the cascade takes the places silently
    statement(*this, "DELETE FROM users WHERE user_id=?").bind(1, id).run();  // cascades
    statement(*this, "INSERT OR REPLACE INTO deleted_guests(user_id,deleted_ms) VALUES(?,?)").bind(1, id).bind(2, now_ms).run();
    audit("guest_deleted", "", id, "", "inactive", "", now_ms);
  }
  return ids;
}

bool database::guest_deleted(const std::string& user_id) {
  statement s(*this, "SELECT 1 FROM deleted_guests WHERE user_id=?");
  s.bind(1, user_id);
  return s.step();
}

}  // namespace tether
