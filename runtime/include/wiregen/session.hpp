#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "wiregen/connection.hpp"
#include "wiregen/stop_mode.hpp"

namespace wiregen {

/// A copyable handle to one connection: what handlers receive and what an
/// application keeps to push messages later. Generated <role>_session classes
/// derive from it and add the typed send() overloads of their side. A handle
/// may outlive its connection (and its server); sends then fail with
/// error::connection_closed. A default-constructed handle refers to nothing.
class session {
 public:
  session() = default;
  explicit session(std::shared_ptr<wiregen::connection> conn) noexcept : conn_(std::move(conn)) {}

  /// Whether this handle refers to a connection at all.
  explicit operator bool() const noexcept { return conn_ != nullptr; }
  /// True until the connection begins to stop. Thread-safe.
  bool is_open() const noexcept { return conn_ && conn_->is_open(); }
  /// The connection's process-unique id; 0 for an empty handle.
  std::uint64_t id() const noexcept { return conn_ ? conn_->id() : 0; }
  /// False while the send queue is full; see connection::is_writable.
  bool is_writable() const noexcept { return conn_ && conn_->is_writable(); }
  /// The peer as "ip:port".
  std::string remote_address() const { return conn_ ? conn_->remote_address() : std::string(); }
  /// The connection's counters; all zero for an empty handle.
  connection_stats stats() const { return conn_ ? conn_->stats() : connection_stats{}; }
  /// The per-connection slot for application state; use it in handlers (on
  /// the connection's thread) only. Must not be called on an empty handle.
  std::any& user_data() const noexcept { return conn_->user_data(); }
  /// Stops the connection; see connection::stop. Safe from any thread,
  /// including handlers, and on an empty handle.
  void stop(stop_mode mode = stop_mode::graceful,
            std::chrono::milliseconds deadline = std::chrono::milliseconds(0)) const {
    if (conn_) {
      conn_->stop(mode, deadline);
    }
  }
  /// The connection itself, for what the handle does not expose.
  const std::shared_ptr<wiregen::connection>& connection() const noexcept { return conn_; }

  friend bool operator==(const session&, const session&) = default;

 private:
  std::shared_ptr<wiregen::connection> conn_;
};

}  // namespace wiregen
