#pragma once

#include <algorithm>
#include <chrono>

#include "wiregen/detail/timer_wheel.hpp"
#include "wiregen/options.hpp"

namespace wiregen {
class connection;
}  // namespace wiregen

namespace wiregen::detail {

/// A connection's timeouts and heartbeat: when it last saw each kind of
/// activity, and one entry in its loop's timer wheel, due at the earliest
/// deadline. Activity only updates a time; the entry is looked at when its
/// slot comes round. Made only for connections with some timeout or a
/// heartbeat, so others carry none of it. Connection thread only.
class liveness final : public timer_wheel::entry {
 public:
  using clock = std::chrono::steady_clock;

  /// Whether `options` turn on anything liveness watches.
  static bool wanted(const connection_options& options) noexcept;

  liveness(connection& conn, const connection_options& options, timer_wheel& wheel) noexcept
      : conn_(conn), options_(options), wheel_(wheel) {}
  liveness(const liveness&) = delete;
  liveness& operator=(const liveness&) = delete;
  ~liveness() { stop(); }

  /// The connection opened at `now`: every clock starts, and the entry is filed.
  void start(clock::time_point now);
  void on_read(clock::time_point now) noexcept { last_read_ = now; }
  void on_frames(clock::time_point now) noexcept { last_frame_ = now; }
  /// Reading resumed after a throttle: the peer was held back, not idle.
  void on_resumed(clock::time_point now) noexcept { last_read_ = last_frame_ = now; }
  /// A write round began: a write stall deadline may come before whatever
  /// the wheel holds.
  void on_write_started(clock::time_point now);
  void on_write_progress(clock::time_point now) noexcept { last_write_progress_ = now; }
  /// Files the entry again for the deadlines that apply now (a drain
  /// leaves only the write stall).
  void refile();
  void stop() noexcept;

 private:
  void expired(clock::time_point now) override;
  clock::time_point next_due() const noexcept;
  // The last byte in or out: a write that has stopped moving writes nothing.
  clock::time_point last_activity() const noexcept {
    return std::max({last_read_, last_send_, last_write_progress_});
  }

  connection& conn_;
  const connection_options& options_;
  timer_wheel& wheel_;
  clock::time_point last_read_;
  clock::time_point last_frame_;
  clock::time_point last_write_progress_;
  clock::time_point last_send_;
  clock::time_point due_;  // what the wheel entry is filed for
};

}  // namespace wiregen::detail
