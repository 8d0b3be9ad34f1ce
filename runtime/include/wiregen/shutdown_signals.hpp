#pragma once

#include <functional>
#include <memory>

namespace wiregen {

/// Catches SIGINT and SIGTERM from construction on, so a signal that arrives
/// while a server starts is not lost; wait() blocks until one arrives.
/// Examples use it as: shutdown_signals signals; server.listen(...);
/// signals.wait(); server.stop(stop_mode::graceful_wait, deadline).
/// With on_reload(), SIGHUP runs a callback instead (reloading TLS
/// certificates, say) and wait() goes on waiting.
class shutdown_signals {
 public:
  shutdown_signals();
  shutdown_signals(const shutdown_signals&) = delete;
  shutdown_signals& operator=(const shutdown_signals&) = delete;
  ~shutdown_signals();

  /// Catches SIGHUP from now on and calls `reload` on the thread in wait()
  /// for each one.
  void on_reload(std::function<void()> reload);

  /// Blocks until SIGINT or SIGTERM and returns the signal number.
  int wait();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace wiregen
