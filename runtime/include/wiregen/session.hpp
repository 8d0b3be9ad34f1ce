#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "wiregen/connection.hpp"
#include "wiregen/datagram_peer.hpp"
#include "wiregen/stop_mode.hpp"

namespace wiregen {

/// A copyable handle to one connection, or to the sender of one datagram:
/// what handlers receive and what an application keeps to push messages
/// later. Generated <role>_session classes derive from it and add the typed
/// send() overloads of their side. A handle may outlive its connection (and
/// its server); sends then fail with error::connection_closed. A
/// default-constructed handle refers to nothing.
class session {
 public:
  session() = default;
  explicit session(std::shared_ptr<wiregen::connection> conn) noexcept : conn_(std::move(conn)) {}
  /// A datagram's sender: sends go back to its address, at once.
  explicit session(std::shared_ptr<datagram_peer> peer) noexcept : peer_(std::move(peer)) {}

  /// Whether this handle refers to a connection or a datagram peer at all.
  explicit operator bool() const noexcept { return conn_ != nullptr || peer_ != nullptr; }
  /// True until the connection begins to stop (the datagram socket closes).
  /// Thread-safe.
  bool is_open() const noexcept {
    return conn_ ? conn_->is_open() : peer_ != nullptr && peer_->is_open();
  }
  /// The connection's (the datagram peer's) process-unique id; 0 for an
  /// empty handle.
  std::uint64_t id() const noexcept { return conn_ ? conn_->id() : peer_ ? peer_->id() : 0; }
  /// False while the send queue is full; see connection::is_writable. A
  /// datagram peer has no queue: writable while open.
  bool is_writable() const noexcept { return conn_ ? conn_->is_writable() : is_open(); }
  /// The peer as "ip:port" (over a Unix-domain socket, "unix:" and the
  /// socket file; see connection::remote_address).
  std::string remote_address() const {
    return conn_ ? conn_->remote_address() : peer_ ? peer_->remote_address() : std::string();
  }
  /// remote_address() tagged with the transport: "ip:port(tcp)",
  /// "ip:port(tcp+tls)", "unix:/path(unix)", "ip:port(udp)".
  std::string tagged_remote_address() const {
    return conn_   ? conn_->tagged_remote_address()
           : peer_ ? peer_->tagged_remote_address()
                   : std::string();
  }
  /// This side's address: "ip:port", or "unix:/path" for a Unix-domain socket.
  std::string local_address() const {
    return conn_ ? conn_->local_address() : peer_ ? peer_->local_address() : std::string();
  }
  /// The connection's counters; all zero for an empty handle or a datagram.
  connection_stats stats() const { return conn_ ? conn_->stats() : connection_stats{}; }
  /// The per-connection slot for application state; use it in handlers (on
  /// the connection's thread) only. A datagram's starts empty every time.
  /// Must not be called on an empty handle.
  std::any& user_data() const { return conn_ ? conn_->user_data() : peer_->user_data(); }
  /// Stops the connection; see connection::stop. Safe from any thread,
  /// including handlers, and on an empty handle; a datagram peer has
  /// nothing to stop.
  void stop(stop_mode mode = stop_mode::graceful,
            std::chrono::milliseconds deadline = std::chrono::milliseconds(0)) const {
    if (conn_) {
      conn_->stop(mode, deadline);
    }
  }
  /// Stops reading from the peer (true) or starts again (false): its bytes
  /// wait in the kernel and TCP's flow control slows it. What a forwarder
  /// does while the other side cannot take more (see
  /// connection::pause_reading). Nothing for a datagram peer or an empty
  /// handle. Safe from any thread.
  void pause_reading(bool paused) const {
    if (conn_) {
      conn_->pause_reading(paused);
    }
  }
  /// The largest frame the peer may send from now on, below the framing's
  /// own (0: the framing's): e.g. small until a peer has logged in. Called
  /// in a handler, it holds from the next frame. Nothing for a datagram
  /// peer or an empty handle. Safe from any thread.
  void set_max_frame_size(std::size_t bytes) const {
    if (conn_) {
      conn_->set_max_frame_size(bytes);
    }
  }
  /// The connection itself, for what the handle does not expose; null for a
  /// datagram peer.
  const std::shared_ptr<wiregen::connection>& connection() const noexcept { return conn_; }
  /// The datagram's sender; null for a connection.
  const std::shared_ptr<datagram_peer>& peer() const noexcept { return peer_; }

  friend bool operator==(const session&, const session&) = default;

 private:
  std::shared_ptr<wiregen::connection> conn_;
  std::shared_ptr<datagram_peer> peer_;
};

}  // namespace wiregen
