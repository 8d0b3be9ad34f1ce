#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>

#include "wiregen/byte_buffer.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/error.hpp"
#include "wiregen/options.hpp"
#include "wiregen/stop_mode.hpp"

namespace wiregen {

/// One TCP peer. Reads into a reusable buffer and hands every complete frame
/// to its dispatcher on the connection's own thread; sends append encoded
/// frames to a queue that leaves in one write per round. Users normally hold a
/// generated <role>_session, a handle to a connection, rather than this class.
class connection : public std::enable_shared_from_this<connection> {
 public:
  /// Takes over a connected socket; nothing happens until start().
  connection(std::shared_ptr<asio::io_context> context, asio::ip::tcp::socket socket,
             std::shared_ptr<dispatcher> dispatcher, const connection_options& options);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// Calls `observer` on the connection's thread once, right after on_close.
  /// Set before start(); used by servers and clients to forget the connection.
  void set_close_observer(std::function<void(connection&)> observer);

  /// Starts reading on the connection's thread. Call once.
  void start();

  /// Appends one frame of `size` bytes to the send queue; `fill(out)` writes
  /// exactly `size` bytes at `out` while the queue is locked, which keeps the
  /// frames of concurrent senders whole and in order. Safe from any thread.
  /// Fails with connection_closed once a stop began and with send_queue_full
  /// when the queue would pass max_queued_bytes; then nothing is queued.
  template <class Fill>
  std::error_code write_frame(std::size_t size, Fill&& fill);

  /// Stops the connection as `mode` says (see stop_mode). Safe from any
  /// thread and from handlers; later calls only ever make a stop more
  /// immediate. graceful_wait returns once the connection is closed, or after
  /// twice graceful_stop_timeout at most, except on the connection's own
  /// thread, where waiting would deadlock and it returns at once.
  void stop(stop_mode mode = stop_mode::graceful);

  /// Blocks until the connection is closed or `timeout` passes; returns
  /// whether it is closed. Must not be called on the connection's thread.
  bool wait_closed(std::chrono::milliseconds timeout);

  /// True until a stop is requested or the peer goes away. Thread-safe.
  bool is_open() const noexcept { return state_.load() == state::open && !stop_requested_.load(); }
  /// True once the socket is closed and on_close has run. Thread-safe.
  bool is_closed() const noexcept { return state_.load() == state::closed; }
  /// False once a stop began: handlers use it to stop decoding early.
  bool is_reading() const noexcept { return is_open(); }

  /// A number unique among the connections of one process.
  std::uint64_t id() const noexcept { return id_; }
  /// The peer's address as "ip:port", fixed when the connection was made.
  const std::string& remote_address() const noexcept { return remote_address_; }
  /// Bytes received and sent so far. Thread-safe.
  std::uint64_t bytes_received() const noexcept { return bytes_in_.load(); }
  std::uint64_t bytes_sent() const noexcept { return bytes_out_.load(); }

  /// The I/O context this connection's handlers run on.
  asio::io_context& context() noexcept { return *context_; }

 private:
  enum class state { open, draining, closed };

  void read_more();
  void on_read(std::error_code ec, std::size_t n);
  void on_peer_eof();
  void schedule_write();
  void write_pending();
  void on_written(std::error_code ec, std::size_t n);
  void begin_drain(std::error_code reason);
  void finish_drain_if_flushed();
  void finish(std::error_code reason);

  std::shared_ptr<asio::io_context> context_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer drain_timer_;
  std::shared_ptr<dispatcher> dispatcher_;
  connection_options options_;
  std::uint64_t id_;
  std::string remote_address_;
  std::function<void(connection&)> close_observer_;

  std::atomic<state> state_{state::open};
  // Set by stop() before it posts the stop itself, so that a handler that
  // stops its connection sees no further frame of the batch being decoded.
  std::atomic<bool> stop_requested_{false};
  // Members below without a lock are touched on the connection's thread only.
  byte_buffer input_;
  std::size_t wanted_ = 0;
  bool peer_eof_ = false;
  bool shutdown_sent_ = false;
  std::error_code drain_reason_;
  byte_buffer writing_;  // the block the socket is writing now

  std::mutex send_mutex_;  // guards the members up to closed_cv_
  byte_buffer pending_;    // frames queued since the last write began
  bool accepting_sends_ = true;
  bool write_scheduled_ = false;  // a write is running or posted
  std::condition_variable closed_cv_;

  std::atomic<std::uint64_t> bytes_in_{0};
  std::atomic<std::uint64_t> bytes_out_{0};
};

template <class Fill>
std::error_code connection::write_frame(std::size_t size, Fill&& fill) {
  bool post_write = false;
  {
    std::lock_guard lock(send_mutex_);
    if (!accepting_sends_) {
      return error::connection_closed;
    }
    if (pending_.size() + size > options_.max_queued_bytes) {
      return error::send_queue_full;
    }
    fill(pending_.prepare(size));
    pending_.commit(size);
    post_write = !write_scheduled_;
    write_scheduled_ = true;
  }
  if (post_write) {
    schedule_write();
  }
  return {};
}

}  // namespace wiregen
