#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "wiregen/address.hpp"

namespace wiregen {
class server;
}  // namespace wiregen

namespace wiregen::detail {

/// A server's admin port: HTTP/1.1 GET /metrics (Prometheus text),
/// /healthz and /readyz, on the server's accept loop. Bounded so that it
/// cannot become a way in: requests of at most 8 KiB, 16 connections at
/// once, 5 s each, one request per connection (Connection: close).
class admin_listener {
 public:
  static constexpr std::size_t max_request_bytes = 8 * 1024;
  static constexpr std::size_t max_connections = 16;
  static constexpr std::chrono::seconds request_timeout{5};

  admin_listener(asio::io_context& loop, const server& owner);
  admin_listener(const admin_listener&) = delete;
  admin_listener& operator=(const admin_listener&) = delete;

  /// Binds `address` (TCP) and starts answering; on the loop's thread.
  std::error_code open(const socket_address& address);
  /// Stops answering, on the loop's thread: closes the acceptor, and any
  /// exchange whose handler runs later (a stopped loop may still run
  /// completed ones once) ends without touching the listener or the server.
  void close();
  /// Where it listens, port 0 resolved.
  const socket_address& name() const noexcept { return name_; }

  /// The status line and body for `method` and `target`: what a request
  /// gets. Public for the tests of the parser's verdicts.
  struct response {
    int status;
    std::string_view reason;
    std::string content_type;
    std::string body;
  };
  response answer(std::string_view method, std::string_view target) const;

 private:
  struct exchange;
  void accept_next();

  asio::io_context& loop_;
  const server& owner_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_;  // accept errors (no descriptors) back off on it
  // False once close() ran; handlers check it before touching anything.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  socket_address name_;
  // Shared with the exchanges, which may outlive the listener in a stopped
  // loop's queue.
  std::shared_ptr<std::atomic<std::size_t>> open_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace wiregen::detail
