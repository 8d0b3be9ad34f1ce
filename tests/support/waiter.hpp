#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace wiregen::test {

/// A mutex, a condition variable and a bounded wait: how tests await events
/// that happen on I/O threads, without sleeping.
class waiter {
 public:
  /// Runs `change` under the lock and wakes every waiter.
  template <class Change>
  void update(Change&& change) {
    {
      std::lock_guard lock(mutex_);
      change();
    }
    changed_.notify_all();
  }

  /// Waits up to `timeout` for `condition` (checked under the lock).
  template <class Condition>
  bool wait(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, condition);
  }

  /// Reads state under the lock.
  template <class Read>
  auto read(Read&& reader) {
    std::lock_guard lock(mutex_);
    return reader();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

/// Polls `condition`, bounded, for state that has no event of its own (a
/// server's state or connection count, once the handler events that tests
/// await have passed).
template <class Condition>
bool poll_until(Condition&& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

}  // namespace wiregen::test
