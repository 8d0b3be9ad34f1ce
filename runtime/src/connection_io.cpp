#include <asio/post.hpp>
#include <asio/ssl/error.hpp>

#include <new>
#include <system_error>
#include <utility>

#include "connection_parts.hpp"
#include "landing_read.hpp"
#include "liveness.hpp"
#include "memory_budget.hpp"
#include "transfer_state.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/detail/buffer_pool.hpp"

// The connection's data path: bytes in through the frame loop to the
// dispatcher, frames out of the send queue to the stream.

namespace wiregen {

namespace {

// The connection whose frames this thread is decoding. The replies its
// handler queues start their write when the batch is decoded, on the spot,
// instead of in a posted round of their own.
thread_local const connection* decoding_here = nullptr;

// Write rounds one call runs back to back (senders on other threads may
// keep refilling the queue) before the loop's other work gets a turn.
constexpr int rounds_in_a_row = 16;

}  // namespace

// ---------------------------------------------------------------------------
// Reading

detail::transfer_state& connection::transfer() {
  if (transfer_ == nullptr) {
    transfer_ = detail::transfer_state::take(gate());
  }
  return *transfer_;
}

void connection::rest_if_idle() {
  if (transfer_ == nullptr || read_in_flight_) {
    return;  // a read still works in (or has landed in) the input
  }
  // The thread's buffer goes back even while a write is out: a peer slow to
  // read must not keep it from the thread's other connections.
  stream_.settle(transfer_->input);
  if (write_in_flight_) {
    account_memory();
    return;  // the write still works in its block
  }
  // A closed connection has nothing left to decode or write.
  // One paused by the memory budget keeps its state, which says so, until
  // it reads again.
  const bool at_rest =
      transfer_->at_rest() && !transfer_->paused_for_memory && !awaits_first_frame();
  if (at_rest || is_closed()) {
    account_memory(true);
    detail::transfer_state::give_back(std::exchange(transfer_, nullptr));
    return;
  }
  account_memory();
}

void connection::account_memory(bool releasing) {
  detail::memory_budget* budget = home_->budget.get();
  if (budget == nullptr) {
    return;
  }
  // The input is the connection's own here (settled): what a partial frame
  // holds; the block being written and the queue behind it are output held.
  // Bytes, not capacity: large buffers are mapped, and only the pages
  // written are resident.
  // The queue's count (under its lock) covers the block being written too;
  // it is asked only while a block is out: with none, nothing is queued
  // but what a write round is about to take.
  auto& t = *transfer_;
  const std::size_t output = t.writing.empty() ? 0 : queue_.queued_bytes();
  const std::size_t held = t.input.size() + output;
  const auto steps =
      releasing ? 0u : static_cast<std::uint32_t>(held / detail::memory_budget::step);
  if (steps != t.budget_steps) {
    const bool freed = steps < t.budget_steps;
    budget->change(*this, t.budget_steps, steps);
    t.budget_steps = steps;
    if (freed && t.paused_for_memory && !releasing) {
      // Paused for what its queue held, which has gone out: it may read
      // again, whatever the others hold (resume_after_budget asks).
      asio::post(context(), [self = shared_from_this()] { self->resume_after_budget(); });
    }
  }
}

bool connection::budget_allows_reading() {
  detail::memory_budget* budget = home_->budget.get();
  if (budget == nullptr || transfer_ == nullptr) {
    return true;
  }
  switch (budget->may_grow(*this, transfer_->budget_steps)) {
    case detail::memory_budget::verdict::grow:
      return true;
    case detail::memory_budget::verdict::pause:
      // Reading stops, so TCP pushes back on the peer; the frame deadline
      // still runs.
      transfer_->paused_for_memory = true;
      budget->wait(weak_from_this(), context());
      return false;
    case detail::memory_budget::verdict::close:
      finish(error::overloaded);
      rest_if_idle();
      return false;
  }
  return true;
}

void connection::resume_after_budget() {
  if (transfer_ == nullptr || !transfer_->paused_for_memory) {
    return;
  }
  transfer_->paused_for_memory = false;
  if (may_read() && !read_in_flight_ && budget_allows_reading()) {
    read_more();
  }
}

void connection::read_more() {
  rest_if_idle();
  if (stream_.reads_when_ready(transfer_ != nullptr ? transfer_->input.size() : 0)) {
    stream_.read_landing(shared_from_this());
    return;
  }
  try {
    auto& t = transfer();
    stream_.read(t.input, t.loop.wanted(), home_->options->read_chunk_size,
                 {shared_from_this(), [](connection& conn, std::error_code ec, std::size_t n) {
                    conn.on_read(ec, n);
                  }});
    read_in_flight_ = true;
  } catch (const std::bad_alloc&) {
    // No memory for this frame's next bytes: this connection closes with a
    // reason, the others go on.
    finish(std::make_error_code(std::errc::not_enough_memory));
    rest_if_idle();
  }
}

namespace detail {

bool landing::perform(const landing& target, std::error_code& ec, std::size_t& n) noexcept {
  // Runs inside Asio's reactor, on the connection's thread, when the socket
  // may have bytes: from a handler that starts the read, or from the loop.
  connection& conn = *target.reader;
  try {
    auto& t = conn.transfer();
    n = conn.stream_.read_now(t.input, t.loop.wanted(), conn.home_->options->read_chunk_size, ec);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    n = 0;
  } catch (...) {
    // Nothing else throws here today; an exception must not leave Asio's
    // reactor, so the read fails and the connection closes with a reason.
    ec = std::make_error_code(std::errc::state_not_recoverable);
    n = 0;
  }
  if (ec == asio::error::would_block) {
    conn.rest_if_idle();  // nothing came: a waiting connection holds nothing
    return false;
  }
  // The bytes wait in the input, not committed yet, for on_read.
  conn.read_in_flight_ = true;
  return true;
}

void landing::complete(connection& reader, std::error_code ec, std::size_t n) {
  reader.on_read(ec, n);
}

}  // namespace detail

void connection::on_read(std::error_code ec, std::size_t n) {
  read_in_flight_ = false;
  // On every way out below, rest_if_idle() (here or in report_close)
  // settles the input: the thread's buffer comes back.
  if (is_closed()) {
    rest_if_idle();
    return;
  }
  // A TLS peer that closes its socket without a close_notify ends the
  // stream the same way: frames carry their own lengths, so a cut-off frame
  // is still told apart (truncated_frame).
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    on_peer_eof();
    rest_if_idle();
    return;
  }
  if (ec) {
    finish(ec);
    rest_if_idle();
    return;
  }
  bytes_in_.fetch_add(n, std::memory_order_relaxed);
  transfer_->input.commit(n);
  if (auto* watch = liveness()) {
    watch->on_read(clock::now());
  }
  if (state_.load() != state::open) {
    transfer_->input.clear();  // draining: the peer's further frames are not dispatched
    read_more();
    return;
  }
  decode_input();
  await_rest_of_frame();
  if (!is_closed() && !throttled()) {
    rest_if_idle();  // the input is its own now: what it holds is counted
    if (!paused_by_user_ && budget_allows_reading()) {
      read_more();
    }
  } else {
    rest_if_idle();  // what waits for the rate limit moves to our own buffer
  }
}

