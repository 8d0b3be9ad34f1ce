#include "wiregen/io_pool.hpp"

#include <sched.h>

#include <algorithm>

namespace wiregen {

namespace {

/// The CPUs this process may run on: under `taskset -c 0` or a container's
/// CPU set that is fewer than the machine has, and more loop threads than
/// CPUs would only take turns on them, in scheduler slices of milliseconds
/// that show up as tail latency.
std::size_t usable_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    return static_cast<std::size_t>(std::max(1, CPU_COUNT(&allowed)));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

namespace {

// An exception out of a completion handler (std::bad_alloc where a buffer
// could not grow: the runtime's own handlers catch everything else) ends
// that handler only; the loop goes on, and with it every other connection
// of the thread. The connection whose handler it was closes by its own
// deadlines or its peer.
void run_guarded(asio::io_context& context) {
  for (;;) {
    try {
      context.run();
      return;
    } catch (...) {
    }
  }
}

}  // namespace

io_pool::io_pool(std::size_t threads) {
  if (threads == 0) {
    threads = usable_cpus();
  }
  contexts_.reserve(threads);
  guards_.reserve(threads);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    // The hint tells Asio a context is driven by one thread, so it can skip
    // the locking that cross-thread run() would need.
    contexts_.push_back(std::make_shared<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (auto& context : contexts_) {
    threads_.emplace_back([context] { run_guarded(*context); });
  }
}

io_pool::~io_pool() {
  stop();
}

std::shared_ptr<asio::io_context> io_pool::next() noexcept {
  return contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

bool io_pool::owns_current_thread() const noexcept {
  for (const auto& context : contexts_) {
    if (context->get_executor().running_in_this_thread()) {
      return true;
    }
  }
  return false;
}

void io_pool::stop() {
  for (auto& guard : guards_) {
    guard.reset();
  }
  for (auto& context : contexts_) {
    context->stop();
  }
  for (auto& thread : threads_) {
    if (thread.get_id() == std::this_thread::get_id()) {
      // Stopped from one of its own handlers (its owner destroyed there):
      // that thread cannot join itself. Its loop is stopped, so it ends
      // when the handler returns; it holds its io_context.
      thread.detach();
    } else if (thread.joinable()) {
      thread.join();
    }
  }
  // Handlers still queued (completions of closed sockets, posted closes) own
  // their connections, and connections keep their loop alive: run them out so
  // that neither outlives the pool in a reference cycle.
  for (auto& context : contexts_) {
    context->restart();
    while (context->poll() > 0) {
    }
  }
}

}  // namespace wiregen
