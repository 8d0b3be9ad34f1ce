#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "wiregen/connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/io_pool.hpp"
#include "wiregen/options.hpp"
#include "wiregen/stop_mode.hpp"

namespace wiregen {

/// Listens on one address and serves every accepted connection with one
/// dispatcher on a pool of I/O threads. Generated code wraps it as <pkg>::server,
/// which supplies the dispatcher built from the user's handler.
class server {
 public:
  /// The server's lifecycle; see state().
  enum class run_state { idle, running, draining, stopped };

  server(std::shared_ptr<dispatcher> dispatcher, server_options options = {});
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  /// Stops immediately if still running and joins the I/O threads.
  ~server();

  /// Binds `host:port` (port 0 picks a free one, see port()), starts the I/O
  /// threads and accepts. Returns the bind or resolve error, if any. Call once.
  std::error_code listen(std::string_view host, std::uint16_t port);

  /// The bound port, once listen() succeeded.
  std::uint16_t port() const noexcept { return port_; }
  /// Open connections right now. Thread-safe.
  std::size_t connection_count() const;
  run_state state() const noexcept { return state_.load(); }
  bool is_running() const noexcept { return state() == run_state::running; }

  /// Stops accepting (the port is released before this returns), then stops
  /// every connection as `mode` says. graceful returns at once; graceful_wait
  /// and immediate return when every connection is closed and the threads are
  /// joined, forcing connections still open after `deadline`. Returns how many
  /// were forced. Idempotent. Must not be called from a handler.
  std::size_t stop(stop_mode mode = stop_mode::graceful_wait,
                   std::chrono::milliseconds deadline = std::chrono::seconds(10));

 private:
  void accept_next();
  void on_accepted(std::error_code ec, asio::ip::tcp::socket socket,
                   std::shared_ptr<asio::io_context> context);
  void forget(connection& conn);
  std::size_t drain(std::chrono::milliseconds deadline);

  std::shared_ptr<dispatcher> dispatcher_;
  server_options options_;
  io_pool pool_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::chrono::milliseconds accept_backoff_{0};
  std::uint16_t port_ = 0;
  std::atomic<run_state> state_{run_state::idle};

  mutable std::mutex connections_mutex_;
  std::condition_variable connections_cv_;
  std::unordered_map<std::uint64_t, std::shared_ptr<connection>> connections_;
};

}  // namespace wiregen
