// The abandoned-upload part of a session (PROTOCOL.md §5): which uploads it tracks. Storage is
// the truth; `files` mirrors what it last confirmed, for `connected` after a resume.
#include "actors/session_state.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace tether {

namespace {

using codec::err;

std::vector<codec::rejected_file> rejected_of(const track_result& r) {
  std::vector<codec::rejected_file> out;
  out.reserve(r.rejected.size());
  for (const auto& [id, outcome] : r.rejected)
    out.push_back({id, outcome == track_outcome::forbidden ? err::forbidden : err::not_found});
  return out;
}

// A storage failure: the client may retry; nothing was recorded.
auto failed(session_self self, const boost::json::value& ref, const char* what) {
  return [self, ref, what](caf::error&) { send_error(self, err::internal, what, ref); };
}

}  // namespace

void on_message(session_self self, const codec::register_msg& m) {
  auto& st = self->state;
  if (m.user_id && *m.user_id != st.user_id) {
    send_error(self, err::forbidden, "user_id does not match the session's user", m.ref);
    return;
  }
  auto ref = m.ref;
  self->request(st.deps.storage, caf::infinite, track_atom::value, st.session_id, st.user_id, m.file_ids,
                m.draft_id.value_or(""))
      .then(
          [self, ref](track_result& r) {
            self->state.files.files = r.tracked;
            reply(self, codec::registered{self->state.session_id, std::move(r.tracked), rejected_of(r), ref});
          },
          failed(self, ref, "could not record the files; try again"));
}

void on_message(session_self self, const codec::file_uploaded_msg& m) {
  auto& st = self->state;
  auto ref = m.ref;
  auto file_id = m.file_id;
  self->request(st.deps.storage, caf::infinite, track_atom::value, st.session_id, st.user_id, string_list{file_id},
                std::string())
      .then(
          [self, ref, file_id](track_result& r) {
            self->state.files.files = r.tracked;
            if (!r.rejected.empty()) {
              bool forbidden = r.rejected.front().second == track_outcome::forbidden;
              send_error(self, forbidden ? err::forbidden : err::not_found,
                         forbidden ? "file belongs to another user" : "no such file", ref);
              return;
            }
            reply(self, codec::ack_file{codec::file_change::uploaded, file_id, ref});
          },
          failed(self, ref, "could not record the file; try again"));
}

void on_message(session_self self, const codec::file_removed_msg& m) {
  auto& st = self->state;
  auto ref = m.ref;
  auto file_id = m.file_id;
  self->request(st.deps.storage, caf::infinite, untrack_atom::value, st.session_id, st.user_id, file_id)
      .then(
          [self, ref, file_id](bool was_tracked) {
            if (!was_tracked) {
              send_error(self, err::not_found, "file is not tracked by this session", ref);
              return;
            }
            auto& files = self->state.files.files;
            files.erase(std::remove(files.begin(), files.end(), file_id), files.end());
            reply(self, codec::ack_file{codec::file_change::removed, file_id, ref});
          },
          failed(self, ref, "could not record the change; try again"));
}

void on_message(session_self self, const codec::post_submitted_msg& m) {
  auto& st = self->state;
  auto ref = m.ref;
  auto post_id = m.post_id;
  self->request(st.deps.storage, caf::infinite, submit_atom::value, st.session_id, st.user_id, post_id.value_or(""))
      .then(
          [self, ref, post_id](string_list& kept) {
            self->state.files.files.clear();
            reply(self, codec::ack_post_submitted{std::move(kept), post_id, ref});
          },
          failed(self, ref, "could not record the submission; try again"));
}

}  // namespace tether
