// Notifications and connection events kept per user for replay (PROTOCOL.md §7, §11 "Channels"):
// every one is stored, delivered live or not, so that a session that missed it (offline, or its
// socket died as it was sent) gets it on `subscribe` with `since_id`. Ids increase per user, across
// both streams, so one `since_id` rule serves both.
#include "storage/database.hpp"

#include "storage/statement.hpp"

namespace tether {

stored_notification database::store_notification(const std::string& user_id, const std::string& stream,
                                                 const std::string& payload, std::int64_t now_ms) {
  stored_notification n;
  {
    // The primary key (user_id, id) makes this a seek to the user's last row.
    statement s(*this, "SELECT COALESCE(MAX(id),0)+1 FROM notifications WHERE user_id=?");
    s.bind(1, user_id);
    s.step();
    n.id = s.integer(0);
  }
  n.user_id = user_id;
  n.stream = stream;
  n.payload = payload;
  n.created_ms = now_ms;
  statement(*this, "INSERT INTO notifications(user_id,id,stream,payload,created_ms) VALUES(?,?,?,?,?)")
      .bind(1, user_id).bind(2, n.id).bind(3, stream).bind(4, payload).bind(5, now_ms)
      .run();
  return n;
}

std::int64_t database::last_notification_id(const std::string& user_id, const std::string& stream) {
  statement s(*this, "SELECT COALESCE(MAX(id),0) FROM notifications WHERE user_id=? AND stream=?");
  s.bind(1, user_id).bind(2, stream);
  s.step();
  return s.integer(0);
}

std::int64_t database::prune_notifications(std::int64_t before_ms, std::int64_t limit) {
  statement(*this,
            "DELETE FROM notifications WHERE (user_id, id) IN ("
            " SELECT n.user_id, n.id FROM notifications n WHERE n.created_ms < ?"
            " AND n.id < (SELECT MAX(m.id) FROM notifications m WHERE m.user_id = n.user_id)"
            " ORDER BY n.created_ms LIMIT ?)")
      .bind(1, before_ms).bind(2, limit)
      .run();
  return sqlite3_changes(db_);
}

std::vector<stored_notification> database::notifications_after(const std::string& user_id, const std::string& stream,
                                                                std::int64_t after_id, std::int64_t limit) {
  std::vector<stored_notification> out;
  statement s(*this, "SELECT id,user_id,stream,payload,created_ms FROM notifications "
                     "WHERE user_id=? AND id>? AND stream=? ORDER BY id LIMIT ?");
  s.bind(1, user_id).bind(2, after_id).bind(3, stream).bind(4, limit);
  while (s.step()) out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.integer(4)});
  return out;
}

}  // namespace tether
