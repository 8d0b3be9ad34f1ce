#include <asio/post.hpp>
#include <asio/ssl/error.hpp>

#include <utility>

#include "connection_parts.hpp"
#include "liveness.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/detail/buffer_pool.hpp"

// The connection's data path: bytes in through the frame loop to the
// dispatcher, frames out of the send queue to the stream.

namespace wiregen {

// ---------------------------------------------------------------------------
// Reading

void connection::read_more() {
  stream_.settle(input_);
  if (stream_.reads_when_ready(input_)) {
    stream_.wait_readable({shared_from_this(), &connection::on_readable});
    return;
  }
  stream_.read(input_, loop_.wanted(), options_->read_chunk_size,
               {shared_from_this(), &connection::on_read});
}

void connection::on_readable(std::error_code ec, std::size_t /*bytes*/) {
  if (is_closed()) {
    return;
  }
  if (ec) {
    on_read(ec, 0);
    return;
  }
  std::error_code read_ec;
  const std::size_t n =
      stream_.read_ready(input_, loop_.wanted(), options_->read_chunk_size, read_ec);
  if (read_ec == asio::error::would_block) {
    read_more();  // woken for nothing: wait again
    return;
  }
  on_read(read_ec, n);
}

void connection::on_read(std::error_code ec, std::size_t n) {
  if (is_closed()) {
    stream_.settle(input_);
    return;
  }
  // A TLS peer that closes its socket without a close_notify ends the
  // stream the same way: frames carry their own lengths, so a cut-off frame
  // is still told apart (truncated_frame).
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    stream_.settle(input_);
    on_peer_eof();
    return;
  }
  if (ec) {
    stream_.settle(input_);
    finish(ec);
    return;
  }
  bytes_in_.fetch_add(n, std::memory_order_relaxed);
  input_.commit(n);
  if (liveness_) {
    liveness_->on_read(clock::now());
  }
  if (state_.load() != state::open) {
    input_.clear();  // draining: the peer's further frames are not dispatched
    read_more();
    return;
  }
  decode_input();
  if (is_closed()) {
    stream_.settle(input_);
  } else if (!throttled()) {
    read_more();
  } else {
    stream_.settle(input_);  // what waits for the rate limit moves to our own buffer
  }
}

void connection::decode_input() {
  if (input_.empty() || !is_reading()) {
    return;
  }
  decode_result result;
  try {
    result = dispatcher_->on_input(*this, loop_, input_.readable());
  } catch (...) {
    // Generated dispatchers catch handler exceptions themselves; this is
    // the last line that keeps one connection's failure out of the loop.
    result.error = error::handler_failed;
  }
  input_.consume(result.consumed);
  if (result.frames > 0) {
    frames_in_.fetch_add(result.frames, std::memory_order_relaxed);
    if (liveness_) {
      liveness_->on_frames(clock::now());
    }
  }
  if (result.skipped > 0) {
    frames_skipped_.fetch_add(result.skipped, std::memory_order_relaxed);
  }
  if (result.throttled) {
    throttle();
    return;
  }
  if (result.error) {
    // Replies to the good frames before the bad one are queued already:
    // flush them, then close with the error as the reason.
    begin_drain(result.error, options_->graceful_stop_timeout);
  }
}

bool connection::throttled() const noexcept {
  return rate_ && rate_->throttled;
}

void connection::throttle() {
  if (options_->on_rate_exceeded == rate_limit_action::close) {
    begin_drain(error::message_rate_exceeded, options_->graceful_stop_timeout);
    return;
  }
  // Stop reading until the next token is due; TCP's flow control then
  // slows the peer. The frames already buffered wait where they are.
  rate_->throttled = true;
  rate_->timer.expires_after(rate_->bucket.until_next());
  rate_->timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec && self->state_.load() == state::open) {
      self->resume_reading();
    }
  });
}

void connection::resume_reading() {
  rate_->throttled = false;
  // Held back by the rate limit, the peer was not idle: the idle clock
  // restarts as if the frames had just arrived.
  if (liveness_) {
    liveness_->on_resumed(clock::now());
  }
  decode_input();
  if (!is_closed() && !throttled()) {
    read_more();
  }
}

