// When a connection stops reading and starts again: the message rate's
// throttle (TCP's flow control then slows the peer) and the handler's own
// pause_reading, used to splice streams with backpressure.
#include <asio/dispatch.hpp>
#include <asio/post.hpp>

#include <utility>

#include "connection_parts.hpp"
#include "liveness.hpp"
#include "wiregen/connection.hpp"

namespace wiregen {

bool connection::throttled() const noexcept {
  const auto* limit = rate();
  return limit != nullptr && limit->throttled;
}

void connection::throttle() {
  if (home_->options->on_rate_exceeded == rate_limit_action::close) {
    begin_drain(error::message_rate_exceeded, home_->options->graceful_stop_timeout);
    return;
  }
  // Stop reading until the next token is due; TCP's flow control then
  // slows the peer. The frames already buffered wait where they are.
  auto& limit = *rate();
  limit.throttled = true;
  limit.timer.expires_after(limit.bucket.until_next());
  limit.timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec && self->state_.load() == state::open) {
      self->resume_reading();
    }
  });
}

void connection::resume_reading() {
  rate()->throttled = false;
  // Held back by the rate limit, the peer was not idle: the idle clock
  // restarts as if the frames had just arrived.
  if (auto* watch = liveness()) {
    watch->on_resumed(clock::now());
  }
  decode_input();
  await_rest_of_frame();
  if (!is_closed() && !throttled() && !paused_by_user_) {
    read_more();
  }
}

bool connection::may_read() const noexcept {
  return state_.load() == state::open && !throttled() && !paused_by_user_;
}

void connection::pause_reading(bool paused) {
  auto apply = [self = shared_from_this(), paused] { self->apply_pause(paused); };
  if (paused) {
    // At once when called from this connection's own handler: the read that
    // follows the handler already sees it.
    asio::dispatch(context(), std::move(apply));
  } else {
    // Never inside this connection's own read handling, which reads next
    // itself.
    asio::post(context(), std::move(apply));
  }
}

void connection::apply_pause(bool paused) {
  if (paused_by_user_ == paused) {
    return;
  }
  paused_by_user_ = paused;
  // Before on_open the start sequence reads when it is done; after a stop
  // began, reading goes on anyway to see the peer's EOF.
  if (!paused && opened_ && may_read() && !read_in_flight_ && budget_allows_reading()) {
    read_more();
  }
}

}  // namespace wiregen
