#pragma once

#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>

#include "wiregen/connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/io_pool.hpp"
#include "wiregen/options.hpp"
#include "wiregen/stop_mode.hpp"

namespace wiregen {

/// Dials one server and runs the connection on its own I/O thread. Generated
/// code wraps it as <pkg>::client, which supplies the dispatcher built from
/// the user's handler and typed sends.
class client {
 public:
  client(std::shared_ptr<dispatcher> dispatcher, client_options options = {});
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  /// Stops the connection immediately, if any, and joins the I/O thread.
  ~client();

  /// Resolves `host` and connects, waiting at most connect_timeout; the
  /// handler's on_connected runs before this returns success. Blocks the
  /// caller; must not be called from a handler. Fails with connect_timeout,
  /// a resolver error or the last connect error.
  std::error_code connect(std::string_view host, std::uint16_t port);

  /// The current connection, or null before connect() succeeded. Thread-safe.
  std::shared_ptr<wiregen::connection> connection() const;

  /// Stops the connection as `mode` says; safe before connect() and twice.
  void stop(stop_mode mode = stop_mode::graceful_wait);

 private:
  std::shared_ptr<dispatcher> dispatcher_;
  client_options options_;
  io_pool pool_;
  mutable std::mutex mutex_;
  std::shared_ptr<wiregen::connection> connection_;
};

}  // namespace wiregen