void connection::on_peer_eof() {
  peer_eof_ = true;
  if (state_.load() == state::open && stop_requested_.load()) {
    // A stop asked for before this EOF was seen: its deadline and its
    // (empty) reason stand; frames it left undecoded are not truncation.
    begin_drain({}, std::chrono::milliseconds(requested_deadline_ms_.load()));
    return;
  }
  if (state_.load() == state::open) {
    // The peer finished sending; what it asked for may still be queued, so
    // flush before closing. A frame cut short is worth a reason of its own.
    const bool mid_frame = loop_.mid_frame(input_.size());
    begin_drain(
        mid_frame ? std::error_code(error::truncated_frame) : std::error_code(asio::error::eof),
        options_->graceful_stop_timeout);
    return;
  }
  finish_drain_if_flushed();
}

// ---------------------------------------------------------------------------
// Writing

void connection::write_ready() {
  asio::post(*context_, [self = shared_from_this()] { self->write_pending(); });
}

void connection::writability_changed() {
  // The event reports the state when it runs, not when it was posted: posts
  // from this loop's own thread and from senders' threads may run out of
  // order, and the handler must end up told the state that holds.
  asio::post(*context_, [self = shared_from_this()] {
    // Not before on_connected (a client's backlog may fill the queue during
    // the handshake): open() reports a queue still unwritable then.
    if (self->state_.load() != state::open || !self->opened_) {
      return;
    }
    const bool writable = self->queue_.is_writable();
    if (writable == self->reported_writable_) {
      return;  // a flip and its flip back: nothing changed for the handler
    }
    self->reported_writable_ = writable;
    try {
      self->dispatcher_->on_writability(*self, writable);
    } catch (...) {
      self->report_handler_failure();
      self->finish(error::handler_failed);
    }
  });
}

void connection::send_heartbeat() {
  (void)queue_.push_if_idle(dispatcher_->heartbeat());
}

void connection::write_pending() {
  if (is_closed()) {
    return;
  }
  if (!opened_) {
    // Queued before the connection was served (a client's backlog): this
    // write round resumes in open(), once TLS, if any, is up.
    write_deferred_ = true;
    return;
  }
  if (!queue_.take(writing_, writing_frames_)) {
    finish_drain_if_flushed();
    return;
  }
  write_offset_ = 0;
  if (liveness_) {
    liveness_->on_write_started(clock::now());
  }
  write_some();
}

void connection::write_some() {
  write_in_flight_ = true;
  const auto block = writing_.readable().subspan(write_offset_);
  stream_.write_some(asio::buffer(block.data(), block.size()),
                     {shared_from_this(), &connection::on_written});
}

void connection::release_write_buffer() noexcept {
  writing_frames_ = 0;
  // Back to the thread's pool (or freed when it grew large): a connection
  // between writes holds no send buffer.
  detail::buffer_pool::give_back(writing_);
}

void connection::on_written(std::error_code ec, std::size_t n) {
  write_in_flight_ = false;
  bytes_out_.fetch_add(n, std::memory_order_relaxed);
  write_offset_ += n;
  if (is_closed()) {
    // The close came while this write was out: the socket may well have
    // taken it all, so it is settled here, before on_close sees the counters.
    const bool whole = !ec && write_offset_ >= writing_.size();
    if (whole) {
      frames_out_.fetch_add(writing_frames_, std::memory_order_relaxed);
    } else {
      queue_.count_dropped(writing_frames_);
    }
    release_write_buffer();
    report_close();
    return;
  }
  if (ec) {
    // The socket broke under this batch: none of it counts as sent.
    queue_.count_dropped(writing_frames_);
    release_write_buffer();
    finish(ec);
    return;
  }
  if (liveness_) {
    liveness_->on_write_progress(clock::now());
  }
  queue_.release(n);
  if (write_offset_ < writing_.size()) {
    write_some();
    return;
  }
  frames_out_.fetch_add(writing_frames_, std::memory_order_relaxed);
  release_write_buffer();
  write_pending();
}

}  // namespace wiregen
