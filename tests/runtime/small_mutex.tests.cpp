// The four-byte mutex of the send queue: mutual exclusion under contention,
// and waiting on a condition_variable_any with it.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "wiregen/detail/small_mutex.hpp"

using wiregen::detail::small_mutex;

TEST_CASE("small mutex: excludes under contention", "[runtime][small_mutex]") {
  small_mutex mutex;
  long counter = 0;  // plain: only the mutex orders the increments
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50000; ++i) {
        std::lock_guard lock(mutex);
        ++counter;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(counter == 200000);
  CHECK(mutex.try_lock());
  CHECK_FALSE(mutex.try_lock());
  mutex.unlock();
}

TEST_CASE("small mutex: a condition variable waits with it", "[runtime][small_mutex]") {
  small_mutex mutex;
  std::condition_variable_any changed;
  bool ready = false;
  std::thread setter([&] {
    std::lock_guard lock(mutex);
    ready = true;
    changed.notify_all();
  });
  std::unique_lock lock(mutex);
  CHECK(changed.wait_for(lock, std::chrono::seconds(10), [&] { return ready; }));
  lock.unlock();
  setter.join();
}
