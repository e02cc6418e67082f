#pragma once
// Asking an actor from the network threads without blocking them: a short-lived actor makes the
// request and hands the answer (or the error) to `done`, on an actor thread.
#include <caf/all.hpp>

#include <chrono>
#include <functional>

namespace tether {

template <class Result, class Handle, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, std::function<void(caf::expected<Result>)> done, Ts... xs) {
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(dest, std::chrono::seconds(30), xs...)
        .then(
            [=](Result& r) {
              done(std::move(r));
              self->quit();
            },
            [=](caf::error& e) {
              done(e);
              self->quit();
            });
  });
}

}  // namespace tether
