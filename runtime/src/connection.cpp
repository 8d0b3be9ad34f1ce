#include "wiregen/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <asio/detail/socket_option.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <utility>

#include "connection_parts.hpp"
#include "liveness.hpp"
#include "peer_identity.hpp"
#include "startup.hpp"
#include "waits.hpp"
#include "wiregen/detail/buffer_pool.hpp"
#include "wiregen/detail/token_bucket.hpp"

namespace wiregen {

namespace {

using detail::clamp_wait;

using keep_idle = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPIDLE>;
using keep_interval = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPINTVL>;
using keep_count = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPCNT>;

// Socket options are best effort: a socket the kernel will not tune still
// works, so failures are ignored rather than refusing the connection.
void apply_socket_options(tcp_socket& socket, const connection_options& options) {
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(options.tcp_nodelay), ignored);
  if (options.keepalive.enabled) {
    socket.set_option(asio::socket_base::keep_alive(true), ignored);
    socket.set_option(keep_idle(static_cast<int>(options.keepalive.idle.count())), ignored);
    socket.set_option(keep_interval(static_cast<int>(options.keepalive.interval.count())), ignored);
    socket.set_option(keep_count(options.keepalive.count), ignored);
  }
  if (options.send_buffer_size > 0) {
    socket.set_option(asio::socket_base::send_buffer_size(options.send_buffer_size), ignored);
  }
  if (options.receive_buffer_size > 0) {
    socket.set_option(asio::socket_base::receive_buffer_size(options.receive_buffer_size), ignored);
  }
}

}  // namespace

std::shared_ptr<const connection_options> connection::share_options(connection_options options) {
  options.read_chunk_size = std::max<std::size_t>(options.read_chunk_size, 64);
  options.low_watermark = std::min(options.low_watermark, options.max_queued_bytes);
  if (options.message_rate > 0 && options.message_burst == 0) {
    options.message_burst = static_cast<std::size_t>(std::max(1.0, options.message_rate));
  }
  return std::make_shared<const connection_options>(std::move(options));
}

namespace {

std::shared_ptr<const connection_options> or_defaults(
    std::shared_ptr<const connection_options> options) {
  return options ? std::move(options) : connection::share_options({});
}

}  // namespace

connection::connection(std::shared_ptr<asio::io_context> context, tcp_socket socket,
                       std::shared_ptr<stream_dispatcher> dispatcher,
                       std::shared_ptr<const connection_options> options, connection_setup setup)
    : context_(std::move(context)),
      dispatcher_(std::move(dispatcher)),
      options_(or_defaults(std::move(options))),
      stream_(std::move(socket)),
      queue_(options_->max_queued_bytes, options_->low_watermark, *this),
      id_(detail::next_connection_id()) {
  auto& socket_ref = stream_.socket();
  std::error_code ec;
  remote_endpoint_ = socket_ref.remote_endpoint(ec);
  endpoint_known_ = !ec;
  native_handle_ = socket_ref.is_open() ? socket_ref.native_handle() : -1;
  apply_socket_options(socket_ref, *options_);
  if (detail::liveness::wanted(*options_)) {
    liveness_ =
        std::make_unique<detail::liveness>(*this, *options_, detail::timer_wheel::of(*context_));
  }
  loop_.gate().stopping = &stop_requested_;
  if (options_->message_rate > 0) {
    rate_ = std::make_unique<rate_state>(*context_, *options_);
    loop_.gate().rate = &rate_->bucket;
  }
  const bool needs_startup = detail::startup::needed(setup);
  if (setup.tls) {
    stream_.use_tls(std::move(*setup.tls));
  }
  if (needs_startup) {
    startup_ = std::make_unique<detail::startup>(std::move(setup), nullptr);
  }
}

// Out of line: the parts are complete types only here.
connection::~connection() {
  detail::buffer_pool::give_back(input_);
  detail::buffer_pool::give_back(writing_);
}

std::string connection::remote_address() const {
  return endpoint_known_ ? detail::format_endpoint(remote_endpoint_) : "unknown";
}

asio::ip::tcp::endpoint connection::local_endpoint() const noexcept {
  asio::ip::tcp::endpoint local;
  auto length = static_cast<socklen_t>(local.capacity());
  if (native_handle_ < 0 || ::getsockname(native_handle_, local.data(), &length) != 0) {
    return {};
  }
  local.resize(length);
  return local;
}

connection_stats connection::stats() const {
  connection_stats stats;
  stats.bytes_received = bytes_in_.load();
  stats.bytes_sent = bytes_out_.load();
  stats.frames_received = frames_in_.load();
  stats.frames_sent = frames_out_.load();
  stats.frames_dropped = queue_.frames_dropped();
  stats.frames_skipped = frames_skipped_.load();
  stats.queued_bytes = queue_.queued_bytes();
  return stats;
}

std::error_code connection::write_frames(std::span<const std::uint8_t> bytes, std::size_t frames) {
  return queue_.push_batch(bytes, frames);
}

// ---------------------------------------------------------------------------
// Starting

void connection::start(std::function<void(std::error_code)> started) {
  if (started) {
    if (!startup_) {
      startup_ = std::make_unique<detail::startup>(connection_setup{}, nullptr);
    }
    startup_->set_started(std::move(started));
  }
  asio::post(*context_, [self = shared_from_this()] {
    if (self->is_closed()) {
      return;
    }
    if (!self->startup_) {
      self->open();
      return;
    }
    self->startup_->run(self, clamp_wait(self->options_->handshake_timeout), &connection::started);
  });
}

