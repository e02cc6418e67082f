#pragma once
// One-shot timers that die with their actor.
//
// CAF 0.17's delayed_send keeps a strong reference to its receiver in the clock until the message
// fires. A session that ended with its 30-minute idle check pending therefore stayed in memory for
// 30 minutes: ~1.8 KB per ended session, without bound under churn. A request timeout is
// different: when an actor terminates, local_actor::cleanup calls clock().cancel_timeouts(this),
// which drops the clock's reference at once. So a timer here is a response handler for a request
// nobody answers, armed with a request timeout: it runs `on_fire` after `delay` unless the actor
// has quit first. It works with the deterministic test coordinator like any timeout.
#include <caf/behavior.hpp>
#include <caf/duration.hpp>
#include <caf/error.hpp>
#include <caf/message_id.hpp>
#include <caf/message_priority.hpp>

#include <chrono>
#include <utility>

namespace tether {

template <class Self, class Rep, class Period, class F>
void start_timer(Self* self, std::chrono::duration<Rep, Period> delay, F on_fire) {
  auto request_id = self->new_request_id(caf::message_priority::normal);
  // The clock delivers sec::request_timeout as the response to `request_id`: that is the tick.
  self->add_multiplexed_response_handler(request_id.response_id(),
                                         caf::behavior{[f = std::move(on_fire)](caf::error&) mutable { f(); }});
  // Takes the request id (it derives the response id itself).
  self->request_response_timeout(caf::duration{std::chrono::duration_cast<std::chrono::nanoseconds>(delay)},
                                 request_id);
}

}  // namespace tether
