// A resume (PROTOCOL.md §4, docs/architecture.md "Resume"): one session identity from open to end.
//
// The session's own actor lives as long as the session. A reconnecting client's connection gets
// an actor of its own (the asker); once it has authenticated with a resume token, it hands its
// connection to the session's actor instead of moving the session into itself, so whatever holds
// the session (the directory, rooms, channels, monitors) never sees it change:
//   1. the asker finds the session's actor through the directory (token and user must match);
//   2. it puts its link on hold: the connection keeps what it reads and then sends `held`, the
//      last thing the asker gets from it, so the asker knows every message read so far;
//   3. it sends `attach` with the link and those messages; the session checks the token, closes
//      its old connection (4009), records the resume (new token) and answers true: the asker quits;
//   4. the session sends `connected` (resumed), handles the asker's messages, and rebinds the
//      link to itself: the connection hands over what it kept, in order, and sends to it from then on.
// Any refusal (unknown, used or foreign token, session ending) leaves the asker to open a fresh
// session with its link taken off hold (rebound to itself): resumed:false (§11).
#include "actors/session_state.hpp"

#include "proto/random.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tether {

namespace {

session_actor me(session_self self) { return caf::actor_cast<session_actor>(self); }

// The asker, refused: its link carries a fresh session instead.
void resume_refused(session_self self) {
  auto& st = self->state;
  st.resuming = false;
  st.resume_token.clear();
  if (auto l = st.out->link()) l->rebind(me(self));
  open_fresh(self);
}

}  // namespace

void begin_resume(session_self self, const std::string& resume_token) {
  auto& st = self->state;
  st.resume_token = resume_token;  // the token asked for, until a session answers
  self->request(st.deps.directory, caf::infinite, lookup_atom::value, resume_token, st.user_id)
      .then(
          [self](const session_actor& owner) {
            if (ended(self)) return;
            auto& s = self->state;
            auto l = s.out->link();
            if (!l) return self->quit();  // the connection is gone already: nothing to resume for
            if (!owner) return open_fresh(self);
            s.resuming = true;
            s.resume_owner = owner;
            l->hold();  // on_held continues
          },
          [self](caf::error&) {
            if (!ended(self)) open_fresh(self);
          });
}

// The link is on hold and everything it read is in st.held: ask the session to take it.
void on_held(session_self self) {
  auto& st = self->state;
  if (!st.resuming || ended(self)) return;
  auto owner = std::move(st.resume_owner);
  st.resume_owner = nullptr;
  attach_request req{st.out->link(), st.user_id, st.resume_token, std::move(st.held), st.connect_ref};
  st.held.clear();
  if (!req.link) return self->quit();
  // No timeout: the owner is a local actor that answers at once, or is gone and the request
  // bounces (request_receiver_down). A timeout could let both sides believe they own the link.
  self->request(owner, caf::infinite, attach_atom::value, std::move(req))
      .then(
          [self](bool adopted) {
            if (!adopted) return resume_refused(self);
            // The link is the session's now; this actor never had a session of its own.
            auto& s = self->state;
            s.out->unbind();
            s.link = 0;
            s.state = phase::ending;
            self->quit();
          },
          [self](caf::error&) { resume_refused(self); });
}

caf::result<bool> on_attach(session_self self, attach_request& req) {
  auto& st = self->state;
  bool resumable = (st.state == phase::open || st.state == phase::detached) && req.link &&
                   req.user_id == st.user_id && !st.resume_token.empty() && req.resume_token == st.resume_token;
  if (!resumable) return false;
  // A resume that arrives while the old socket is still open closes the old one (§11); what that
  // socket still says is ignored from here on (it carries the old link id).
  if (auto old = st.out->link()) old->close(4009, "replaced by a newer session");
  // Nothing from its channels reaches the new connection before `connected`: they replay after it.
  if (st.state == phase::open) lag_channels(self);
  st.out->bind(req.link);
  st.link = req.link->id();
  st.state = phase::binding;
  st.resume_token.clear();  // a token works once, even if recording the resume fails
  ++st.heartbeat_gen;       // the old connection's heartbeat and
  ++st.window_gen;          // the resume window are over
  st.leaving = false;
  st.bad_frames = 0;
  // What a restart left (reason "crash"/"shutdown", the restart window) was for that wait only:
  // the next drop is an ordinary one.
  st.detach_reason = "closed";
  st.window_ms = -1;
  st.connect_ref = std::move(req.connect_ref);
  st.held = std::move(req.held);
  auto rp = self->make_response_promise<bool>();
  auto token = random_hex(resume_token_bytes);
  self->request(st.deps.storage, caf::infinite, resume_atom::value, st.session_id, token)
      .then(
          [self, rp, token](resumed_session& r) mutable {
            auto& s = self->state;
            if (s.state != phase::binding) {  // shut down meanwhile: persisted for a later resume
              rp.deliver(true);
              return;
            }
            if (!r.found) {
              // Ended in SQLite behind this actor's back: there is nothing to resume. The asker
              // keeps its link and opens a fresh session; this actor goes without ending anything.
              spdlog::warn("session {}: resume found it ended; the client gets a fresh session", s.session_id);
              s.out->unbind();
              s.link = 0;
              s.state = phase::ending;
              self->send(s.deps.directory, unregister_atom::value, s.session_id);
              rp.deliver(false);
              self->quit();
              return;
            }
            rp.deliver(true);
            s.resume_token = token;
            s.files.files = std::move(r.files);
            auto l = s.out->link();
            became_open(self, true);
            refresh_rooms(self);
            catch_up_channels(self);
            if (l) l->rebind(me(self));
          },
          [self, rp](caf::error& e) mutable {
            // The link is ours (the asker let go of it): ours to answer and close.
            rp.deliver(true);
            spdlog::error("session {}: resuming failed: {}", self->state.session_id, to_string(e));
            send_error(self, codec::err::internal, "the session could not be stored; try again", self->state.connect_ref);
            end_session(self, "closed", 1011, "internal error");
          });
  return rp;
}

}  // namespace tether
