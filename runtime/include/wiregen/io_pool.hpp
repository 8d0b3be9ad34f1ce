#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace wiregen {

/// N event loops, one per thread ("one loop per thread"): a connection lives
/// on one loop for its whole life, so its handlers never run concurrently
/// and need no strand. Loops are handed out round-robin.
class io_pool {
 public:
  /// Starts `threads` loops (0 means one per hardware thread).
  explicit io_pool(std::size_t threads);
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;
  /// Stops and joins; see stop().
  ~io_pool();

  /// The loop for the next new connection. Thread-safe.
  std::shared_ptr<asio::io_context> next() noexcept;
  /// The first loop, where listening and dialing run.
  std::shared_ptr<asio::io_context> first() const noexcept { return contexts_.front(); }
  std::size_t size() const noexcept { return contexts_.size(); }
  /// Every loop, in the order next() hands them out.
  const std::vector<std::shared_ptr<asio::io_context>>& contexts() const noexcept {
    return contexts_;
  }
  /// Whether the calling thread is one of the pool's loops: such a caller
  /// must not block waiting for the pool.
  bool owns_current_thread() const noexcept;

  /// Stops every loop, joins the threads, then runs the handlers still
  /// queued on the calling thread; idempotent. Must not be called from one of
  /// the pool's own threads.
  void stop();

 private:
  using work_guard = asio::executor_work_guard<asio::io_context::executor_type>;

  std::vector<std::shared_ptr<asio::io_context>> contexts_;
  std::vector<work_guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace wiregen
