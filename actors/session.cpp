// The session actor: its behavior routes each message to the part that owns it
// (actors/session_state.hpp lists them). Messages from a connection the session no longer
// carries (replaced on a resume, or dropped) are ignored here, once for all parts.
#include "actors/session.hpp"

#include "actors/live_counts.hpp"
#include "actors/session_state.hpp"

#include <caf/all.hpp>

namespace tether {

namespace {

session_actor::behavior_type session_behavior(session_self self, session_deps deps, session_start start) {
  self->set_default_handler(caf::print_and_drop);
  self->state.deps = std::move(deps);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (!on_room_down(self, msg)) on_channel_down(self, msg);
  });
  start_session(self, std::move(start));
  auto current = [self](link_id from) { return from != 0 && from == self->state.link; };
  return {
      [=](link_id from, codec::client_message& m) {
        if (current(from)) on_client_message(self, m);
      },
      [=](link_id from, const codec::decode_error& e) {
        if (current(from)) on_decode_error(self, e);
      },
      [=](activity_atom, link_id from) {
        if (current(from)) on_activity(self);
      },
      [=](closed_atom, link_id from, std::uint16_t code, bool by_server) {
        if (current(from)) on_link_closed(self, code, by_server);
      },
      [=](held_atom, link_id from) {
        if (current(from)) on_held(self);
      },
      [=](queued_atom, std::int64_t position) { on_queued(self, position); },
      [=](sweep_atom) { on_sweep(self); },
      [=](attach_atom, attach_request& req) { return on_attach(self, req); },
      [=](switched_atom, const std::string& room_id, const std::string& by) { on_switched(self, room_id, by); },
      [=](evict_atom) { end_session(self, "inactive", 4010, "guest deleted"); },
      [=](shutdown_atom) { return on_shutdown(self); },
  };
}

// A class rather than a function-based actor only to count live actor objects: CAF destroys the
// state when the actor quits, but the object itself lives until the last reference to it is gone,
// which is what a leak holds on to.
class session_impl : public session_actor::stateful_base<session_state> {
public:
  session_impl(caf::actor_config& cfg, session_deps deps, session_start start)
      : session_actor::stateful_base<session_state>(cfg), deps_(std::move(deps)), start_(std::move(start)) {
    ++live().session_actors;
  }
  ~session_impl() override { --live().session_actors; }

  behavior_type make_behavior() override { return session_behavior(this, std::move(deps_), std::move(start_)); }

private:
  session_deps deps_;
  session_start start_;
};

}  // namespace

session_actor spawn_session(caf::actor_system& sys, const session_deps& deps, session_start start) {
  return sys.spawn<session_impl>(deps, std::move(start));
}

}  // namespace tether
