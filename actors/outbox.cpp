#include "actors/outbox.hpp"

#include <thread>

namespace tether {

class outbox::spin_guard {
public:
  explicit spin_guard(std::atomic<bool>& flag) : flag_(flag) {
    while (flag_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
  }
  ~spin_guard() { flag_.store(false, std::memory_order_release); }

private:
  std::atomic<bool>& flag_;
};

void outbox::bind(const std::shared_ptr<client_link>& link) {
  spin_guard g(busy_);
  link_ = link;
}

void outbox::unbind() {
  spin_guard g(busy_);
  link_.reset();
}

std::shared_ptr<client_link> outbox::link() const {
  spin_guard g(busy_);
  return link_.lock();
}

send_result outbox::send(frame f, delivery d) const {
  auto l = link();
  return l ? l->send(std::move(f), d) : send_result::closed;
}

}  // namespace tether
