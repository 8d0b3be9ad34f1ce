#include "wiregen/detail/send_queue.hpp"

#include <algorithm>
#include <cstring>

#include "thread_object_cache.hpp"
#include "waits.hpp"

namespace wiregen::detail {

// Enough for the queues of a busy loop that have frames at one moment.
constexpr std::size_t queued_kept_per_thread = 128;

send_queue::queued* send_queue::take_queued() {
  return thread_object_cache<queued, queued_kept_per_thread>::take();
}

void send_queue::give_back_queued(queued* q) noexcept {
  if (q == nullptr) {
    return;
  }
  // The storage goes back to this thread's pool, so an idle connection
  // holds no send buffer (and one grown large is freed).
  buffer_pool::give_back(q->bytes);
  q->frames = 0;
  thread_object_cache<queued, queued_kept_per_thread>::give_back(q);
}

send_queue::~send_queue() {
  give_back_queued(pending_);
}

void send_queue::refuse_locked() {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  mark_unwritable_locked();
}

void send_queue::mark_unwritable_locked() {
  if (writable_.exchange(false)) {
    owner_.writability_changed();
  }
}

send_queue::waiting_line& send_queue::line_locked() {
  if (!line_) {
    line_ = std::make_unique<waiting_line>();
  }
  return *line_;
}

void send_queue::enter_line_locked(const waiter_ptr& w) {
  auto& line = line_locked();
  line.waiters.push_back(w);
  line.bytes += w->size;
}

void send_queue::leave_line_locked(const waiter_ptr& w) {
  std::erase(line_->waiters, w);  // in line, so line_ exists
  line_->bytes -= w->size;
}

void send_queue::notify_locked() {
  // Under the lock, which guards line_ being made: a blocked sender that
  // made it is waiting on it, or is about to be.
  if (line_) {
    line_->changed.notify_all();
  }
}

std::error_code send_queue::push_batch(std::span<const std::uint8_t> bytes, std::size_t frames) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) {
      return error::connection_closed;
    }
    if (queued_bytes_ != 0 || anyone_waiting_locked()) {
      return error::send_queue_full;
    }
    auto copy = [&](std::uint8_t* out) { std::memcpy(out, bytes.data(), bytes.size()); };
    start = append_locked(bytes.size(), copy, frames);
  }
  if (start) {
    owner_.write_ready();
  }
  return {};
}

bool send_queue::push_if_idle(std::span<const std::uint8_t> frame) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    if (frame.empty() || !accepting_ || queued_bytes_ != 0) {
      return false;
    }
    auto copy = [&](std::uint8_t* out) { std::memcpy(out, frame.data(), frame.size()); };
    start = append_locked(frame.size(), copy);
  }
  if (start) {
    owner_.write_ready();
  }
  return true;
}

std::error_code send_queue::push_for(std::size_t size, void (*fill)(void*, std::uint8_t*),
                                     void* fill_context, std::chrono::milliseconds timeout,
                                     std::stop_token cancel, bool may_wait, line_bound bound) {
  if (cancel.stop_requested()) {
    count_dropped(1);
    return error::send_cancelled;
  }
  timeout = clamp_wait(timeout);
  std::unique_lock lock(mutex_);
  if (!accepting_) {
    return error::connection_closed;
  }
  if (fits_locked(size)) {
    auto call = [&](std::uint8_t* out) { fill(fill_context, out); };
    const bool start = append_locked(size, call);
    lock.unlock();
    if (start) {
      owner_.write_ready();
    }
    return {};
  }
  if (timeout.count() <= 0 || !may_wait || line_full_locked(size, bound)) {
    refuse_locked();
    return error::send_queue_full;
  }
  mark_unwritable_locked();
  auto w = std::make_shared<waiter>();
  w->size = size;
  w->fill = fill;
  w->fill_context = fill_context;
  enter_line_locked(w);
  line_->changed.wait_until(lock, cancel, clock::now() + timeout, [&] { return w->done; });
  if (w->done) {
    return w->result;
  }
  // Timed out or cancelled while still in line: leave it. The fill was
  // never called, and cannot be now that the lock is held.
  leave_line_locked(w);
  count_dropped(1);
  return cancel.stop_requested() ? error::send_cancelled : error::send_queue_full;
}

void send_queue::push_async(const waiter_ptr& w, std::chrono::milliseconds timeout,
                            asio::io_context& context, std::shared_ptr<void> keep_alive,
                            line_bound bound) {
  // An async sender owns its encoded frame; its fill copies it.
  w->fill = [](void* self, std::uint8_t* out) {
    const auto& bytes = static_cast<waiter*>(self)->bytes;
    std::memcpy(out, bytes.data(), bytes.size());
  };
  w->fill_context = w.get();
  w->size = w->bytes.size();
  std::error_code outcome;
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) {
      outcome = error::connection_closed;
    } else if (fits_locked(w->size)) {
      auto call = [&](std::uint8_t* out) { w->fill(w->fill_context, out); };
      start = append_locked(w->size, call);
      w->done = true;
    } else if (line_full_locked(w->size, bound)) {
      // A peer that stops reading while the handler keeps sending must not
      // make waiting frames pile up without end.
      refuse_locked();
      w->done = true;
      outcome = error::send_queue_full;
    } else {
      mark_unwritable_locked();
      enter_line_locked(w);
      if (timeout.count() > 0) {
        w->deadline = std::make_unique<asio::steady_timer>(context, clamp_wait(timeout));
        w->deadline->async_wait([this, keep_alive = std::move(keep_alive),
                                 weak = std::weak_ptr<waiter>(w)](std::error_code ec) {
          if (auto late = weak.lock(); late && !ec) {
            abandon(late, error::send_queue_full);
          }
        });
      }
      return;
    }
  }
  if (start) {
    owner_.write_ready();
  }
  w->complete(outcome);
}

