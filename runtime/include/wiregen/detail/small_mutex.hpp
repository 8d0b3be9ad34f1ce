#pragma once

#include <atomic>
#include <cstdint>

namespace wiregen::detail {

/// A mutex in four bytes, for state that every connection has: std::mutex
/// takes forty. It spins never and sleeps in the kernel (a futex, through
/// std::atomic::wait) when the lock is taken; it is meant for short
/// critical sections with little contention, such as a send queue's.
/// Satisfies Lockable, so std::lock_guard, std::unique_lock and
/// std::condition_variable_any work with it.
class small_mutex {
 public:
  small_mutex() = default;
  small_mutex(const small_mutex&) = delete;
  small_mutex& operator=(const small_mutex&) = delete;

  void lock() noexcept {
    if (try_lock()) {
      return;
    }
    // Marked as contended, so that unlock() knows to wake someone.
    while (state_.exchange(contended, std::memory_order_acquire) != unlocked) {
      state_.wait(contended, std::memory_order_relaxed);
    }
  }

  bool try_lock() noexcept {
    std::uint32_t expected = unlocked;
    return state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() noexcept {
    if (state_.exchange(unlocked, std::memory_order_release) == contended) {
      state_.notify_one();
    }
  }

 private:
  static constexpr std::uint32_t unlocked = 0;
  static constexpr std::uint32_t locked = 1;
  static constexpr std::uint32_t contended = 2;  // locked, and someone may be waiting

  std::atomic<std::uint32_t> state_{unlocked};
};

}  // namespace wiregen::detail
