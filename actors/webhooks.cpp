#include "actors/webhooks.hpp"

#include "actors/timer.hpp"
#include "actors/webhook_transport.hpp"
#include "proto/clock.hpp"
#include "proto/hmac.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tether {

namespace {

// After a failed read or report, look again this much later (the storage side is in trouble;
// supervision handles it if it dies).
constexpr std::int64_t retry_after_error_ms = 1000;

struct webhook_sender_state {
  storage_actor storage;
  reader_actor reader;
  std::shared_ptr<webhook_transport> transport;
  webhook_sender_config cfg;
  // A round: read up to max_in_flight due events, POST them all, report all outcomes at once. One
  // round at a time, so an event is never in flight twice from this process.
  bool busy = false;
  bool wake_again = false;
  std::uint64_t round = 0;
  std::size_t in_flight = 0;
  webhook_report report;
  std::int64_t timer_for = -1;  // unix ms the pending timer fires at, -1 if none
  static inline const char* name = "webhooks";
};

using sender_self = webhook_sender_actor::stateful_pointer<webhook_sender_state>;

void start_round(sender_self self);

void after_round(sender_self self, std::int64_t next_due_ms, bool did_work) {
  auto& st = self->state;
  st.busy = false;
  if (did_work || st.wake_again) {
    st.wake_again = false;
    start_round(self);
    return;
  }
  if (next_due_ms < 0) return;
  if (st.timer_for >= 0 && st.timer_for <= next_due_ms) return;  // one timer, for the earliest
  st.timer_for = next_due_ms;
  // A timer that dies with the actor (actors/timer.hpp): a delayed_send would hold it until the
  // next retry, however far off.
  start_timer(self, std::chrono::milliseconds(std::max<std::int64_t>(0, next_due_ms - unix_ms())), [self] {
    self->state.timer_for = -1;
    start_round(self);
  });
}

void send_report(sender_self self) {
  auto& st = self->state;
  auto report = std::move(st.report);
  st.report = {};
  self->request(st.storage, caf::infinite, wh_report_atom::value, std::move(report))
      .then([self](std::int64_t next_due) { after_round(self, next_due, true); },
            [self](caf::error& e) {
              spdlog::error("webhooks: recording outcomes failed: {}", to_string(e));
              after_round(self, unix_ms() + retry_after_error_ms, false);
            });
}

void post_all(sender_self self, std::vector<webhook_event>& events) {
  auto& st = self->state;
  st.in_flight = events.size();
  // Weak: a POST under way must not keep a stopped sender alive; its outcome is then lost and the
  // row, still pending, is sent again after the restart (at least once).
  caf::weak_actor_ptr weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  for (auto& e : events) {
    auto signature = "sha256=" + hmac_sha256_hex(st.cfg.secret, e.body);
    st.transport->post(std::move(e.body), std::move(signature), [weak, round = st.round, seq = e.seq](std::string error) {
      if (auto me = caf::actor_cast<webhook_sender_actor>(weak.lock()))
        caf::anon_send(me, posted_atom::value, round, seq, std::move(error));
    });
  }
}

void start_round(sender_self self) {
  auto& st = self->state;
  if (st.busy) {
    st.wake_again = true;
    return;
  }
  st.busy = true;
  ++st.round;
  // The reply to the last report came after its commit, so this read already sees it.
  self->request(st.reader, caf::infinite, wh_due_atom::value, st.cfg.max_in_flight)
      .then(
          [self](webhook_batch& batch) {
            if (batch.events.empty()) {
              after_round(self, batch.next_ms, false);
              return;
            }
            post_all(self, batch.events);
          },
          [self](caf::error& e) {
            spdlog::error("webhooks: reading the outbox failed: {}", to_string(e));
            after_round(self, unix_ms() + retry_after_error_ms, false);
          });
}

void on_posted(sender_self self, std::uint64_t round, std::int64_t seq, std::string& error) {
  auto& st = self->state;
  if (round != st.round || st.in_flight == 0) return;  // cannot happen: one round at a time
  if (!error.empty()) spdlog::warn("webhooks: event {} not delivered: {}", seq, error);
  st.report.results.emplace_back(seq, std::move(error));
  if (--st.in_flight == 0) send_report(self);
}

webhook_sender_actor::behavior_type sender_behavior(sender_self self, storage_actor storage, reader_actor reader,
                                                    std::shared_ptr<webhook_transport> transport,
                                                    webhook_sender_config cfg) {
  self->set_default_handler(caf::print_and_drop);
  auto& st = self->state;
  st.storage = std::move(storage);
  st.reader = std::move(reader);
  st.transport = std::move(transport);
  st.cfg = std::move(cfg);
  st.cfg.max_in_flight = std::max<std::int64_t>(1, st.cfg.max_in_flight);
  return {
      [=](wake_atom) { start_round(self); },
      [=](posted_atom, std::uint64_t round, std::int64_t seq, std::string& error) { on_posted(self, round, seq, error); },
  };
}

}  // namespace

webhook_sender_actor spawn_webhook_sender(caf::actor_system& sys, storage_actor storage, reader_actor reader,
                                          std::shared_ptr<webhook_transport> transport, webhook_sender_config cfg) {
  // Not detached: it never blocks (the transport is asynchronous, the database is the others').
  return sys.spawn(sender_behavior, std::move(storage), std::move(reader), std::move(transport), std::move(cfg));
}

}  // namespace tether
