#include "wiregen/connection.hpp"

#include <asio/post.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <exception>
#include <utility>

namespace wiregen {

namespace {

std::string format_endpoint(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) {
    return "unknown";
  }
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

std::uint64_t next_connection_id() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

connection::connection(std::shared_ptr<asio::io_context> context, asio::ip::tcp::socket socket,
                       std::shared_ptr<dispatcher> dispatcher, const connection_options& options)
    : context_(std::move(context)),
      socket_(std::move(socket)),
      drain_timer_(*context_),
      dispatcher_(std::move(dispatcher)),
      options_(options),
      id_(next_connection_id()),
      remote_address_(format_endpoint(socket_)) {
  std::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(options_.tcp_nodelay), ignored);
  options_.read_chunk_size = std::max<std::size_t>(options_.read_chunk_size, 64);
}

connection::~connection() = default;

void connection::set_close_observer(std::function<void(connection&)> observer) {
  close_observer_ = std::move(observer);
}

void connection::start() {
  asio::post(*context_, [self = shared_from_this()] {
    if (self->state_.load() == state::closed) {
      return;
    }
    try {
      self->dispatcher_->on_open(*self);
    } catch (...) {
      self->finish(error::handler_failed);
      return;
    }
    self->read_more();
  });
}

void connection::read_more() {
  // Room for the rest of the frame being received, and at least one chunk;
  // `wanted_` comes from a validated header, so it never exceeds the maximum
  // frame size whatever a peer writes in its length field.
  const std::size_t missing = wanted_ > input_.size() ? wanted_ - input_.size() : 0;
  input_.prepare(std::max(missing, options_.read_chunk_size));
  socket_.async_read_some(
      asio::buffer(input_.prepare(0), input_.writable()),
      [self = shared_from_this()](std::error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void connection::on_read(std::error_code ec, std::size_t n) {
  if (state_.load() == state::closed) {
    return;
  }
  if (ec == asio::error::eof) {
    on_peer_eof();
    return;
  }
  if (ec) {
    finish(ec);
    return;
  }
  bytes_in_.fetch_add(n, std::memory_order_relaxed);
  input_.commit(n);
  if (state_.load() != state::open) {
    input_.clear();  // draining: the peer's further frames are not dispatched
    read_more();
    return;
  }
  decode_result result;
  try {
    result = dispatcher_->on_input(*this, input_.readable());
  } catch (...) {
    // Generated dispatchers catch handler exceptions themselves; this is the
    // last line that keeps one connection's failure out of the event loop.
    result.error = error::handler_failed;
  }
  input_.consume(result.consumed);
  wanted_ = result.wanted;
  if (result.error) {
    // Replies to the good frames before the bad one are queued already:
    // flush them, then close with the error as the reason.
    begin_drain(result.error);
  }
  if (state_.load() != state::closed) {
    read_more();
  }
}

void connection::on_peer_eof() {
  peer_eof_ = true;
  if (state_.load() == state::open) {
    // The peer finished sending; what it asked for may still be queued, so
    // flush before closing. A frame cut short is worth a reason of its own.
    begin_drain(input_.empty() ? std::error_code(asio::error::eof)
                               : std::error_code(error::truncated_frame));
    return;
  }
  finish_drain_if_flushed();
}

void connection::schedule_write() {
  asio::post(*context_, [self = shared_from_this()] { self->write_pending(); });
}

void connection::write_pending() {
  if (state_.load() == state::closed) {
    return;
  }
  {
    std::lock_guard lock(send_mutex_);
    if (pending_.empty()) {
      write_scheduled_ = false;
    } else {
      writing_.swap(pending_);
    }
  }
  if (writing_.empty()) {
    finish_drain_if_flushed();
    return;
  }
  const auto block = writing_.readable();
  asio::async_write(
      socket_, asio::buffer(block.data(), block.size()),
      [self = shared_from_this()](std::error_code ec, std::size_t n) { self->on_written(ec, n); });
}

void connection::on_written(std::error_code ec, std::size_t n) {
  if (state_.load() == state::closed) {
    return;
  }
  bytes_out_.fetch_add(n, std::memory_order_relaxed);
  writing_.clear();
  if (ec) {
    finish(ec);
    return;
  }
  write_pending();
}

void connection::stop(stop_mode mode) {
  stop_requested_.store(true);
  {
    std::lock_guard lock(send_mutex_);
    accepting_sends_ = false;
  }
  if (mode == stop_mode::immediate) {
    asio::post(*context_, [self = shared_from_this()] { self->finish({}); });
    return;
  }
  asio::post(*context_, [self = shared_from_this()] { self->begin_drain({}); });
  if (mode == stop_mode::graceful_wait && !context_->get_executor().running_in_this_thread()) {
    wait_closed(2 * options_.graceful_stop_timeout);
  }
}

bool connection::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(send_mutex_);
  return closed_cv_.wait_for(lock, timeout, [this] { return state_.load() == state::closed; });
}

void connection::begin_drain(std::error_code reason) {
  if (state_.load() != state::open) {
    return;
  }
  {
    std::lock_guard lock(send_mutex_);
    accepting_sends_ = false;
  }
  state_.store(state::draining);
  drain_reason_ = reason;
  drain_timer_.expires_after(options_.graceful_stop_timeout);
  drain_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) {
      self->finish(error::stop_timeout);
    }
  });
  finish_drain_if_flushed();
}

void connection::finish_drain_if_flushed() {
  if (state_.load() != state::draining) {
    return;
  }
  {
    std::lock_guard lock(send_mutex_);
    if (write_scheduled_) {
      return;  // write_pending() calls back here once the queue is empty
    }
  }
  if (!shutdown_sent_) {
    // Half-close, then wait for the peer's EOF: closing with unread input
    // would make the kernel reset the connection and could destroy replies
    // the peer has not read yet.
    shutdown_sent_ = true;
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  if (peer_eof_) {
    finish(drain_reason_);
  }
}

void connection::finish(std::error_code reason) {
  if (state_.load() == state::closed) {
    return;
  }
  {
    std::lock_guard lock(send_mutex_);
    accepting_sends_ = false;
    pending_.clear();
  }
  state_.store(state::closed);
  std::error_code ignored;
  drain_timer_.cancel();
  socket_.close(ignored);
  try {
    dispatcher_->on_close(*this, reason);
  } catch (...) {
    // on_close is the last callback of this connection; there is nobody left
    // to report a failure to, and the process must go on.
  }
  if (close_observer_) {
    close_observer_(*this);
  }
  {
    // Taking the lock orders the closed state before waiters re-check it, so
    // notify_all() cannot slip between their check and their wait.
    std::lock_guard lock(send_mutex_);
  }
  closed_cv_.notify_all();
}

}  // namespace wiregen
