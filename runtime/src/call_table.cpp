#include "wiregen/call_table.hpp"

namespace wiregen {

std::uint64_t call_table::add(completion done, asio::io_context& context,
                              std::chrono::milliseconds deadline) {
  std::shared_ptr<asio::steady_timer> timer;
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    if (deadline.count() > 0) {
      timer = std::make_shared<asio::steady_timer>(context, deadline);
    }
    calls_.emplace(id, call{std::move(done), timer});
  }
  if (timer) {
    // The table outlives its timers' handlers: they hold it.
    timer->async_wait([self = shared_from_this(), id](std::error_code ec) {
      if (!ec) {
        self->expire(id);
      }
    });
  }
  return id;
}

bool call_table::complete(std::uint64_t request_id, const arrival& reply) {
  completion done;
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard lock(mutex_);
    auto found = calls_.end();
    if (mode_ == correlation::in_order) {
      found = calls_.begin();
    } else if (request_id != 0) {
      found = calls_.find(request_id);
    }
    if (found == calls_.end()) {
      // In order: no call waits, so it is a push. By id: a push (id 0), or
      // the late reply of a call that already ended; either way not ours to
      // take, except that a reply to an ended call must not look like a push.
      return mode_ == correlation::request_id && request_id != 0 && request_id < next_id_;
    }
    done = std::move(found->second.done);
    timer = std::move(found->second.timer);
    calls_.erase(found);
  }
  if (timer) {
    timer->cancel();
  }
  if (done) {
    done({}, &reply);
  }
  return true;
}

void call_table::finish(std::uint64_t id, std::error_code ec, const arrival* reply) {
  completion done;
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard lock(mutex_);
    const auto found = calls_.find(id);
    if (found == calls_.end()) {
      return;
    }
    done = std::move(found->second.done);
    timer = std::move(found->second.timer);
    calls_.erase(found);
  }
  if (timer) {
    timer->cancel();
  }
  if (done) {
    done(ec, reply);
  }
}

void call_table::expire(std::uint64_t id) {
  completion done;
  {
    std::lock_guard lock(mutex_);
    const auto found = calls_.find(id);
    if (found == calls_.end()) {
      return;
    }
    done = std::move(found->second.done);
    found->second.timer.reset();
    if (mode_ == correlation::request_id) {
      calls_.erase(found);
    }
    // In order, the entry stays (without a completion) to swallow the late
    // reply: otherwise it would complete the next call.
  }
  if (done) {
    done(error::deadline_exceeded, nullptr);
  }
}

void call_table::fail_all(std::error_code why) {
  std::map<std::uint64_t, call> ended;
  {
    std::lock_guard lock(mutex_);
    ended.swap(calls_);
  }
  for (auto& [id, waiting] : ended) {
    if (waiting.timer) {
      waiting.timer->cancel();
    }
    if (waiting.done) {
      waiting.done(why, nullptr);
    }
  }
}

std::size_t call_table::pending() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

}  // namespace wiregen
