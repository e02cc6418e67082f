// Webhooks: the durable outbox (PROTOCOL.md §9) and the membership the receiver was told of. Every
// event is written by the storage actor in the transaction of its cause (a session's end, a place
// given up, a deletion reported), so a crash can neither lose one nor invent one. The sender reads
// due rows through the reader (committed only) and reports back here.
#include "storage/database.hpp"

#include "proto/clock.hpp"
#include "proto/random.hpp"
#include "storage/statement.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>

namespace tether {

void database::enable_webhooks(const webhook_policy& policy) { webhooks_ = policy; }

void database::emit_webhook(const char* type, boost::json::object& fields, std::int64_t now_ms) {
  // A random id, not the seq: a receiver de-duplicating by id must not drop the events of a data
  // dir that was wiped and started again from seq 1.
  const std::string id = "wh_" + random_hex(16);
  statement(*this, "INSERT INTO webhook_outbox(event_id,type,body,next_ms,created_ms) VALUES(?,?,'',?,?)")
      .bind(1, id).bind(2, std::string(type)).bind(3, now_ms).bind(4, now_ms).run();
  const std::int64_t seq = sqlite3_last_insert_rowid(db_);
  ++events_written_;
  boost::json::object body{{"id", id}, {"seq", seq}, {"type", type}, {"at", iso8601_from_ms(now_ms)}};
  for (auto& field : fields) body.insert(std::move(field));
  statement(*this, "UPDATE webhook_outbox SET body=? WHERE seq=?").bind(1, boost::json::serialize(body)).bind(2, seq).run();
  // The bound: at most max_pending rows, by seq span (cheap, an index range; rows delivered out
  // of order only make it drop a little early). The oldest go first.
  statement(*this, "DELETE FROM webhook_outbox WHERE seq<=?").bind(1, seq - webhooks_->max_pending).run();
  if (const int dropped = sqlite3_changes(db_); dropped > 0) {
    // Once over the bound every new event drops one: log the first and then every 1000th, not each.
    const auto before = events_dropped_;
    events_dropped_ += dropped;
    if (before == 0 || before / 1000 != events_dropped_ / 1000)
      spdlog::error("webhooks: the outbox is over webhooks.max_pending ({}): {} oldest event(s) dropped so far "
                    "(is the receiver down?)",
                    webhooks_->max_pending, events_dropped_);
  }
}

void database::announce_member(const std::string& session_id, const std::string& room_id, std::int64_t now_ms) {
  if (!webhooks_) return;
  std::string user_id, display_name;
  {
    statement s(*this, "SELECT user_id,display_name FROM room_places WHERE session_id=? AND room_id=?");
    s.bind(1, session_id).bind(2, room_id);
    if (!s.step()) return;  // the place went meanwhile (left, ended): it was never a member
    user_id = s.text(0);
    display_name = s.text(1);
  }
  statement(*this, "INSERT OR IGNORE INTO webhook_members(room_id,user_id) VALUES(?,?)").bind(1, room_id).bind(2, user_id).run();
  if (sqlite3_changes(db_) == 0) return;  // a member already (another tab, a re-join after a restart)
  boost::json::object fields{
      {"room_id", room_id}, {"user_id", user_id}, {"session_id", session_id}, {"display_name", display_name}};
  emit_webhook("member_added", fields, now_ms);
}

void database::place_gone(const std::string& session_id, const std::string& user_id, const std::string& room_id,
                          const std::string& display_name, const std::string& reason, std::int64_t now_ms) {
  {
    // Another session of the user still holds a place (allow policy, or the tab that switched in):
    // the user is still a member.
    statement s(*this, "SELECT 1 FROM room_places WHERE room_id=? AND user_id=? LIMIT 1");
    s.bind(1, room_id).bind(2, user_id);
    if (s.step()) return;
  }
  statement(*this, "DELETE FROM webhook_members WHERE room_id=? AND user_id=?").bind(1, room_id).bind(2, user_id).run();
  if (sqlite3_changes(db_) == 0) return;  // never announced (refused join, webhooks off then)
  boost::json::object fields{{"room_id", room_id},           {"user_id", user_id}, {"session_id", session_id},
                             {"display_name", display_name}, {"reason", reason}};
  emit_webhook("member_removed", fields, now_ms);
  statement s(*this, "SELECT 1 FROM webhook_members WHERE room_id=? LIMIT 1");
  s.bind(1, room_id);
  if (s.step()) return;
  boost::json::object vacated{{"room_id", room_id}};
  emit_webhook("room_vacated", vacated, now_ms);
}

void database::settle_members(std::int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> orphans;
  {
    statement s(*this, "SELECT m.room_id,m.user_id FROM webhook_members m WHERE NOT EXISTS ("
                       "SELECT 1 FROM room_places p WHERE p.room_id=m.room_id AND p.user_id=m.user_id)");
    while (s.step()) orphans.emplace_back(s.text(0), s.text(1));
  }
  for (const auto& [room_id, user_id] : orphans) place_gone("", user_id, room_id, "", "disconnected", now_ms);
}

void database::guest_leaves_rooms(const std::string& user_id, std::int64_t now_ms) {
  struct place_row {
    std::string session_id, room_id, display_name;
  };
  std::vector<place_row> places;
  {
    statement s(*this, "SELECT session_id,room_id,display_name FROM room_places WHERE user_id=? ORDER BY joined_ms");
    s.bind(1, user_id);
    while (s.step()) places.push_back({s.text(0), s.text(1), s.text(2)});
  }
  statement(*this, "DELETE FROM room_places WHERE user_id=?").bind(1, user_id).run();
  // The first place of each room removes the member; the others find it gone already.
  for (const auto& p : places) place_gone(p.session_id, user_id, p.room_id, p.display_name, "inactive", now_ms);
}

void database::files_deleted(const std::vector<std::string>& file_ids, std::int64_t now_ms) {
  if (!webhooks_ || file_ids.empty()) return;
  // One event per (session, user): a session's end queues its files together, and the cleaner
  // reports them together.
  std::map<std::pair<std::string, std::string>, boost::json::array> groups;
  for (const auto& id : file_ids) {
    statement s(*this, "SELECT COALESCE(q.session_id,''),f.user_id FROM deletion_queue q JOIN files f ON f.file_id=q.file_id "
                       "WHERE q.file_id=?");
    s.bind(1, id);
    if (s.step()) groups[{s.text(0), s.text(1)}].push_back(boost::json::string(id));
  }
  for (auto& [owner, ids] : groups) {
    boost::json::object fields;
    if (!owner.first.empty()) fields["session_id"] = owner.first;
    fields["user_id"] = owner.second;
    fields["file_ids"] = std::move(ids);
    emit_webhook("files_deleted", fields, now_ms);
  }
}

std::vector<webhook_event> database::due_webhooks(std::int64_t now_ms, std::int64_t limit) {
  statement s(*this, "SELECT seq,body,attempts FROM webhook_outbox WHERE state='pending' AND next_ms<=? "
                     "ORDER BY next_ms,seq LIMIT ?");
  s.bind(1, now_ms).bind(2, limit);
  std::vector<webhook_event> out;
  while (s.step()) out.push_back({s.integer(0), s.text(1), s.integer(2)});
  return out;
}

std::optional<std::int64_t> database::next_webhook_at() {
  statement s(*this, "SELECT MIN(next_ms) FROM webhook_outbox WHERE state='pending'");
  if (!s.step() || s.is_null(0)) return std::nullopt;
  return s.integer(0);
}

void database::webhook_delivered(std::int64_t seq) {
  // Delivered rows go at once: the outbox holds only what is still owed (and failures).
  statement(*this, "DELETE FROM webhook_outbox WHERE seq=?").bind(1, seq).run();
}

bool database::webhook_failed(std::int64_t seq, const std::string& error, std::int64_t now_ms) {
  const webhook_policy policy = webhooks_.value_or(webhook_policy{});
  std::int64_t attempts = 0;
  std::string type;
  {
    statement s(*this, "SELECT attempts,type FROM webhook_outbox WHERE seq=? AND state='pending'");
    s.bind(1, seq);
    if (!s.step()) return false;  // delivered or dropped meanwhile
    attempts = s.integer(0) + 1;
    type = s.text(1);
  }
  if (attempts >= policy.max_attempts) {
    statement(*this, "UPDATE webhook_outbox SET state='failed',attempts=?,last_error=? WHERE seq=?")
        .bind(1, attempts).bind(2, error).bind(3, seq).run();
    spdlog::error("webhooks: giving up on event {} ({}) after {} attempts: {}", seq, type, attempts, error);
    return false;
  }
  // Exponential backoff with "equal jitter": half the delay fixed, half random, so that the
  // retries of a burst that failed together do not hit a recovering receiver together.
  std::int64_t delay = policy.base_ms;
  for (std::int64_t i = 1; i < attempts && delay < policy.max_ms; ++i) delay *= 2;
  delay = std::min(delay, policy.max_ms);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  delay = delay / 2 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(delay / 2 + 1));
  statement(*this, "UPDATE webhook_outbox SET attempts=?,last_error=?,next_ms=? WHERE seq=?")
      .bind(1, attempts).bind(2, error).bind(3, now_ms + delay).bind(4, seq).run();
  return true;
}

webhook_stats database::webhook_counts() {
  webhook_stats out;
  statement s(*this, "SELECT state,COUNT(*) FROM webhook_outbox GROUP BY state");
  while (s.step()) {
    if (s.text(0) == "pending") out.pending = s.integer(1);
    else if (s.text(0) == "failed") out.failed = s.integer(1);
  }
  return out;
}

}  // namespace tether