void connection::started(connection& conn, std::error_code outcome) {
  if (outcome) {
    conn.finish(outcome);
  } else {
    conn.open();
  }
}

void connection::open() {
  opened_ = true;
  const auto now = clock::now();
  opened_at_ = now;
  if (liveness_) {
    liveness_->start(now);
  }
  if (rate_) {
    rate_->bucket.reset(now);
  }
  try {
    dispatcher_->on_open(*this);
  } catch (...) {
    report_handler_failure();
    finish(error::handler_failed);
    return;
  }
  if (is_closed()) {
    return;
  }
  if (auto startup = std::move(startup_)) {
    startup->report({});
  }
  if (!queue_.is_writable()) {
    writability_changed();
  }
  if (liveness_) {
    liveness_->refile();
  }
  if (std::exchange(write_deferred_, false)) {
    write_pending();
  }
  read_more();
}

void connection::report_handler_failure() noexcept {
  try {
    (void)dispatcher_->on_error(*this, error::handler_failed);
  } catch (...) {
    // Reporting failed as well; closing the connection is all that is left.
  }
}

// ---------------------------------------------------------------------------
// Stopping

void connection::stop(stop_mode mode, std::chrono::milliseconds deadline) {
  deadline = clamp_wait(deadline.count() > 0 ? deadline : options_->graceful_stop_timeout);
  requested_deadline_ms_.store(deadline.count());
  stop_requested_.store(true);
  queue_.stop_accepting(error::connection_closed);
  if (mode == stop_mode::immediate) {
    asio::post(*context_, [self = shared_from_this()] { self->finish({}); });
    return;
  }
  asio::post(*context_, [self = shared_from_this(), deadline] { self->begin_drain({}, deadline); });
  if (mode == stop_mode::graceful_wait && !context_->get_executor().running_in_this_thread()) {
    // The drain timer forces the close at the deadline; the extra second
    // covers a loop busy in some handler at that moment.
    wait_closed(deadline + std::chrono::seconds(1));
  }
}

bool connection::wait_closed(std::chrono::milliseconds timeout) {
  return queue_.wait_closed(timeout);
}

connection::drain_state& connection::drain() {
  if (!drain_) {
    drain_ = std::make_unique<drain_state>(*context_);
  }
  return *drain_;
}

void connection::begin_drain(std::error_code reason, std::chrono::milliseconds deadline) {
  if (!opened_) {
    finish(reason ? reason : std::error_code(error::stopped));  // never served: nothing to flush
    return;
  }
  const auto until = clock::now() + deadline;
  if (state_.load() == state::draining && until < drain().until) {
    // A later stop with a nearer deadline makes the drain more immediate.
    drain_->until = until;
    drain_->timer.expires_at(until);
    arm_drain_timer();
    return;
  }
  if (state_.load() != state::open) {
    return;
  }
  queue_.stop_accepting(error::connection_closed);
  state_.store(state::draining);
  drain().reason = reason;
  if (throttled()) {
    // Reading was paused by the rate limit; the peer's EOF must be seen.
    rate_->throttled = false;
    read_more();
  }
  if (liveness_) {
    liveness_->refile();  // only the write stall watches a drain
  }
  drain_->until = until;
  drain_->timer.expires_at(until);
  arm_drain_timer();
  finish_drain_if_flushed();
}

void connection::arm_drain_timer() {
  drain_->timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) {
      // A drain that began with an error keeps it as the reason.
      const auto reason = self->drain_->reason;
      self->finish(reason ? reason : error::stop_timeout);
    }
  });
}

void connection::finish_drain_if_flushed() {
  if (state_.load() != state::draining || queue_.write_round_running()) {
    return;  // write_pending() calls back here once the queue is empty
  }
  if (!shutdown_sent_) {
    // Half-close, then wait for the peer's EOF: closing with unread input
    // would make the kernel reset the connection and could destroy replies
    // the peer has not read yet.
    shutdown_sent_ = true;
    stream_.shutdown_send();
  }
  if (peer_eof_) {
    finish(drain_->reason);
  }
}

void connection::finish(std::error_code reason) {
  if (is_closed()) {
    return;
  }
  queue_.close(error::connection_closed);
  state_.store(state::closed);
  if (liveness_) {
    liveness_->stop();
  }
  if (drain_) {
    drain_->timer.cancel();
  }
  if (rate_) {
    rate_->timer.cancel();
  }
  stream_.close();
  close_reason_ = reason;
  if (!write_in_flight_) {
    report_close();
  }
}

void connection::report_close() {
  try {
    if (opened_) {
      dispatcher_->on_close(*this, close_reason_);
    } else {
      // Never served: it was refused, not closed (the close observer, a
      // server, reports the refusal).
      dispatcher_->on_discarded(*this, close_reason_);
    }
  } catch (...) {
    // This is the last callback of this connection; there is nobody left
    // to report a failure to, and the process must go on.
  }
  if (auto startup = std::move(startup_)) {
    startup->report(close_reason_ ? close_reason_ : std::error_code(error::connection_closed));
  }
  if (observer_) {
    observer_->connection_closed(*this, close_reason_);
  }
  queue_.mark_closed();
}

}  // namespace wiregen
