#include "wiregen/detail/timer_wheel.hpp"

#include <algorithm>

namespace wiregen::detail {

asio::execution_context::id timer_wheel::id;

timer_wheel::timer_wheel(asio::execution_context& context)
    : asio::execution_context::service(context),
      timer_(static_cast<asio::io_context&>(context)),
      origin_(clock::now()) {
  next_tick_ = tick_of(origin_);
}

timer_wheel::~timer_wheel() {
  shutdown();
}

void timer_wheel::shutdown() {
  // Entries belong to connections that outlive no loop; unlink them so none
  // points into a destroyed wheel.
  for (auto& head : slots_) {
    while (head != nullptr) {
      cancel(*head);
    }
  }
}

std::uint64_t timer_wheel::tick_of(clock::time_point t) const noexcept {
  if (t <= origin_) {
    return 1;
  }
  // Rounded up: an entry never fires before its deadline.
  const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_);
  const auto step = std::chrono::duration_cast<std::chrono::nanoseconds>(resolution);
  return 1 + static_cast<std::uint64_t>((since.count() + step.count() - 1) / step.count());
}

void timer_wheel::schedule(entry& e, clock::time_point due) {
  cancel(e);
  const std::uint64_t tick = std::max(tick_of(due), next_tick_);
  e.slot_ = tick % slot_count;
  entry*& head = slots_[e.slot_];
  e.wheel_ = this;
  e.due_ = due;
  e.prev_ = nullptr;
  e.next_ = head;
  if (head != nullptr) {
    head->prev_ = &e;
  }
  head = &e;
  ++filed_;
  if (armed_tick_ == 0 || tick < armed_tick_) {
    arm(tick);
  }
}

void timer_wheel::cancel(entry& e) noexcept {
  if (e.wheel_ != this) {
    return;
  }
  if (e.prev_ != nullptr) {
    e.prev_->next_ = e.next_;
  } else {
    slots_[e.slot_] = e.next_;
  }
  if (e.next_ != nullptr) {
    e.next_->prev_ = e.prev_;
  }
  e.wheel_ = nullptr;
  e.prev_ = e.next_ = nullptr;
  --filed_;
}

void timer_wheel::arm(std::uint64_t tick) {
  armed_tick_ = tick;
  const std::uint64_t generation = ++generation_;
  timer_.expires_at(origin_ + (tick - 1) * resolution);
  timer_.async_wait([this, generation](std::error_code ec) {
    if (!ec) {
      on_tick(generation);
    }
  });
}

void timer_wheel::on_tick(std::uint64_t generation) {
  if (generation != generation_) {
    return;  // re-armed earlier since; that wait is the live one
  }
  armed_tick_ = 0;
  const auto now = clock::now();
  const std::uint64_t now_tick = tick_of(now);
  // Collect what is due first: expired() may file entries again, even into
  // the slot being walked.
  entry* due = nullptr;
  const std::uint64_t last = std::min(now_tick, next_tick_ + slot_count - 1);
  for (std::uint64_t tick = next_tick_; tick <= last; ++tick) {
    entry* e = slots_[tick % slot_count];
    while (e != nullptr) {
      entry* const next = e->next_;
      if (e->due_ <= now) {
        cancel(*e);
        e->next_ = due;
        due = e;
      }
      e = next;
    }
  }
  next_tick_ = now_tick;
  while (due != nullptr) {
    entry* const e = due;
    due = e->next_;
    e->next_ = nullptr;
    e->expired(now);
  }
  if (filed_ == 0) {
    return;
  }
  // Wake at the next slot holding anything, even if expired() re-filed an
  // entry further out meanwhile; an entry filed a whole turn of the wheel
  // ahead is looked at once per turn and left where it is.
  for (std::uint64_t tick = next_tick_; tick < next_tick_ + slot_count; ++tick) {
    if (slots_[tick % slot_count] != nullptr) {
      if (armed_tick_ == 0 || tick < armed_tick_) {
        arm(tick);
      }
      return;
    }
  }
}

}  // namespace wiregen::detail
