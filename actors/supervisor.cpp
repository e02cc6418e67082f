#include "actors/supervisor.hpp"

#include "actors/cleaner.hpp"
#include "actors/directory.hpp"
#include "actors/reader.hpp"
#include "actors/storage.hpp"
#include "actors/webhooks.hpp"
#include "storage/database.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "proto/clock.hpp"

#include <algorithm>
#include <memory>
#include <unordered_set>

namespace tether {

namespace {

struct supervisor_state {
  supervisor_options options;
  session_deps deps;
  webhook_sender_actor webhooks;  // null when webhooks are off
  bool shutting_down = false;
  static inline const char* name = "supervisor";
};

using supervisor_self = supervisor_actor::stateful_pointer<supervisor_state>;

void schedule_sweep(supervisor_self self) {
  self->delayed_send(self, std::chrono::milliseconds(self->state.options.cfg->session.sweep_interval_ms),
                     sweep_atom::value);
}

// Uploads no session ever tracked are queued in bounded batches, each its own short transaction;
// a full batch means there may be more, so the next follows at once (behind whatever the storage
// mailbox holds by then), else the sweep waits a quarter of the age limit (at most a minute).
constexpr std::int64_t unclaimed_batch = 500;

void schedule_unclaimed_sweep(supervisor_self self, bool at_once = false) {
  auto after = self->state.options.cfg->cleanup.unclaimed_after_ms;
  if (after <= 0) return;  // 0: never
  if (at_once) {
    self->send(self, unclaimed_tick_atom::value);
    return;
  }
  auto period = std::clamp<std::int64_t>(after / 4, 10, 60000);
  self->delayed_send(self, std::chrono::milliseconds(period), unclaimed_tick_atom::value);
}

void sweep_unclaimed(supervisor_self self) {
  auto& st = self->state;
  self->request(st.deps.storage, caf::infinite, unclaimed_atom::value, st.options.cfg->cleanup.unclaimed_after_ms,
                unclaimed_batch)
      .then(
          [self](std::int64_t queued) {
            if (self->state.shutting_down) return;
            if (queued > 0) {
              spdlog::info("cleanup: {} unclaimed upload(s) queued for deletion", queued);
              self->send(self->state.deps.cleaner, wake_atom::value);
            }
            schedule_unclaimed_sweep(self, queued >= unclaimed_batch);
          },
          [self](caf::error& e) {
            spdlog::error("cleanup: the unclaimed sweep failed: {}", to_string(e));
            if (!self->state.shutting_down) schedule_unclaimed_sweep(self);
          });
}

// Guests inactive past users.guest_inactive_ms (plus the lag of their sessions' reports) are
// deleted in batches like the unclaimed sweep; the sessions they still have end with `inactive`.
constexpr std::int64_t guest_batch = 500;
// Notifications deleted per transaction by the retention sweep: small enough not to hold the
// writer for more than a few ms.
constexpr std::int64_t prune_batch = 1000;

void schedule_guest_sweep(supervisor_self self, bool at_once = false) {
  if (at_once) {
    self->send(self, guest_tick_atom::value);
    return;
  }
  self->delayed_send(self, std::chrono::milliseconds(self->state.options.cfg->users.sweep_interval_ms),
                     guest_tick_atom::value);
}

template <class Then>
void delete_inactive_guests(supervisor_self self, Then then) {
  auto& cfg = *self->state.options.cfg;
  auto cutoff = unix_ms() - cfg.users.guest_inactive_ms - guest_activity_lag_ms(cfg);
  self->request(self->state.deps.storage, caf::infinite, guest_sweep_atom::value, cutoff, guest_batch)
      .then(
          [self, then](string_list& gone) mutable {
            if (!gone.empty()) spdlog::info("users: {} inactive guest(s) deleted", gone.size());
            then(std::move(gone));
          },
          [self, then](caf::error& e) mutable {
            spdlog::error("users: the guest sweep failed: {}", to_string(e));
            then(string_list{});
          });
}

// notifications.retention_ms, on the guest sweep's timer: a small batch each time (the writer is
// shared), more at once while a batch comes back full.
void prune_notifications(supervisor_self self) {
  auto cutoff = unix_ms() - self->state.options.cfg->notifications.retention_ms;
  self->request(self->state.deps.storage, caf::infinite, prune_notes_atom::value, cutoff, prune_batch)
      .then(
          [self](std::int64_t n) {
            if (n > 0) spdlog::info("notifications: {} past notifications.retention_ms deleted", n);
            if (n >= prune_batch && !self->state.shutting_down) prune_notifications(self);
          },
          [](caf::error& e) { spdlog::error("notifications: pruning failed: {}", to_string(e)); });
}

void sweep_guests(supervisor_self self) {
  prune_notifications(self);
  delete_inactive_guests(self, [self](string_list gone) {
    if (self->state.shutting_down) return;
    auto full = static_cast<std::int64_t>(gone.size()) >= guest_batch;
    if (!gone.empty()) self->send(self->state.deps.directory, evict_atom::value, std::move(gone));
    schedule_guest_sweep(self, full);
  });
}

// Sessions restored from before the restart; those of guests the first sweep just deleted end at
// once (told here rather than through the directory, which may not have them registered yet; no
// other session exists before /readyz turns 200).
void restore_sessions(supervisor_self self, std::vector<persisted_session>& sessions, const string_list& gone) {
  std::unordered_set<std::string> deleted(gone.begin(), gone.end());
  for (auto& p : sessions) {
    bool evicted = deleted.count(p.user_id) > 0;
    session_start start;
    start.restored = std::move(p);
    auto session = spawn_session(self->system(), self->state.deps, std::move(start));
    if (evicted) self->send(session, evict_atom::value);
  }
}

void recover(supervisor_self self, caf::typed_response_promise<bool> rp) {
  auto& st = self->state;
  self->request(st.deps.storage, caf::infinite, recover_atom::value, st.options.cfg->session.resume_window_ms,
                st.options.cfg->session.restart_window_ms)
      .then(
          [self, rp](recovered_sessions& r) mutable {
            // The first guest sweep comes before the sessions are restored, so that a deleted
            // guest's session is never resumable, not even for a moment.
            auto restored = std::make_shared<recovered_sessions>(std::move(r));
            delete_inactive_guests(self, [self, rp, restored](string_list gone) mutable {
              auto& st = self->state;
              // Sessions that were open or waiting at the stop wait again, for a fresh window.
              restore_sessions(self, restored->sessions, gone);
              spdlog::info("recovery: {} session(s) waiting for resume", restored->sessions.size());
              self->send(st.deps.cleaner, wake_atom::value);
              // Events left pending by the last run (a kill -9 included) go out now.
              if (st.webhooks) self->send(st.webhooks, wake_atom::value);
              schedule_sweep(self);
              schedule_unclaimed_sweep(self, /*at_once=*/true);
              schedule_guest_sweep(self, static_cast<std::int64_t>(gone.size()) >= guest_batch);
              if (st.options.hooks.on_ready) st.options.hooks.on_ready();
              rp.deliver(true);
            });
          },
          [self, rp](caf::error& e) mutable {
            auto why = "recovery failed: " + to_string(e);
            spdlog::critical(why);
            if (self->state.options.hooks.on_fatal) self->state.options.hooks.on_fatal(why);
            rp.deliver(e);
          });
}

supervisor_actor::behavior_type supervisor_behavior(supervisor_self self, supervisor_options options) {
  auto& st = self->state;
  self->set_default_handler(caf::print_and_drop);
  st.options = std::move(options);
  auto& o = st.options;
  st.deps.cfg = o.cfg;
  st.deps.storage = spawn_storage(self->system(), o.db,
                                  retry_policy{o.cfg->cleanup.max_attempts, o.cfg->cleanup.retry_base_ms,
                                               o.cfg->cleanup.retry_max_ms},
                                  o.detached_io);
  st.deps.reader = spawn_reader(self->system(), o.reader_db, o.detached_io);
  st.deps.cleaner = spawn_cleaner(self->system(), st.deps.storage, st.deps.reader, o.blobs, o.detached_io);
  st.deps.presence = spawn_presence(self->system());
  st.deps.directory =
      spawn_directory(self->system(), st.deps.storage, st.deps.cleaner, o.cfg->server.max_sessions,
                      o.cfg->server.max_queue, st.deps.presence);
  st.deps.rooms = spawn_room_registry(self->system(), rooms_config(*o.cfg));
  st.deps.channels = spawn_channel_registry(self->system(), channels_config(*o.cfg, st.deps.storage, st.deps.reader));
  if (o.webhooks) {
    st.webhooks = spawn_webhook_sender(self->system(), st.deps.storage, st.deps.reader, o.webhooks,
                                       webhook_sender_config{o.cfg->webhooks.secret, o.cfg->webhooks.max_in_flight});
    self->send(st.deps.storage, webhooks_atom::value, caf::actor_cast<caf::actor>(st.webhooks));
    self->monitor(st.webhooks);
  }
  self->monitor(st.deps.storage);
  self->monitor(st.deps.reader);
  self->monitor(st.deps.cleaner);
  self->monitor(st.deps.directory);
  self->monitor(st.deps.rooms);
  self->monitor(st.deps.channels);
  self->monitor(st.deps.presence);
  self->set_down_handler([self](const caf::down_msg& msg) {
    if (self->state.shutting_down) return;
    auto& d = self->state.deps;
    const char* who = msg.source == d.storage.address()     ? "storage"
                      : msg.source == d.reader.address()    ? "reader"
                      : msg.source == d.cleaner.address()   ? "cleaner"
                      : msg.source == d.directory.address() ? "directory"
                      : self->state.webhooks && msg.source == self->state.webhooks.address() ? "webhook sender"
                      : msg.source == d.channels.address() ? "channel registry"
                      : msg.source == d.presence.address() ? "presence"
                                                            : "room registry";
    auto why = std::string(who) + " actor died: " + to_string(msg.reason);
    auto& hooks = self->state.options.hooks;
    bool volatile_state = msg.source == d.rooms.address() || msg.source == d.channels.address() ||
                          msg.source == d.presence.address();
    if (volatile_state && hooks.on_give_up) {
      // Rooms, channels and presence hold nothing durable: the sessions and the messages are, so a
      // clean shutdown loses nothing.
      spdlog::critical("{}; shutting down", why);
      hooks.on_give_up(why);
      return;
    }
    spdlog::critical(why);
    if (self->state.options.hooks.on_fatal) self->state.options.hooks.on_fatal(why);
  });
  return {
      [=](deps_atom) { return self->state.deps; },
      [=](start_atom) {
        auto rp = self->make_response_promise<bool>();
        recover(self, rp);
        return rp;
      },
      [=](sweep_atom a) {
        if (self->state.shutting_down) return;
        self->send(self->state.deps.directory, a);
        schedule_sweep(self);
      },
      [=](unclaimed_tick_atom) {
        if (!self->state.shutting_down) sweep_unclaimed(self);
      },
      [=](guest_tick_atom) {
        if (!self->state.shutting_down) sweep_guests(self);
      },
      [=](count_atom a) -> caf::result<std::int64_t> {
        auto rp = self->make_response_promise<std::int64_t>();
        self->request(self->state.deps.directory, caf::infinite, a)
            .then([rp](std::int64_t n) mutable { rp.deliver(n); },
                  [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](shutdown_atom a) {
        auto& st = self->state;
        st.shutting_down = true;
        // Stop sending, keep the rows: what is pending (or was under way) goes after the restart.
        if (st.webhooks) self->send_exit(st.webhooks, caf::exit_reason::user_shutdown);
        auto rp = self->make_response_promise<bool>();
        self->request(st.deps.directory, caf::infinite, a)
            .then([self, rp](bool) mutable {
              // The run's last audit record, committed by the sync below after the sessions
              // persisted above (the two requests reach storage in this order).
              self->request(self->state.deps.storage, caf::infinite, note_atom::value, std::string("server_stopped"),
                            std::string())
                  .then([](bool) {},
                        [](caf::error& e) { spdlog::error("shutdown: server_stopped not recorded: {}", to_string(e)); });
              self->request(self->state.deps.storage, caf::infinite, sync_atom::value)
                  .then([rp](bool) mutable { rp.deliver(true); },
                        [rp](caf::error& e) mutable { rp.deliver(e); });
            });
        return rp;
      },
  };
}

}  // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_options options) {
  return sys.spawn(supervisor_behavior, std::move(options));
}

}  // namespace tether