void connection::decode_input() {
  if (transfer_ == nullptr || transfer_->input.empty() || !is_reading()) {
    return;
  }
  auto& t = *transfer_;
  decode_result result;
  const connection* outer = std::exchange(decoding_here, this);
  try {
    result = dispatcher()->on_input(*this, t.loop, t.input.readable());
  } catch (...) {
    // Generated dispatchers catch handler exceptions themselves; this is
    // the last line that keeps one connection's failure out of the loop.
    result.error = error::handler_failed;
  }
  decoding_here = outer;
  t.input.consume(result.consumed);
  if (result.frames > 0 || result.skipped > 0 || result.throttled) {
    // A frame ended (or the rest waits for the rate limit, not the peer):
    // whatever is left began arriving only now.
    t.frame_began = {};
  }
  if (result.frames > 0) {
    frames_in_.fetch_add(result.frames, std::memory_order_relaxed);
    if (auto* watch = liveness()) {
      watch->on_frames(clock::now());
    }
  }
  if (result.skipped > 0) {
    frames_skipped_.fetch_add(result.skipped, std::memory_order_relaxed);
  }
  if (write_wanted_) {
    // The batch's replies. A drain below waits for this round to end.
    write_wanted_ = false;
    write_pending();
    if (is_closed()) {
      return;
    }
  }
  if (result.throttled) {
    throttle();
    return;
  }
  if (result.error) {
    // Replies to the good frames before the bad one are queued already:
    // flush them, then close with the error as the reason.
    begin_drain(result.error, home_->options->graceful_stop_timeout);
  }
}

void connection::await_rest_of_frame() {
  if (transfer_ == nullptr || is_closed() || throttled()) {
    return;
  }
  auto& t = *transfer_;
  if (!t.loop.mid_frame(t.input.size())) {
    t.frame_began = {};
    return;
  }
  if (home_->options->partial_frame_timeout.count() == 0) {
    return;
  }
  if (t.frame_began == clock::time_point{}) {
    t.frame_began = clock::now();
  }
  t.deadline.watch(*this);
}

bool connection::awaits_first_frame() const noexcept {
  return opened_ && home_->options->first_frame_timeout.count() > 0 &&
         frames_in_.load(std::memory_order_relaxed) == 0 && is_serving();
}

