#include "liveness.hpp"

#include "wiregen/connection.hpp"
#include "wiregen/error.hpp"

namespace wiregen::detail {

namespace {

template <class Duration>
bool enabled(Duration d) noexcept {
  return d.count() > 0;
}

}  // namespace

bool liveness::wanted(const connection_options& options) noexcept {
  return enabled(options.read_idle_timeout) || enabled(options.idle_timeout) ||
         enabled(options.write_stall_timeout) || enabled(options.frame_timeout) ||
         enabled(options.heartbeat_interval);
}

void liveness::start(clock::time_point now) {
  last_read_ = last_frame_ = last_send_ = now;
  refile();
}

void liveness::on_write_started(clock::time_point now) {
  last_send_ = last_write_progress_ = now;
  if (enabled(options_.write_stall_timeout) &&
      (!is_filed() || last_write_progress_ + options_.write_stall_timeout < due_)) {
    refile();
  }
}

liveness::clock::time_point liveness::next_due() const noexcept {
  auto due = clock::time_point::max();
  const bool serving = conn_.is_serving();
  if (serving && enabled(options_.read_idle_timeout)) {
    due = std::min(due, last_read_ + options_.read_idle_timeout);
  }
  if (serving && enabled(options_.idle_timeout)) {
    due = std::min(due, last_activity() + options_.idle_timeout);
  }
  if (serving && enabled(options_.frame_timeout)) {
    due = std::min(due, last_frame_ + options_.frame_timeout);
  }
  if (enabled(options_.write_stall_timeout) && conn_.is_writing()) {
    due = std::min(due, last_write_progress_ + options_.write_stall_timeout);
  }
  if (serving && enabled(options_.heartbeat_interval) && conn_.sends_heartbeats()) {
    due = std::min(due, last_send_ + options_.heartbeat_interval);
  }
  return due;
}

void liveness::refile() {
  if (conn_.is_closed()) {
    return;
  }
  const auto due = next_due();
  if (due == clock::time_point::max()) {
    wheel_.cancel(*this);
    return;
  }
  due_ = due;
  wheel_.schedule(*this, due);
}

void liveness::stop() noexcept {
  if (is_filed()) {
    wheel_.cancel(*this);
  }
}

void liveness::expired(clock::time_point now) {
  if (conn_.is_closed()) {
    return;
  }
  const bool serving = conn_.is_serving();
  if (serving && enabled(options_.read_idle_timeout) &&
      now >= last_read_ + options_.read_idle_timeout) {
    conn_.finish(error::read_idle_timeout);
    return;
  }
  if (serving && enabled(options_.idle_timeout) && now >= last_activity() + options_.idle_timeout) {
    conn_.finish(error::idle_timeout);
    return;
  }
  if (serving && enabled(options_.frame_timeout) && now >= last_frame_ + options_.frame_timeout) {
    conn_.finish(error::frame_timeout);
    return;
  }
  const bool writing = conn_.is_writing();
  if (enabled(options_.write_stall_timeout) && writing &&
      now >= last_write_progress_ + options_.write_stall_timeout) {
    conn_.finish(error::write_stall_timeout);
    return;
  }
  // Only an idle queue needs a heartbeat: anything being written is traffic.
  if (serving && enabled(options_.heartbeat_interval) && !writing &&
      now >= last_send_ + options_.heartbeat_interval) {
    conn_.send_heartbeat();
    last_send_ = now;
  }
  refile();
}

}  // namespace wiregen::detail
