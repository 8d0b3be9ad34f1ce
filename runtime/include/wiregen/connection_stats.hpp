#pragma once

#include <cstddef>
#include <cstdint>

namespace wiregen {

/// A connection's counters at one moment.
struct connection_stats {
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  /// Frames decoded and handed to the handler.
  std::uint64_t frames_received = 0;
  /// Frames fully written to the socket.
  std::uint64_t frames_sent = 0;
  /// Frames that never left: refused by a full queue, or queued and then
  /// discarded by an immediate stop or a broken connection.
  std::uint64_t frames_dropped = 0;
  /// Bad frames received and skipped because on_error() said so.
  std::uint64_t frames_skipped = 0;
  /// Bytes queued and not yet written.
  std::size_t queued_bytes = 0;
};

}  // namespace wiregen
