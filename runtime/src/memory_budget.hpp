#pragma once

#include <asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace wiregen {
class connection;
}

namespace wiregen::detail {

/// What all the connections of one server hold for partial frames and
/// queued output, against server_options::memory_budget. Connections count
/// in steps of 64 KiB, so one exchanging small frames never touches the
/// shared counter. Over the limit, a connection that holds a step or more
/// and wants to read more of its frame pauses (TCP then pushes back on its
/// peer) until the total drops; one of them at a time may go on, so that
/// some frame always completes and frees its bytes. Past a quarter more, a
/// connection that wants to grow is closed with error::overloaded.
/// Thread-safe: connections of every I/O thread share it.
class memory_budget {
 public:
  static constexpr std::size_t step = 64 * 1024;

  explicit memory_budget(std::size_t limit) noexcept : limit_(limit) {}

  enum class verdict { grow, pause, close };

  /// A connection holding `steps` steps asks to read more of a frame.
  verdict may_grow(const connection& holder, std::size_t steps) noexcept;

  /// `holder` now holds `after` steps where it held `before`.
  void change(const connection& holder, std::size_t before, std::size_t after);

  /// Wakes `holder` (on its context) once bytes are freed.
  void wait(std::weak_ptr<connection> holder, asio::io_context& context);

  /// Bytes held, counted in steps.
  std::size_t held() const noexcept { return held_.load(std::memory_order_relaxed); }
  std::size_t limit() const noexcept { return limit_; }

 private:
  void wake_paused();

  const std::size_t limit_;
  std::atomic<std::size_t> held_{0};
  // The one holder allowed to grow over the limit: compared, never used.
  std::atomic<const connection*> exempt_{nullptr};
  std::mutex mutex_;
  struct paused {
    std::weak_ptr<connection> holder;
    asio::io_context* context;
  };
  std::vector<paused> paused_;
};

}  // namespace wiregen::detail
