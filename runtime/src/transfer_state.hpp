#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <system_error>

#include "peer_deadline.hpp"
#include "startup.hpp"
#include "wiregen/byte_buffer.hpp"
#include "wiregen/frame_loop.hpp"

namespace wiregen::detail {

/// What a connection holds only while busy: its startup until on_open, and
/// while bytes move the input not decoded yet, the block the socket is
/// writing and the frame loop's state. An idle connection holds none of
/// it; a thread keeps the blocks its connections gave back, so taking one
/// costs no allocation once warm.
struct transfer_state {
  std::unique_ptr<detail::startup> startup;  // the PROXY header, admission, TLS: until on_open
  byte_buffer input;                         // received bytes not decoded yet: a partial frame
  byte_buffer writing;                       // the block the socket is writing now
  std::size_t write_offset = 0;
  std::size_t writing_frames = 0;
  frame_loop loop;
  // A close that came while a write was out, reported once it settles.
  std::error_code close_reason;
  // What the server's memory budget counts for this connection, in its
  // steps (detail::memory_budget), and whether reading waits for it.
  std::uint32_t budget_steps = 0;
  bool paused_for_memory = false;
  // When what the peer owes began: the handshake (before the connection
  // opens), the frame whose rest has not arrived (zero between frames).
  std::chrono::steady_clock::time_point handshake_began;
  std::chrono::steady_clock::time_point frame_began;
  peer_deadline deadline;

  /// Whether giving it back loses nothing: no bytes held, no write out,
  /// no frame half decoded or half skipped.
  bool at_rest() const noexcept {
    return !startup && input.empty() && writing.empty() && !loop.mid_frame(0);
  }

  /// A block from this thread's pool (a new one when the pool is empty),
  /// its loop behind `gate`.
  static transfer_state* take(frame_gate gate);
  /// Back to this thread's pool, its buffers to the buffer pool first.
  static void give_back(transfer_state* state) noexcept;
};

}  // namespace wiregen::detail
