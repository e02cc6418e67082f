// Chats: membership, messages with ids increasing per chat, history pages, read receipts
// (PROTOCOL.md §7). A dm:{a}:{b} chat (a < b) needs no creation: its members are in its id, and its
// row is made by its first message.
#include "storage/database.hpp"

#include "storage/statement.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tether {

namespace {

constexpr std::string_view dm_prefix = "dm:";

chat_message message_from(database::statement& s) {
  chat_message m;
  m.chat_id = s.text(0);
  m.message_id = s.integer(1);
  m.sender_id = s.text(2);
  m.content = s.text(3);
  m.attachment = s.text(4);
  m.client_msg_id = s.text(5);
  m.sent_ms = s.integer(6);
  return m;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> database::dm_members(const std::string& chat_id) {
  if (chat_id.compare(0, dm_prefix.size(), dm_prefix) != 0) return std::nullopt;
  auto rest = chat_id.substr(dm_prefix.size());
  auto colon = rest.find(':');
  if (colon == std::string::npos || rest.find(':', colon + 1) != std::string::npos) return std::nullopt;
  auto a = rest.substr(0, colon), b = rest.substr(colon + 1);
  if (a.empty() || b.empty() || !(a < b)) return std::nullopt;  // one spelling per pair
  return std::make_pair(a, b);
}

bool database::create_chat(const std::string& chat_id, const std::vector<std::string>& members, std::int64_t now_ms) {
  statement(*this, "INSERT OR IGNORE INTO chats(chat_id,created_ms) VALUES(?,?)").bind(1, chat_id).bind(2, now_ms).run();
  if (sqlite3_changes(db_) == 0) return false;
  for (const auto& user : members)
    statement(*this, "INSERT OR IGNORE INTO chat_members(chat_id,user_id) VALUES(?,?)").bind(1, chat_id).bind(2, user).run();
  audit("chat_created", "", "", "", "", "{\"chat_id\":\"" + chat_id + "\",\"members\":" + std::to_string(members.size()) + "}",
        now_ms);
  return true;
}

bool database::is_chat_member(const std::string& chat_id, const std::string& user_id) {
  if (auto dm = dm_members(chat_id)) return user_id == dm->first || user_id == dm->second;
  statement s(*this, "SELECT 1 FROM chat_members WHERE chat_id=? AND user_id=?");
  s.bind(1, chat_id).bind(2, user_id);
  return s.step();
}

chat_info database::chat(const std::string& chat_id) {
  chat_info info;
  {
    statement s(*this, "SELECT last_message_id FROM chats WHERE chat_id=?");
    s.bind(1, chat_id);
    if (s.step()) {
      info.exists = true;
      info.last_id = s.integer(0);
    }
  }
  if (dm_members(chat_id)) info.exists = true;
  if (info.exists) info.members = chat_members(chat_id);
  return info;
}

std::vector<std::string> database::chat_members(const std::string& chat_id) {
  if (auto dm = dm_members(chat_id)) return {dm->first, dm->second};
  std::vector<std::string> out;
  statement s(*this, "SELECT user_id FROM chat_members WHERE chat_id=? ORDER BY user_id");
  s.bind(1, chat_id);
  while (s.step()) out.push_back(s.text(0));
  return out;
}

append_result database::append_message(const std::string& chat_id, const std::string& sender_id,
                                       const std::string& client_msg_id, const std::string& content,
                                       const std::string& attachment, std::int64_t now_ms) {
  if (!client_msg_id.empty()) {
    // A client that resends after a reconnect (it never saw its new_message) gets the first one back.
    statement s(*this, "SELECT chat_id,message_id,sender_id,content,attachment,client_msg_id,sent_ms FROM chat_messages "
                       "WHERE chat_id=? AND sender_id=? AND client_msg_id=?");
    s.bind(1, chat_id).bind(2, sender_id).bind(3, client_msg_id);
    if (s.step()) return {message_from(s), true};
  }
  if (dm_members(chat_id))
    statement(*this, "INSERT OR IGNORE INTO chats(chat_id,created_ms) VALUES(?,?)").bind(1, chat_id).bind(2, now_ms).run();
  chat_message m;
  {
    statement s(*this, "UPDATE chats SET last_message_id=last_message_id+1 WHERE chat_id=? RETURNING last_message_id");
    s.bind(1, chat_id);
    if (!s.step()) throw std::runtime_error("append_message: no chat " + chat_id);
    m.message_id = s.integer(0);
  }
  m.chat_id = chat_id;
  m.sender_id = sender_id;
  m.content = content;
  m.attachment = attachment;
  m.client_msg_id = client_msg_id;
  m.sent_ms = now_ms;
  statement ins(*this, "INSERT INTO chat_messages(chat_id,message_id,sender_id,content,attachment,client_msg_id,sent_ms) "
                       "VALUES(?,?,?,?,?,NULLIF(?,''),?)");
  ins.bind(1, chat_id).bind(2, m.message_id).bind(3, sender_id).bind(4, content).bind(5, attachment)
      .bind(6, client_msg_id).bind(7, now_ms)
      .run();
  return {std::move(m), false};
}

history_page database::history(const std::string& chat_id, std::int64_t before_id, std::int64_t limit) {
  history_page page;
  {
    // Newest first through the primary key, one more than asked to know whether there is more.
    statement s(*this, "SELECT chat_id,message_id,sender_id,content,attachment,client_msg_id,sent_ms FROM chat_messages "
                       "WHERE chat_id=? AND message_id<? ORDER BY message_id DESC LIMIT ?");
    s.bind(1, chat_id).bind(2, before_id > 0 ? before_id : INT64_MAX).bind(3, limit + 1);
    while (s.step()) page.messages.push_back(message_from(s));
  }
  if (static_cast<std::int64_t>(page.messages.size()) > limit) {
    page.has_more = true;
    page.messages.pop_back();
  }
  std::reverse(page.messages.begin(), page.messages.end());
  return page;
}

std::vector<chat_message> database::messages_after(const std::string& chat_id, std::int64_t after_id,
                                                   std::int64_t limit) {
  std::vector<chat_message> out;
  statement s(*this, "SELECT chat_id,message_id,sender_id,content,attachment,client_msg_id,sent_ms FROM chat_messages "
                     "WHERE chat_id=? AND message_id>? ORDER BY message_id LIMIT ?");
  s.bind(1, chat_id).bind(2, after_id).bind(3, limit);
  while (s.step()) out.push_back(message_from(s));
  return out;
}

read_receipt database::mark_read(const std::string& chat_id, std::int64_t message_id, const std::string& reader_id,
                                 std::int64_t now_ms) {
  read_receipt r;
  {
    statement s(*this, "SELECT sender_id FROM chat_messages WHERE chat_id=? AND message_id=?");
    s.bind(1, chat_id).bind(2, message_id);
    if (!s.step()) return r;
    r.found = true;
    r.sender_id = s.text(0);
  }
  statement(*this, "INSERT OR IGNORE INTO message_reads(chat_id,message_id,user_id,read_ms) VALUES(?,?,?,?)")
      .bind(1, chat_id).bind(2, message_id).bind(3, reader_id).bind(4, now_ms)
      .run();
  r.first = sqlite3_changes(db_) > 0;
  statement s(*this, "SELECT read_ms FROM message_reads WHERE chat_id=? AND message_id=? AND user_id=?");
  s.bind(1, chat_id).bind(2, message_id).bind(3, reader_id);
  if (s.step()) r.read_ms = s.integer(0);
  return r;
}

}  // namespace tether
