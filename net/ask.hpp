#pragma once
// Asking an actor from the network threads without blocking them: a short-lived actor makes the
// request and hands the answer (or the error) on.
#include <boost/asio/post.hpp>
#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <type_traits>
#include <utility>

namespace tether {

namespace ask_detail {

constexpr auto timeout = std::chrono::seconds(30);

// The short-lived actor: asks `dest` and hands what comes back to `deliver`, on its own thread.
template <class Result, class Handle, class Deliver, class... Ts>
void spawn_asker(caf::actor_system& sys, const Handle& dest, Deliver deliver, Ts... xs) {
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(dest, timeout, xs...)
        .then(
            [=](Result& r) {
              deliver(caf::expected<Result>(std::move(r)));
              self->quit();
            },
            [=](caf::error& e) {
              deliver(caf::expected<Result>(std::move(e)));
              self->quit();
            });
  });
}

template <class T>
constexpr bool is_executor_v = boost::asio::execution::is_executor<T>::value || boost::asio::is_executor<T>::value;

}  // namespace ask_detail

// `done` runs on `ex` (a connection's strand), never on an actor thread: there it may do the
// disk work that Beast does on its I/O threads (open, rename, remove) and touch the connection's
// state, while the 1-2 scheduler threads never wait on the disk.
template <class Result, class Executor, class Handle, class... Ts,
          std::enable_if_t<ask_detail::is_executor_v<Executor>, int> = 0>
void ask(caf::actor_system& sys, const Executor& ex, const Handle& dest,
         std::function<void(caf::expected<Result>)> done, Ts... xs) {
  ask_detail::spawn_asker<Result>(
      sys, dest,
      [ex, done](caf::expected<Result> r) {
        boost::asio::post(ex, [done, r = std::move(r)]() mutable { done(std::move(r)); });
      },
      xs...);
}

// `done` runs on an actor thread: for answers that only build a reply and hand it to a
// thread-safe `respond` (no disk work, no connection state).
template <class Result, class Handle, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, std::function<void(caf::expected<Result>)> done, Ts... xs) {
  ask_detail::spawn_asker<Result>(sys, dest, std::move(done), xs...);
}

}  // namespace tether
