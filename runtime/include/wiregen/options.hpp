#pragma once

#include <chrono>
#include <cstddef>

namespace wiregen {

/// Per-connection settings shared by servers and clients.
struct connection_options {
  /// Send queue bound in bytes: a send that would pass it fails with
  /// error::send_queue_full and queues nothing.
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  /// How much each read asks the socket for; the receive buffer holds at
  /// most one maximum-size frame plus this.
  std::size_t read_chunk_size = 4096;
  /// Disable Nagle's algorithm: frames leave as soon as they are queued.
  bool tcp_nodelay = true;
  /// How long a graceful stop may take to flush before it becomes immediate.
  std::chrono::milliseconds graceful_stop_timeout{5000};
};

/// Settings of a wiregen::server.
struct server_options {
  /// I/O threads, each running its own event loop; 0 means one per hardware thread.
  std::size_t io_threads = 0;
  /// Applied to every accepted connection.
  connection_options connection;
};

/// Settings of a wiregen::client.
struct client_options {
  /// How long resolving and connecting may take together.
  std::chrono::milliseconds connect_timeout{5000};
  /// Applied to the dialed connection.
  connection_options connection;
};

}  // namespace wiregen
