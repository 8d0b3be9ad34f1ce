#pragma once

#include <chrono>

#include "wiregen/detail/timer_wheel.hpp"

namespace wiregen {
class connection;
}  // namespace wiregen

namespace wiregen::detail {

/// How long a connection may wait for its peer while it holds its transfer
/// state for it: everything before it opens (handshake_timeout), its first
/// frame (first_frame_timeout) and the rest of a frame that began arriving
/// (partial_frame_timeout). Part of the transfer state, so a connection at
/// rest between frames carries none of it.
///
/// Filed once, for the deadline that applies, and looked at again when it
/// comes due: later phases only ever move the deadline later, so reads cost
/// no timer operation. Connection thread only.
class peer_deadline final : public timer_wheel::entry {
 public:
  using clock = std::chrono::steady_clock;

  peer_deadline() = default;
  ~peer_deadline() { cancel(); }

  /// Files the entry for `conn` at what it waits for now, unless it is
  /// filed already (then its due time comes no later than that).
  void watch(connection& conn);
  /// Out of the wheel: the connection closed, or rests.
  void cancel() noexcept;

 private:
  struct awaited;
  /// What `conn` waits for from its peer right now, and by when.
  static awaited awaited_of(const connection& conn) noexcept;
  void expired(clock::time_point now) override;

  connection* conn_ = nullptr;
};

}  // namespace wiregen::detail
