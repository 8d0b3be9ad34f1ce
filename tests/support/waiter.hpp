#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

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

}  // namespace wiregen::test
