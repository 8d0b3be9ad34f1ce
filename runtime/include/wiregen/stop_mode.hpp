#pragma once

namespace wiregen {

/// How a connection (or a whole server) stops. Every mode may be requested
/// from any thread, including from inside a handler, and more than once.
enum class stop_mode {
  /// Close the socket now; frames still queued are dropped.
  immediate,
  /// Stop reading and refuse new sends, write out what is queued, then close.
  /// The request returns at once.
  graceful,
  /// As graceful, but the request returns only once the connection is closed
  /// (from a handler, which cannot wait on its own thread, it acts as graceful).
  graceful_wait,
};

}  // namespace wiregen
