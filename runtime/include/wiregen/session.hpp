#pragma once

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
  /// The peer as "ip:port".
  std::string remote_address() const { return conn_ ? conn_->remote_address() : std::string(); }
  /// Stops the connection; see connection::stop. Safe from any thread.
  void stop(stop_mode mode = stop_mode::graceful) const {
    if (conn_) {
      conn_->stop(mode);
    }
  }
  /// The connection itself, for what the handle does not expose.
  const std::shared_ptr<wiregen::connection>& connection() const noexcept { return conn_; }

  friend bool operator==(const session&, const session&) = default;

 private:
  std::shared_ptr<wiregen::connection> conn_;
};

}  // namespace wiregen
