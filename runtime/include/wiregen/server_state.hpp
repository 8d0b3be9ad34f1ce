#pragma once

#include <cstddef>
#include <cstdint>

namespace wiregen {

/// A server's lifecycle: idle until its first listen(), running while it
/// accepts, draining while a stop waits for connections to close, stopped
/// after. It only moves forward; a stopped server does not start again.
enum class server_state { idle, running, draining, stopped };

/// Figures a server reports with each change of its state.
struct server_counts {
  /// Listening sockets open when the state changed (0 once draining).
  std::size_t listeners = 0;
  /// Connections open when the state changed.
  std::size_t open_connections = 0;
  /// Connections handed to the I/O threads since the server was made
  /// (refused ones are not counted; see on_refused).
  std::uint64_t accepted = 0;
  /// On stopped: the connections the stop had to force (closed at their
  /// deadline, or all of them for an immediate stop); 0 before.
  std::size_t forced = 0;
};

}  // namespace wiregen