void send_queue::abandon(const waiter_ptr& w, std::error_code reason) {
  {
    std::lock_guard lock(mutex_);
    if (w->done) {
      return;
    }
    w->done = true;
    w->result = reason;
    leave_line_locked(w);
    if (w->deadline) {
      w->deadline->cancel();
    }
    count_dropped(1);
    if (!w->complete) {
      notify_locked();
    }
  }
  if (w->complete) {
    w->complete(reason);
  }
}

bool send_queue::take(byte_buffer& out, std::size_t& frames) {
  std::lock_guard lock(mutex_);
  auto* pending = std::exchange(pending_, nullptr);
  if (pending == nullptr || pending->bytes.empty()) {
    round_running_ = false;  // idle now
    give_back_queued(pending);
    return false;
  }
  out.swap(pending->bytes);
  frames = pending->frames;
  give_back_queued(pending);
  return true;
}

bool send_queue::write_round_running() const {
  std::lock_guard lock(mutex_);
  return round_running_;
}

void send_queue::release(std::size_t n) {
  std::vector<waiter_ptr> admitted;
  {
    std::lock_guard lock(mutex_);
    queued_bytes_ -= std::min(n, queued_bytes_);
    // Let waiting senders in, in the order they came, while they fit. This
    // runs during a write round, so what they queue leaves with its next take().
    if (anyone_waiting_locked()) {
      admit_locked(admitted);
    }
    if (!writable_.load() && !anyone_waiting_locked() && queued_bytes_ <= bounds_.low_watermark) {
      writable_.store(true);
      owner_.writability_changed();
    }
  }
  complete_all(admitted, {});
}

void send_queue::admit_locked(std::vector<waiter_ptr>& admitted) {
  auto& waiters = line_->waiters;
  std::size_t let_in = 0;
  bool wake_blocked = false;
  for (; let_in < waiters.size() && accepting_; ++let_in) {
    const auto& next = waiters[let_in];
    if (!room_for_locked(next->size)) {
      break;
    }
    auto call = [&](std::uint8_t* out) { next->fill(next->fill_context, out); };
    append_locked(next->size, call);
    next->done = true;
    if (next->deadline) {
      next->deadline->cancel();
    }
    wake_blocked = wake_blocked || !next->complete;
    line_->bytes -= next->size;
    admitted.push_back(next);
  }
  waiters.erase(waiters.begin(), waiters.begin() + static_cast<std::ptrdiff_t>(let_in));
  if (wake_blocked) {
    notify_locked();
  }
}

void send_queue::fail_waiters_locked(std::error_code reason, std::vector<waiter_ptr>& failed) {
  accepting_ = false;
  if (line_) {
    failed.swap(line_->waiters);
    line_->bytes = 0;
  }
  for (const auto& w : failed) {
    w->done = true;
    w->result = reason;
    if (w->deadline) {
      w->deadline->cancel();
    }
  }
  count_dropped(failed.size());
  notify_locked();
}

void send_queue::complete_all(const std::vector<waiter_ptr>& settled, std::error_code reason) {
  for (const auto& w : settled) {
    if (w->complete) {
      w->complete(reason);
    }
  }
}

void send_queue::stop_accepting(std::error_code reason) {
  std::vector<waiter_ptr> failed;
  {
    std::lock_guard lock(mutex_);
    fail_waiters_locked(reason, failed);
  }
  complete_all(failed, reason);
}

void send_queue::close(std::error_code reason) {
  std::vector<waiter_ptr> failed;
  {
    std::lock_guard lock(mutex_);
    fail_waiters_locked(reason, failed);
    // What never reached the socket is dropped, and counted as such.
    if (pending_ != nullptr) {
      count_dropped(pending_->frames);
      give_back_queued(std::exchange(pending_, nullptr));
    }
    queued_bytes_ = 0;
    round_running_ = false;
  }
  complete_all(failed, reason);
}

void send_queue::mark_closed() {
  // Taking the lock orders the latch before waiters re-check it, so the
  // notification cannot slip between their check and their wait.
  std::lock_guard lock(mutex_);
  closed_ = true;
  notify_locked();
}

bool send_queue::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return line_locked().changed.wait_for(lock, clamp_wait(timeout), [this] { return closed_; });
}

bool send_queue::is_accepting() const {
  std::lock_guard lock(mutex_);
  return accepting_;
}

std::size_t send_queue::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

std::size_t send_queue::waiting_senders() const {
  std::lock_guard lock(mutex_);
  return line_ ? line_->waiters.size() : 0;
}

}  // namespace wiregen::detail
