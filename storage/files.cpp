// Files: uploads and external registrations, and the two ways a file is queued for deletion
// without a session ending (its owner's DELETE, the unclaimed sweep).
#include "storage/database.hpp"

#include "storage/statement.hpp"

#include <string>
#include <vector>

namespace tether {

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

bool database::queue_file_deletion(const std::string& file_id, const std::string& user_id, std::int64_t now_ms) {
  auto f = find_file(file_id);
  if (!f || f->user_id != user_id || (f->state != "active" && f->state != "kept")) return false;
  queue_deletion(file_id, "", user_id, "api_delete", now_ms);
  return true;
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
  for (const auto& o : orphans) queue_deletion(o.file_id, "", o.user_id, "unclaimed", now_ms);
  return static_cast<std::int64_t>(orphans.size());
}

}  // namespace tether
