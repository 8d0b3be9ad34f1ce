#include "memory_budget.hpp"

#include <asio/post.hpp>

#include <utility>

#include "wiregen/connection.hpp"

namespace wiregen::detail {

memory_budget::verdict memory_budget::may_grow(const connection& holder,
                                               std::size_t steps) noexcept {
  const std::size_t held = held_.load(std::memory_order_relaxed);
  if (steps == 0 || held <= limit_) {
    return verdict::grow;
  }
  if (held > limit_ + limit_ / 4) {
    return verdict::close;
  }
  const connection* none = nullptr;
  if (exempt_.load() == &holder || exempt_.compare_exchange_strong(none, &holder)) {
    return verdict::grow;  // this frame completes, and frees its bytes
  }
  return verdict::pause;
}

void memory_budget::change(const connection& holder, std::size_t before, std::size_t after) {
  if (after > before) {
    held_.fetch_add((after - before) * step, std::memory_order_relaxed);
    return;
  }
  const std::size_t freed = (before - after) * step;
  const std::size_t held = held_.fetch_sub(freed, std::memory_order_relaxed) - freed;
  bool released = false;
  if (after == 0) {
    const connection* self = &holder;
    released = exempt_.compare_exchange_strong(self, nullptr);
  }
  if (released || (held <= limit_ && held + freed > limit_)) {
    wake_paused();
  }
}

void memory_budget::wait(std::weak_ptr<connection> holder, asio::io_context& context) {
  {
    std::lock_guard lock(mutex_);
    paused_.push_back({std::move(holder), &context});
  }
  // Bytes may have been freed between the verdict and now.
  if (held() <= limit_ || exempt_.load() == nullptr) {
    wake_paused();
  }
}

void memory_budget::wake_paused() {
  std::vector<paused> woken;
  {
    std::lock_guard lock(mutex_);
    woken.swap(paused_);
  }
  for (auto& p : woken) {
    asio::post(*p.context, [holder = std::move(p.holder)] {
      if (const auto conn = holder.lock()) {
        conn->resume_after_budget();
      }
    });
  }
}

}  // namespace wiregen::detail
