// Room places: which rooms a session is in, kept with the session so that a resume after a restart
// gets them back. The membership itself lives in the room actors; this is its durable copy.
#include "storage/database.hpp"

#include "storage/statement.hpp"

namespace tether {

void database::place(const std::string& session_id, const std::string& room_id, const std::string& display_name,
                     std::int64_t now_ms) {
  // A second join of the same room keeps the first place (and name), as the room does.
  // The user comes from the session: a place goes with its user too (a deleted guest's, by cascade).
  statement(*this, "INSERT OR IGNORE INTO room_places(session_id,user_id,room_id,display_name,joined_ms) "
                   "SELECT session_id,user_id,?,?,? FROM sessions WHERE session_id=?")
      .bind(1, room_id).bind(2, display_name).bind(3, now_ms).bind(4, session_id)
      .run();
}

bool database::unplace(const std::string& session_id, const std::string& room_id, std::int64_t now_ms) {
  std::string display_name;
  if (webhooks_) {
    statement s(*this, "SELECT display_name FROM room_places WHERE session_id=? AND room_id=?");
    s.bind(1, session_id).bind(2, room_id);
    if (s.step()) display_name = s.text(0);
  }
  statement(*this, "DELETE FROM room_places WHERE session_id=? AND room_id=?").bind(1, session_id).bind(2, room_id).run();
  if (sqlite3_changes(db_) == 0) return false;
  // The session gives the place up while alive (leave_room, switched, room_full): "left".
  if (webhooks_) place_gone(session_id, session_user(session_id), room_id, display_name, "left", now_ms);
  return true;
}

std::vector<room_place> database::room_places(const std::string& session_id) {
  std::vector<room_place> out;
  statement s(*this, "SELECT room_id,display_name,joined_ms FROM room_places WHERE session_id=? ORDER BY joined_ms");
  s.bind(1, session_id);
  while (s.step()) out.push_back({s.text(0), s.text(1), s.integer(2)});
  return out;
}

// ---- channel subscriptions ----

void database::subscribe_channel(const std::string& session_id, const std::string& channel, std::int64_t last_id) {
  // Only for a session that exists and has not ended (a late subscribe after the end is dropped).
  statement s(*this, "INSERT INTO session_channels(session_id,channel,last_id) "
                     "SELECT session_id,?,NULLIF(?,-1) FROM sessions WHERE session_id=? AND state!='ended' "
                     "ON CONFLICT(session_id,channel) DO UPDATE SET last_id=excluded.last_id");
  s.bind(1, channel).bind(2, last_id).bind(3, session_id).run();
}

void database::unsubscribe_channel(const std::string& session_id, const std::string& channel) {
  statement(*this, "DELETE FROM session_channels WHERE session_id=? AND channel=?").bind(1, session_id).bind(2, channel).run();
}

void database::mark_channel(const std::string& session_id, const std::string& channel, std::int64_t last_id) {
  statement(*this, "UPDATE session_channels SET last_id=? WHERE session_id=? AND channel=?")
      .bind(1, last_id).bind(2, session_id).bind(3, channel)
      .run();
}

std::vector<channel_place> database::session_channels(const std::string& session_id) {
  std::vector<channel_place> out;
  statement s(*this, "SELECT channel,COALESCE(last_id,-1) FROM session_channels WHERE session_id=? ORDER BY channel");
  s.bind(1, session_id);
  while (s.step()) out.push_back({s.text(0), s.integer(1)});
  return out;
}

}  // namespace tether
