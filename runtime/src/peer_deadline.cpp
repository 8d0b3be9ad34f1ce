#include "peer_deadline.hpp"

#include <system_error>

#include "transfer_state.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/error.hpp"

namespace wiregen::detail {

struct peer_deadline::awaited {
  peer_deadline::clock::time_point due = peer_deadline::clock::time_point::max();
  error reason = error::frame_timeout;

  void at_most(peer_deadline::clock::time_point when, error why) noexcept {
    if (when < due) {
      due = when;
      reason = why;
    }
  }
};

peer_deadline::awaited peer_deadline::awaited_of(const connection& conn) noexcept {
  awaited wait;
  const transfer_state* t = conn.transfer_;
  if (t == nullptr || conn.is_closed()) {
    return wait;
  }
  const connection_options& options = conn.options();
  if (!conn.opened_) {
    if (t->startup && options.handshake_timeout.count() > 0) {
      wait.at_most(t->handshake_began + options.handshake_timeout, error::handshake_timeout);
    }
    return wait;
  }
  if (!conn.is_serving()) {
    return wait;  // a drain has a deadline of its own
  }
  if (options.first_frame_timeout.count() > 0 && conn.frames_in_.load() == 0) {
    wait.at_most(conn.opened_at_ + options.first_frame_timeout, error::first_frame_timeout);
  }
  if (options.partial_frame_timeout.count() > 0 && t->frame_began != clock::time_point{}) {
    wait.at_most(t->frame_began + options.partial_frame_timeout, error::frame_timeout);
  }
  return wait;
}

void peer_deadline::watch(connection& conn) {
  if (is_filed()) {
    return;
  }
  const awaited wait = awaited_of(conn);
  if (wait.due == clock::time_point::max()) {
    return;
  }
  conn_ = &conn;
  timer_wheel::of(conn.context()).schedule(*this, wait.due);
}

void peer_deadline::cancel() noexcept {
  withdraw();
}

void peer_deadline::expired(clock::time_point now) {
  const awaited wait = awaited_of(*conn_);
  if (wait.due == clock::time_point::max()) {
    return;  // nothing is awaited any more
  }
  if (now < wait.due) {
    timer_wheel::of(conn_->context()).schedule(*this, wait.due);
    return;
  }
  // Closing gives the transfer state, and this entry with it, back: only
  // the connection is touched after, kept alive for it.
  const auto conn = conn_->shared_from_this();
  conn->finish(wait.reason);
}

}  // namespace wiregen::detail
