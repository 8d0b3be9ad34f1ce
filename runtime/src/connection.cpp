#include "wiregen/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio/detail/socket_option.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "connection_parts.hpp"
#include "liveness.hpp"
#include "peer_identity.hpp"
#include "runtime_log.hpp"
#include "socket_names.hpp"
#include "startup.hpp"
#include "transfer_state.hpp"
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
void apply_socket_options(stream_socket& socket, const connection_options& options) {
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

std::shared_ptr<const connection_home> connection::share_home(connection_home home) {
  if (!home.options) {
    home.options = share_options({});
  }
  const auto& options = *home.options;
  home.queue_bounds = {options.max_queued_bytes, options.low_watermark,
                       options.max_queued_frames == 0 ? SIZE_MAX : options.max_queued_frames};
  return std::make_shared<const connection_home>(std::move(home));
}

namespace {

std::shared_ptr<const connection_home> checked(std::shared_ptr<const connection_home> home) {
  if (!home || !home->context || !home->dispatcher || !home->options) {
    throw std::invalid_argument(
        "wiregen::connection: a home needs a context, a dispatcher and "
        "options (see connection::share_home)");
  }
  return home;
}

}  // namespace

connection::connection(std::shared_ptr<const connection_home> home, stream_socket socket,
                       connection_setup setup)
    : home_(checked(std::move(home))),
      stream_(std::move(socket)),
      queue_(home_->queue_bounds, *this),
      id_(detail::next_connection_id()) {
  const auto& options = *home_->options;
  auto& socket_ref = stream_.socket();
  std::error_code ec;
  const auto peer = socket_ref.remote_endpoint(ec);
  if (!ec) {
    if (const auto ip = detail::ip_endpoint(peer)) {
      remote_endpoint_ = *ip;
      peer_.store(peer_kind::ip, std::memory_order_relaxed);
    } else if (peer.protocol().family() == AF_UNIX) {
      peer_.store(peer_kind::unix_socket, std::memory_order_relaxed);
    }
  }
  native_handle_ = socket_ref.is_open() ? socket_ref.native_handle() : -1;
  if (peer_.load(std::memory_order_relaxed) != peer_kind::unix_socket) {
    apply_socket_options(socket_ref, options);  // TCP's options mean nothing to a Unix socket
  }
  if (detail::liveness::wanted(options)) {
    occasional().liveness =
        std::make_unique<detail::liveness>(*this, options, detail::timer_wheel::of(context()));
  }
  if (options.message_rate > 0) {
    occasional().rate = std::make_unique<rate_state>(context(), options);
  }
  const bool needs_startup = detail::startup::needed(setup);
  if (setup.tls) {
    stream_.use_tls(std::move(*setup.tls));
  }
  if (needs_startup) {
    transfer().startup = std::make_unique<detail::startup>(std::move(setup), nullptr);
  }
}

// Out of line: the parts are complete types only here.
connection::~connection() {
  if (transfer_ != nullptr) {
    stream_.settle(transfer_->input);
    account_memory(true);
    detail::transfer_state::give_back(transfer_);
  }
}

connection::occasional_parts& connection::occasional() {
  if (!occasional_) {
    occasional_ = std::make_unique<occasional_parts>();
  }
  return *occasional_;
}

std::any& connection::user_data() {
  return occasional().user_data;
}

std::unique_ptr<detail::startup> connection::take_startup() noexcept {
  return transfer_ != nullptr ? std::move(transfer_->startup) : nullptr;
}

frame_gate connection::gate() noexcept {
  auto* limit = rate();
  const auto chosen = occasional_ ? occasional_->max_frame_size : std::nullopt;
  return {&stop_requested_, limit != nullptr ? &limit->bucket : nullptr,
          chosen.value_or(home_->options->max_frame_size)};
}

void connection::set_max_frame_size(std::size_t bytes) {
  asio::dispatch(context(), [self = shared_from_this(), bytes] {
    self->occasional().max_frame_size = bytes;
    if (self->transfer_ != nullptr) {
      self->transfer_->loop.gate().max_frame_size = bytes;
    }
  });
}

bool connection::is_writing() const noexcept {
  return transfer_ != nullptr && !transfer_->writing.empty();
}

std::string connection::remote_address() const {
  switch (peer_.load(std::memory_order_relaxed)) {
    case peer_kind::ip:
    case peer_kind::ip_over_unix:
      return detail::format_endpoint(remote_endpoint_);
    case peer_kind::unix_socket: {
      // The peer is usually unnamed (a client's end): the socket file both
      // ends share names the connection, whichever end bound it.
      auto name = detail::peer_name(native_handle_);
      if (!name || name->path.empty()) {
        name = detail::local_name(native_handle_);
      }
      return name && !name->path.empty() ? name->to_string() : "unix";
    }
    case peer_kind::unknown:
      break;
  }
  return "unknown";
}

std::string connection::tagged_remote_address() const {
  std::string tag = is_unix_socket() ? "(unix" : "(tcp";
  tag += tls() != nullptr ? "+tls)" : ")";
  return remote_address() + tag;
}

std::string connection::local_address() const {
  const auto name = detail::local_name(native_handle_);
  return name ? name->to_string() : "unknown";
}

asio::ip::tcp::endpoint connection::local_endpoint() const noexcept {
  asio::ip::tcp::endpoint local;
  auto length = static_cast<socklen_t>(local.capacity());
  if (native_handle_ < 0 || ::getsockname(native_handle_, local.data(), &length) != 0 ||
      (local.data()->sa_family != AF_INET && local.data()->sa_family != AF_INET6)) {
    return {};
  }
  local.resize(length);
  return local;
}

std::optional<connection::peer_credentials> connection::unix_peer() const noexcept {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (!is_unix_socket() || native_handle_ < 0 ||
      ::getsockopt(native_handle_, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return std::nullopt;
  }
  return peer_credentials{credentials.pid, credentials.uid, credentials.gid};
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
    auto& startup = transfer().startup;
    if (!startup) {
      startup = std::make_unique<detail::startup>(connection_setup{}, nullptr);
    }
    startup->set_started(std::move(started));
  }
  asio::post(context(), [self = shared_from_this()] {
    if (self->is_closed()) {
      return;
    }
    auto* startup = self->transfer_ != nullptr ? self->transfer_->startup.get() : nullptr;
    if (startup == nullptr) {
      self->open();
      return;
    }
    self->transfer_->handshake_began = clock::now();
    self->transfer_->deadline.watch(*self);
    startup->run(self, &connection::started);
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
  if (auto* watch = liveness()) {
    watch->start(now);
  }
  if (auto* limit = rate()) {
    limit->bucket.reset(now);
  }
  detail::log::opened(home_->log.get(), *this);
  try {
    dispatcher()->on_open(*this);
  } catch (...) {
    report_handler_failure();
    finish(error::handler_failed);
    return;
  }
  if (is_closed()) {
    return;
  }
  if (auto startup = take_startup()) {
    startup->report({});
  }
  if (!queue_.is_writable()) {
    writability_changed();
  }
  if (auto* watch = liveness()) {
    watch->refile();
  }
  if (awaits_first_frame()) {
    // Held until the first frame, so that the frame deadline's wheel entry
    // also times out a peer that never sends.
    transfer().deadline.watch(*this);
  }
  if (write_deferred_) {
    write_deferred_ = false;
    write_pending();
  }
  if (!paused_by_user_) {  // on_open may have paused it
    read_more();
  }
}

void connection::report_handler_failure() noexcept {
  try {
    frame_error failure(error::handler_failed);
    failure.exception = std::current_exception();  // called in the catch block
    (void)dispatcher()->on_error(*this, failure);
  } catch (...) {
    // Reporting failed as well; closing the connection is all that is left.
  }
}

// ---------------------------------------------------------------------------
// Stopping

void connection::stop(stop_mode mode, std::chrono::milliseconds deadline) {
  deadline = clamp_wait(deadline.count() > 0 ? deadline : options().graceful_stop_timeout);
  stop_requested_.store(true);
  queue_.stop_accepting(error::connection_closed);
  if (mode == stop_mode::immediate) {
    asio::post(context(), [self = shared_from_this()] { self->finish({}); });
    return;
  }
  asio::post(context(), [self = shared_from_this(), deadline] { self->begin_drain({}, deadline); });
  if (mode == stop_mode::graceful_wait && !context().get_executor().running_in_this_thread()) {
    // The drain timer forces the close at the deadline; the extra second
    // covers a loop busy in some handler at that moment.
    wait_closed(deadline + std::chrono::seconds(1));
  }
}

bool connection::wait_closed(std::chrono::milliseconds timeout) {
  return queue_.wait_closed(timeout);
}

connection::drain_state& connection::drain() {
  auto& parts = occasional();
  if (!parts.drain) {
    parts.drain = std::make_unique<drain_state>(context());
  }
  return *parts.drain;
}

void connection::begin_drain(std::error_code reason, std::chrono::milliseconds deadline) {
  if (!opened_) {
    finish(reason ? reason : std::error_code(error::stopped));  // never served: nothing to flush
    return;
  }
  const auto until = clock::now() + deadline;
  if (state_.load() == state::draining && until < drain().until) {
    // A later stop with a nearer deadline makes the drain more immediate.
    auto& draining = drain();
    draining.until = until;
    draining.timer.expires_at(until);
    arm_drain_timer();
    return;
  }
  if (state_.load() != state::open) {
    return;
  }
  queue_.stop_accepting(error::connection_closed);
  state_.store(state::draining);
  auto& draining = drain();
  draining.reason = reason;
  if (throttled() || paused_by_user_) {
    // Reading was paused (by the rate limit or the handler); the peer's EOF
    // must be seen.
    if (throttled()) {
      rate()->throttled = false;
    }
    paused_by_user_ = false;
    if (!read_in_flight_) {
      read_more();
    }
  }
  if (auto* watch = liveness()) {
    watch->refile();  // only the write stall watches a drain
  }
  draining.until = until;
  draining.timer.expires_at(until);
  arm_drain_timer();
  finish_drain_if_flushed();
}

void connection::arm_drain_timer() {
  drain().timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) {
      // A drain that began with an error keeps it as the reason.
      const auto reason = self->drain().reason;
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
    finish(drain().reason);
  }
}

void connection::finish(std::error_code reason) {
  if (is_closed()) {
    return;
  }
  queue_.close(error::connection_closed);
  state_.store(state::closed);
  if (auto* watch = liveness()) {
    watch->stop();
  }
  if (transfer_ != nullptr) {
    transfer_->deadline.cancel();
  }
  if (occasional_ && occasional_->drain) {
    occasional_->drain->timer.cancel();
  }
  if (auto* limit = rate()) {
    limit->timer.cancel();
  }
  stream_.close();
  if (write_in_flight_) {
    transfer_->close_reason = reason;  // reported once the write settles
  } else {
    report_close(reason);
  }
}

void connection::report_close(std::error_code reason) {
  detail::log::closed(home_->log.get(), *this, reason);
  try {
    if (opened_) {
      dispatcher()->on_close(*this, reason);
    } else {
      // Never served: it was refused, not closed (the close observer, a
      // server, reports the refusal).
      dispatcher()->on_discarded(*this, reason);
    }
  } catch (...) {
    // This is the last callback of this connection; there is nobody left
    // to report a failure to, and the process must go on.
  }
  if (auto startup = take_startup()) {
    startup->report(reason ? reason : std::error_code(error::connection_closed));
  }
  if (home_->observer != nullptr) {
    home_->observer->connection_closed(*this, reason);
  }
  queue_.mark_closed();
  rest_if_idle();
}

}  // namespace wiregen