void connection::on_peer_eof() {
  peer_eof_ = true;
  if (state_.load() == state::open && stop_requested_.load()) {
    // A stop asked for before this EOF was seen, and posted: it drains (or
    // closes) with its own deadline and (empty) reason, and sees the EOF;
    // frames it left undecoded are not truncation.
    return;
  }
  if (state_.load() == state::open) {
    // The peer finished sending; what it asked for may still be queued, so
    // flush before closing. A frame cut short is worth a reason of its own.
    const bool mid_frame =
        transfer_ != nullptr && transfer_->loop.mid_frame(transfer_->input.size());
    begin_drain(
        mid_frame ? std::error_code(error::truncated_frame) : std::error_code(asio::error::eof),
        home_->options->graceful_stop_timeout);
    return;
  }
  finish_drain_if_flushed();
}

// ---------------------------------------------------------------------------
// Writing

void connection::write_ready() {
  if (decoding_here == this) {
    write_wanted_ = true;  // decode_input() writes once the batch is decoded
    return;
  }
  asio::post(context(), [self = shared_from_this()] { self->write_pending(); });
}

void connection::writability_changed() {
  // The event reports the state when it runs, not when it was posted: posts
  // from this loop's own thread and from senders' threads may run out of
  // order, and the handler must end up told the state that holds.
  asio::post(context(), [self = shared_from_this()] {
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
      self->dispatcher()->on_writability(*self, writable);
    } catch (...) {
      self->report_handler_failure();
      self->finish(error::handler_failed);
    }
  });
}

void connection::send_heartbeat() {
  (void)queue_.push_if_idle(dispatcher()->heartbeat());
}

void connection::write_pending() {
  for (int round = 0; round < rounds_in_a_row; ++round) {
    if (is_closed()) {
      return;
    }
    if (!opened_) {
      // Queued before the connection was served (a client's backlog): this
      // write round resumes in open(), once TLS, if any, is up.
      write_deferred_ = true;
      return;
    }
    auto& t = transfer();
    if (!queue_.take(t.writing, t.writing_frames)) {
      rest_if_idle();
      finish_drain_if_flushed();
      return;
    }
    t.write_offset = 0;
    account_memory();  // what was written is freed; what was queued meanwhile, held
    if (auto* watch = liveness()) {
      watch->on_write_started(clock::now());
    }
    if (!write_now()) {
      return;  // on_written() goes on
    }
  }
  asio::post(context(), [self = shared_from_this()] { self->write_pending(); });
}

bool connection::write_now() {
  auto& t = *transfer_;
  while (t.write_offset < t.writing.size()) {
    const auto block = t.writing.readable().subspan(t.write_offset);
    std::error_code ec;
    const std::size_t n = stream_.write_now(asio::buffer(block.data(), block.size()), ec);
    if (ec == asio::error::would_block) {
      write_some();  // the socket is full (or TLS): the rest when it has room
      return false;
    }
    if (ec) {
      write_failed(ec);
      return false;
    }
    wrote(n);
  }
  write_done();
  return true;
}

void connection::write_some() {
  write_in_flight_ = true;
  const auto block = transfer_->writing.readable().subspan(transfer_->write_offset);
  stream_.write_some(asio::buffer(block.data(), block.size()),
                     {shared_from_this(), [](connection& conn, std::error_code ec, std::size_t n) {
                        conn.on_written(ec, n);
                      }});
}

void connection::release_write_buffer() noexcept {
  transfer_->writing_frames = 0;
  // Back to the thread's pool (or freed when it grew large): a connection
  // between writes holds no send buffer.
  detail::buffer_pool::give_back(transfer_->writing);
}

void connection::on_written(std::error_code ec, std::size_t n) {
  write_in_flight_ = false;
  auto& t = *transfer_;
  if (is_closed()) {
    // The close came while this write was out: the socket may well have
    // taken it all, so it is settled here, before on_close sees the counters.
    bytes_out_.fetch_add(n, std::memory_order_relaxed);
    t.write_offset += n;
    const bool whole = !ec && t.write_offset >= t.writing.size();
    if (whole) {
      frames_out_.fetch_add(t.writing_frames, std::memory_order_relaxed);
    } else {
      queue_.count_dropped(t.writing_frames);
    }
    release_write_buffer();
    report_close(t.close_reason);
    return;
  }
  if (ec) {
    bytes_out_.fetch_add(n, std::memory_order_relaxed);
    write_failed(ec);
    return;
  }
  wrote(n);
  if (t.write_offset < t.writing.size()) {
    write_some();
    return;
  }
  write_done();
  write_pending();
}

void connection::wrote(std::size_t n) {
  bytes_out_.fetch_add(n, std::memory_order_relaxed);
  transfer_->write_offset += n;
  if (auto* watch = liveness()) {
    watch->on_write_progress(clock::now());
  }
  queue_.release(n);
}

void connection::write_done() {
  frames_out_.fetch_add(transfer_->writing_frames, std::memory_order_relaxed);
  release_write_buffer();
}

void connection::write_failed(std::error_code ec) {
  // The socket broke under this batch: none of its frames count as sent.
  queue_.count_dropped(transfer_->writing_frames);
  release_write_buffer();
  finish(ec);
}

}  // namespace wiregen
