#include "wiregen/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <asio/detail/socket_option.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/host_name_verification.hpp>

#include <algorithm>
#include <cstring>
#include <exception>
#include <utility>

#include "peer_identity.hpp"

namespace wiregen {

namespace {

using detail::format_endpoint;
using detail::next_connection_id;

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

template <class Duration>
bool enabled(Duration d) noexcept {
  return d.count() > 0;
}

// Waits longer than this are as good as forever, and cannot overflow a
// clock's time_point when added to now().
std::chrono::milliseconds clamp_wait(std::chrono::milliseconds wait) noexcept {
  constexpr std::chrono::milliseconds longest = std::chrono::hours(24 * 365);
  return std::min(wait, longest);
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

connection::connection(std::shared_ptr<asio::io_context> context, tcp_socket socket,
                       std::shared_ptr<dispatcher> dispatcher,
                       std::shared_ptr<const connection_options> options, connection_setup setup)
    : context_(std::move(context)),
      socket_(std::move(socket)),
      dispatcher_(std::move(dispatcher)),
      options_(std::move(options)),
      id_(next_connection_id()) {
  if (!options_) {
    options_ = share_options({});
  }
  std::error_code ec;
  remote_endpoint_ = socket_.remote_endpoint(ec);
  endpoint_known_ = !ec;
  native_handle_ = socket_.is_open() ? socket_.native_handle() : -1;
  apply_socket_options(socket_, *options_);
  if (socket_.is_open()) {
    // on_readable reads synchronously after a readiness wait: a spurious
    // wake-up must return would_block, never block the loop.
    std::error_code ignored;
    socket_.non_blocking(true, ignored);
  }
  // Decided once: reads and writes only look at the clock when some timeout needs it.
  const bool uses_timeouts =
      enabled(options_->read_idle_timeout) || enabled(options_->write_stall_timeout) ||
      enabled(options_->first_frame_timeout) || enabled(options_->frame_timeout) ||
      enabled(options_->heartbeat_interval);
  if (uses_timeouts) {
    activity_ = std::make_unique<activity_times>();
  }
  if (options_->message_rate > 0) {
    rate_ = std::make_unique<rate_state>(*context_);
  }
  if (setup.trusted_proxies || setup.admit) {
    startup_ = std::make_unique<startup_state>();
    startup_->trusted_proxies = std::move(setup.trusted_proxies);
    startup_->admit = std::move(setup.admit);
  }
  if (setup.tls) {
    const bool server = setup.tls->server;
    tls_ = std::make_unique<tls_state>(std::move(setup.tls->context), socket_, server);
    const auto& name = setup.tls->server_name;
    std::error_code not_an_address;
    (void)asio::ip::make_address(name, not_an_address);
    if (!server && !name.empty() && not_an_address) {
      // SNI carries host names only, never addresses.
      SSL_set_tlsext_host_name(tls_->stream.native_handle(), name.c_str());
    }
    if (!server && setup.tls->verify_name && !name.empty()) {
      tls_->stream.set_verify_callback(asio::ssl::host_name_verification(name));
    }
  }
}

connection::~connection() {
  // Normally finish() took the entry out already; a connection whose loop
  // stopped before it closed is destroyed with that loop idle.
  if (is_filed()) {
    detail::timer_wheel::of(*context_).cancel(*this);
  }
}

void connection::set_close_observer(std::function<void(connection&, std::error_code)> observer) {
  close_observer_ = std::move(observer);
}

std::string connection::remote_address() const {
  return endpoint_known_ ? format_endpoint(remote_endpoint_) : "unknown";
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

connection::deadline_state& connection::deadlines() {
  if (!deadline_) {
    deadline_ = std::make_unique<deadline_state>(*context_);
  }
  return *deadline_;
}

connection::blocked_senders& connection::blocked_locked() {
  if (!blocked_) {
    blocked_ = std::make_unique<blocked_senders>();
  }
  return *blocked_;
}

void connection::start(std::function<void(std::error_code)> started) {
  if (started) {
    if (!startup_) {
      startup_ = std::make_unique<startup_state>();
    }
    startup_->started = std::move(started);
  }
  asio::post(*context_, [self = shared_from_this()] { self->begin(); });
}

void connection::begin() {
  if (state_.load() == state::closed) {
    return;
  }
  const bool expects_proxy_header = startup_ && startup_->trusted_proxies;
  if ((expects_proxy_header || tls_) && enabled(options_->handshake_timeout)) {
    // One deadline for everything before the connection is served, so a
    // peer that connects and stalls holds nothing for long.
    deadlines().timer.expires_after(clamp_wait(options_->handshake_timeout));
    deadlines().timer.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec && !self->opened_) {
        self->finish(error::handshake_timeout);
      }
    });
  }
  if (!expects_proxy_header) {
    after_proxy();
    return;
  }
  const auto& trusted = *startup_->trusted_proxies;
  const bool from_proxy = std::any_of(trusted.begin(), trusted.end(), [&](const auto& network) {
    return network.contains(remote_endpoint_.address());
  });
  if (!from_proxy) {
    finish(error::untrusted_proxy);
    return;
  }
  read_proxy_header();
}

void connection::read_proxy_header() {
  auto& header_bytes = startup_->proxy_bytes;
  std::error_code ec;
  const std::size_t needed = proxy_protocol::bytes_needed(header_bytes, ec);
  if (ec) {
    finish(ec);
    return;
  }
  if (needed == 0) {
    proxy_protocol::header header;
    if ((ec = proxy_protocol::parse(header_bytes, header))) {
      finish(ec);
      return;
    }
    if (!header.local) {
      // From here on the connection is the client's, not the balancer's.
      remote_endpoint_ = header.source;
      endpoint_known_ = true;
    }
    std::vector<std::uint8_t>().swap(header_bytes);
    after_proxy();
    return;
  }
  // Exactly what the header still needs, never a byte more: what follows
  // belongs to TLS or to the first frame.
  const std::size_t have = header_bytes.size();
  header_bytes.resize(have + needed);
  asio::async_read(
      socket_, asio::buffer(header_bytes.data() + have, needed),
      [self = shared_from_this()](std::error_code read_ec, std::size_t) {
        if (self->state_.load() == state::closed) {
          return;
        }
        if (read_ec) {
          self->finish(read_ec == asio::error::eof ? error::bad_proxy_header : read_ec);
          return;
        }
        self->read_proxy_header();
      });
}

void connection::after_proxy() {
  if (startup_ && startup_->admit) {
    std::error_code refused;
    try {
      refused = startup_->admit(*this);
    } catch (...) {
      refused = error::handler_failed;
    }
    if (refused) {
      finish(refused);
      return;
    }
  }
  if (!tls_) {
    open();
    return;
  }
  tls_->stream.async_handshake(
      tls_->server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
      [self = shared_from_this()](std::error_code ec) {
        if (self->state_.load() == state::closed) {
          return;
        }
        if (ec) {
          self->finish(ec);
          return;
        }
        auto info = std::make_unique<tls_info>();
        detail::describe_session(self->tls_->stream.native_handle(), *info);
        self->tls_->info = std::move(info);
        self->open();
      });
}

void connection::open() {
  deadline_.reset();  // the handshake's; a drain makes its own
  opened_ = true;
  const auto now = clock::now();
  opened_at_ = now;
  if (activity_) {
    activity_->last_read = activity_->last_send = activity_->last_frame = now;
  }
  if (rate_) {
    rate_->refilled_at = now;
    rate_->tokens = static_cast<double>(options_->message_burst);
  }
  try {
    dispatcher_->on_open(*this);
  } catch (...) {
    report_handler_failure();
    finish(error::handler_failed);
    return;
  }
  if (state_.load() == state::closed) {
    return;
  }
  if (auto startup = std::move(startup_); startup && startup->started) {
    startup->started({});
  }
  if (!writable_.load()) {
    post_writability();
  }
  file_timeouts();
  if (std::exchange(write_deferred_, false)) {
    write_pending();
  }
  read_more();
}

// ---------------------------------------------------------------------------
// Send queue

void connection::refuse_locked() {
  frames_dropped_.fetch_add(1, std::memory_order_relaxed);
  mark_unwritable_locked();
}

void connection::mark_unwritable_locked() {
  if (writable_.exchange(false)) {
    post_writability();
  }
}

void connection::post_writability() {
  // The event reports the state when it runs, not when it was posted: posts
  // from this loop's own thread and from senders' threads may run out of
  // order, and the handler must end up told the state that holds.
  asio::post(*context_, [self = shared_from_this()] {
    // Not before on_connected (a client's backlog may fill the queue during
    // the handshake): open() reports a queue still unwritable then.
    if (self->state_.load() != state::open || !self->opened_) {
      return;
    }
    const bool writable = self->writable_.load();
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

std::error_code connection::write_frames(std::span<const std::uint8_t> bytes, std::size_t frames) {
  bool post_write = false;
  {
    std::lock_guard lock(send_mutex_);
    if (!accepting_sends_) {
      return error::connection_closed;
    }
    if (queued_bytes_ != 0 || anyone_blocked_locked()) {
      return error::send_queue_full;
    }
    auto copy = [&](std::uint8_t* out) { std::memcpy(out, bytes.data(), bytes.size()); };
    post_write = queue_locked(bytes.size(), copy, frames);
  }
  if (post_write) {
    schedule_write();
  }
  return {};
}

std::error_code connection::write_frame_waiting(std::size_t size,
                                                void (*fill)(void*, std::uint8_t*),
                                                void* fill_context,
                                                std::chrono::milliseconds timeout,
                                                std::stop_token cancel) {
  if (cancel.stop_requested()) {
    frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    return error::send_cancelled;
  }
  timeout = clamp_wait(timeout);
  std::unique_lock lock(send_mutex_);
  if (!accepting_sends_) {
    return error::connection_closed;
  }
  if (fits_locked(size)) {
    auto call = [&](std::uint8_t* out) { fill(fill_context, out); };
    const bool post_write = queue_locked(size, call);
    lock.unlock();
    if (post_write) {
      schedule_write();
    }
    return {};
  }
  if (!enabled(timeout) || context_->get_executor().running_in_this_thread()) {
    refuse_locked();
    return error::send_queue_full;
  }
  mark_unwritable_locked();
  auto waiter = std::make_shared<send_waiter>();
  waiter->size = size;
  waiter->fill = fill;
  waiter->fill_context = fill_context;
  auto& line = blocked_locked();
  line.waiters.push_back(waiter);
  line.room.wait_until(lock, cancel, clock::now() + timeout, [&] { return waiter->done; });
  if (waiter->done) {
    return waiter->result;
  }
  // Timed out or cancelled while still in line: leave the line. The fill
  // was never called, and cannot be now that the lock is held.
  std::erase(line.waiters, waiter);
  frames_dropped_.fetch_add(1, std::memory_order_relaxed);
  return cancel.stop_requested() ? error::send_cancelled : error::send_queue_full;
}

void connection::submit(const waiter_ptr& waiter, std::chrono::milliseconds timeout) {
  // An async sender owns its encoded frame; its fill copies it.
  waiter->fill = [](void* context, std::uint8_t* out) {
    const auto& bytes = static_cast<send_waiter*>(context)->bytes;
    std::memcpy(out, bytes.data(), bytes.size());
  };
  waiter->fill_context = waiter.get();
  std::error_code refused;
  bool post_write = false;
  {
    std::lock_guard lock(send_mutex_);
    if (!accepting_sends_) {
      refused = error::connection_closed;
    } else if (fits_locked(waiter->size)) {
      auto call = [&](std::uint8_t* out) { waiter->fill(waiter->fill_context, out); };
      post_write = queue_locked(waiter->size, call);
      waiter->done = true;
    } else {
      mark_unwritable_locked();
      blocked_locked().waiters.push_back(waiter);
      if (enabled(timeout)) {
        waiter->deadline = std::make_unique<asio::steady_timer>(*context_, timeout);
        waiter->deadline->async_wait([self = shared_from_this(), weak = std::weak_ptr<send_waiter>(
                                                                     waiter)](std::error_code ec) {
          if (auto late = weak.lock(); late && !ec) {
            self->abandon(late, error::send_queue_full);
          }
        });
      }
      return;
    }
  }
  if (post_write) {
    schedule_write();
  }
  waiter->complete(refused);
}

void connection::abandon(const waiter_ptr& waiter, std::error_code reason) {
  {
    std::lock_guard lock(send_mutex_);
    if (waiter->done) {
      return;
    }
    waiter->done = true;
    waiter->result = reason;
    std::erase(blocked_->waiters, waiter);  // in line, so blocked_ exists
    if (waiter->deadline) {
      waiter->deadline->cancel();
    }
    frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    if (!waiter->complete) {
      notify_senders_locked();
    }
  }
  if (waiter->complete) {
    waiter->complete(reason);
  }
}

void connection::notify_senders_locked() {
  // Under send_mutex_, which guards blocked_ being made: a waiter that
  // made it is waiting on it, or is about to be.
  if (blocked_) {
    blocked_->room.notify_all();
  }
}

void connection::release_written(std::size_t n) {
  std::vector<waiter_ptr> admitted;
  {
    std::lock_guard lock(send_mutex_);
    queued_bytes_ -= n;
    // Let waiting senders in, in the order they came, while they fit. This
    // runs on the connection's thread, so a write is in progress and the
    // frames queued here leave with the next round.
    if (anyone_blocked_locked()) {
      admit_waiters_locked(admitted);
    }
    if (!writable_.load() && !anyone_blocked_locked() && queued_bytes_ <= options_->low_watermark) {
      writable_.store(true);
      post_writability();
    }
  }
  for (const auto& waiter : admitted) {
    if (waiter->complete) {
      waiter->complete({});
    }
  }
}

void connection::admit_waiters_locked(std::vector<waiter_ptr>& admitted) {
  auto& waiters = blocked_->waiters;
  std::size_t let_in = 0;
  bool wake_blocked = false;
  for (; let_in < waiters.size() && accepting_sends_; ++let_in) {
    const auto& next = waiters[let_in];
    if (!room_for_locked(next->size)) {
      break;
    }
    auto call = [&](std::uint8_t* out) { next->fill(next->fill_context, out); };
    queue_locked(next->size, call);
    next->done = true;
    if (next->deadline) {
      next->deadline->cancel();
    }
    wake_blocked = wake_blocked || !next->complete;
    admitted.push_back(next);
  }
  waiters.erase(waiters.begin(), waiters.begin() + static_cast<std::ptrdiff_t>(let_in));
  if (wake_blocked) {
    notify_senders_locked();
  }
}

void connection::fail_waiters(std::error_code reason) {
  std::vector<waiter_ptr> failed;
  {
    std::lock_guard lock(send_mutex_);
    accepting_sends_ = false;
    if (blocked_) {
      failed.swap(blocked_->waiters);
    }
    for (const auto& waiter : failed) {
      waiter->done = true;
      waiter->result = reason;
      if (waiter->deadline) {
        waiter->deadline->cancel();
      }
    }
    frames_dropped_.fetch_add(failed.size(), std::memory_order_relaxed);
    notify_senders_locked();
  }
  for (const auto& waiter : failed) {
    if (waiter->complete) {
      waiter->complete(reason);
    }
  }
}

connection_stats connection::stats() const {
  connection_stats stats;
  stats.bytes_received = bytes_in_.load();
  stats.bytes_sent = bytes_out_.load();
  stats.frames_received = frames_in_.load();
  stats.frames_sent = frames_out_.load();
  stats.frames_dropped = frames_dropped_.load();
  stats.frames_skipped = frames_skipped_.load();
  {
    std::lock_guard lock(send_mutex_);
    stats.queued_bytes = queued_bytes_;
  }
  return stats;
}

// ---------------------------------------------------------------------------
// Reading

namespace {

// Each I/O thread reads ready sockets into one buffer of its own: a
// connection with no partial frame pending holds no read buffer at all, so
// an idle connection costs no more than its state, and reads come in large
// chunks however many connections there are.
byte_buffer& thread_read_buffer() {
  static thread_local byte_buffer buffer;
  return buffer;
}

}  // namespace

void connection::read_more() {
  settle_borrowed_input();
  if (!tls_ && input_.empty()) {
    // Nothing pending: wait until the socket is readable, then read into the
    // thread's buffer (on_readable). TLS streams keep their own buffering.
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = shared_from_this()](std::error_code ec) { self->on_readable(ec); });
    return;
  }
  // Room for the rest of the frame being received, and at least one chunk;
  // `wanted_` comes from a validated header, so it never exceeds the maximum
  // frame size whatever a peer writes in its length field.
  const std::size_t missing = wanted_ > input_.size() ? wanted_ - input_.size() : 0;
  // A plain connection reads here only to finish a partial frame; a TLS
  // stream reads records of at most 16 KiB.
  input_.prepare(std::max(
      missing, tls_ ? std::min<std::size_t>(options_->read_chunk_size, 16384) : std::size_t{1024}));
  stream_read_some(
      asio::buffer(input_.prepare(0), input_.writable()),
      [self = shared_from_this()](std::error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void connection::on_readable(std::error_code ec) {
  if (state_.load() == state::closed) {
    return;
  }
  if (ec) {
    on_read(ec, 0);
    return;
  }
  byte_buffer& shared = thread_read_buffer();
  shared.clear();
  shared.prepare(std::max(options_->read_chunk_size, wanted_));
  std::error_code read_ec;
  const std::size_t n =
      socket_.read_some(asio::buffer(shared.prepare(0), shared.writable()), read_ec);
  if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) {
    read_more();  // woken for nothing: wait again
    return;
  }
  // The bytes become this connection's input while they are decoded; what
  // is left of them (a partial frame) moves to its own buffer afterwards.
  input_.swap(shared);
  input_borrowed_ = true;
  on_read(read_ec, n);
  settle_borrowed_input();
}

void connection::settle_borrowed_input() {
  if (!input_borrowed_) {
    return;
  }
  input_borrowed_ = false;
  byte_buffer& own = thread_read_buffer();  // holds this connection's buffer now
  own.clear();
  if (!input_.empty()) {
    const auto rest = input_.readable();
    std::memcpy(own.prepare(rest.size()), rest.data(), rest.size());
    own.commit(rest.size());
  }
  input_.swap(own);  // the thread gets its buffer back
  // A large frame's buffer is not kept once the frame is done: connections
  // that go quiet give their memory back (small ones are kept, so steady
  // traffic does not allocate).
  if (input_.empty() && input_.capacity() > 16384) {
    byte_buffer().swap(input_);
  }
}

void connection::on_read(std::error_code ec, std::size_t n) {
  if (state_.load() == state::closed) {
    return;
  }
  // A TLS peer that closes its socket without a close_notify ends the
  // stream the same way: frames carry their own lengths, so a cut-off frame
  // is still told apart (truncated_frame).
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    on_peer_eof();
    return;
  }
  if (ec) {
    finish(ec);
    return;
  }
  bytes_in_.fetch_add(n, std::memory_order_relaxed);
  input_.commit(n);
  if (activity_) {
    activity_->last_read = clock::now();
  }
  if (state_.load() != state::open) {
    input_.clear();  // draining: the peer's further frames are not dispatched
    read_more();
    return;
  }
  decode_input();
  if (state_.load() != state::closed && !throttled()) {
    read_more();
  }
}

void connection::decode_input() {
  for (;;) {
    if (skip_remaining_ > 0) {
      const auto dropped =
          static_cast<std::size_t>(std::min<std::uint64_t>(skip_remaining_, input_.size()));
      input_.consume(dropped);
      skip_remaining_ -= dropped;
      if (skip_remaining_ > 0) {
        return;
      }
    }
    if (input_.empty() || !is_reading()) {
      return;
    }
    decode_result result;
    try {
      result = dispatcher_->on_input(*this, input_.readable());
    } catch (...) {
      // Generated dispatchers catch handler exceptions themselves; this is
      // the last line that keeps one connection's failure out of the loop.
      result.error = error::handler_failed;
    }
    input_.consume(result.consumed);
    wanted_ = result.wanted;
    if (result.frames > 0) {
      frames_in_.fetch_add(result.frames, std::memory_order_relaxed);
      first_frame_seen_ = true;
      if (activity_) {
        activity_->last_frame = clock::now();
      }
    }
    if (result.throttled) {
      throttle();
      return;
    }
    if (!result.error || !skip_bad_frame(result.error)) {
      return;
    }
    // Skipped: the bad frame is consumed (or its rest will be discarded as
    // it arrives), so the frames behind it are decoded at once.
    frames_skipped_.fetch_add(1, std::memory_order_relaxed);
    skip_remaining_ = result.skip;
    wanted_ = 0;
  }
}

void connection::report_handler_failure() noexcept {
  try {
    (void)dispatcher_->on_error(*this, error::handler_failed);
  } catch (...) {
    // Reporting failed as well; closing the connection is all that is left.
  }
}

bool connection::skip_bad_frame(std::error_code ec) {
  auto action = error_action::disconnect;
  try {
    action = dispatcher_->on_error(*this, ec);
  } catch (...) {
    action = error_action::disconnect;
  }
  if (action == error_action::skip && is_skippable(ec) && is_reading()) {
    return true;
  }
  // Replies to the good frames before the bad one are queued already:
  // flush them, then close with the error as the reason.
  begin_drain(ec, options_->graceful_stop_timeout);
  return false;
}

bool connection::take_message_token() {
  if (!rate_) {
    return true;
  }
  auto& bucket = *rate_;
  const auto now = clock::now();
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled_at).count();
  bucket.refilled_at = now;
  bucket.tokens = std::min(static_cast<double>(options_->message_burst),
                           bucket.tokens + elapsed * options_->message_rate);
  if (bucket.tokens < 1) {
    return false;
  }
  bucket.tokens -= 1;
  return true;
}

void connection::throttle() {
  if (options_->on_rate_exceeded == rate_limit_action::close) {
    begin_drain(error::message_rate_exceeded, options_->graceful_stop_timeout);
    return;
  }
  // Stop reading until the next token is due; TCP's flow control then
  // slows the peer. The frames already buffered wait where they are.
  rate_->throttled = true;
  // Capped at an hour: a rate of nearly zero must not overflow the clock.
  const double wait = std::clamp((1 - rate_->tokens) / options_->message_rate, 0.0, 3600.0);
  rate_->timer.expires_after(
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(wait)));
  rate_->timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec || self->state_.load() != state::open) {
      return;
    }
    self->rate_->throttled = false;
    // Held back by the rate limit, the peer was not idle: the idle clock
    // restarts as if the frames had just arrived.
    if (self->activity_) {
      self->activity_->last_read = self->activity_->last_frame = clock::now();
    }
    self->decode_input();
    if (self->state_.load() != state::closed && !self->throttled()) {
      self->read_more();
    }
  });
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
    const bool mid_frame = !input_.empty() || skip_remaining_ > 0;
    begin_drain(
        mid_frame ? std::error_code(error::truncated_frame) : std::error_code(asio::error::eof),
        options_->graceful_stop_timeout);
    return;
  }
  finish_drain_if_flushed();
}

// ---------------------------------------------------------------------------
// Writing

void connection::schedule_write() {
  asio::post(*context_, [self = shared_from_this()] { self->write_pending(); });
}

void connection::write_pending() {
  if (state_.load() == state::closed) {
    return;
  }
  if (!opened_) {
    // Queued before the connection was served (a client's backlog): this
    // write round resumes in open(), once TLS, if any, is up.
    write_deferred_ = true;
    return;
  }
  {
    std::lock_guard lock(send_mutex_);
    if (pending_.empty()) {
      write_scheduled_ = false;
    } else {
      writing_.swap(pending_);
      writing_frames_ = pending_frames_;
      pending_frames_ = 0;
    }
  }
  if (writing_.empty()) {
    finish_drain_if_flushed();
    return;
  }
  write_offset_ = 0;
  if (activity_) {
    activity_->last_send = activity_->last_write_progress = clock::now();
    // A write stall deadline may come before whatever the wheel holds.
    if (enabled(options_->write_stall_timeout) &&
        (!is_filed() ||
         activity_->last_write_progress + options_->write_stall_timeout < activity_->due)) {
      file_timeouts();
    }
  }
  write_some();
}

void connection::write_some() {
  write_in_flight_ = true;
  const auto block = writing_.readable().subspan(write_offset_);
  stream_write_some(
      asio::buffer(block.data(), block.size()),
      [self = shared_from_this()](std::error_code ec, std::size_t n) { self->on_written(ec, n); });
}

void connection::on_written(std::error_code ec, std::size_t n) {
  write_in_flight_ = false;
  bytes_out_.fetch_add(n, std::memory_order_relaxed);
  write_offset_ += n;
  if (state_.load() == state::closed) {
    // The close came while this write was out: the socket may well have
    // taken it all, so it is settled here, before on_close sees the counters.
    const bool whole = !ec && write_offset_ >= writing_.size();
    (whole ? frames_out_ : frames_dropped_).fetch_add(writing_frames_, std::memory_order_relaxed);
    writing_frames_ = 0;
    writing_.clear();
    report_close();
    return;
  }
  if (ec) {
    // The socket broke under this batch: none of it counts as sent.
    frames_dropped_.fetch_add(writing_frames_, std::memory_order_relaxed);
    writing_frames_ = 0;
    writing_.clear();
    finish(ec);
    return;
  }
  if (activity_) {
    activity_->last_write_progress = clock::now();
  }
  release_written(n);
  if (write_offset_ < writing_.size()) {
    write_some();
    return;
  }
  frames_out_.fetch_add(writing_frames_, std::memory_order_relaxed);
  writing_frames_ = 0;
  writing_.clear();
  write_pending();
}

// ---------------------------------------------------------------------------
// Stopping

void connection::stop(stop_mode mode, std::chrono::milliseconds deadline) {
  deadline = clamp_wait(enabled(deadline) ? deadline : options_->graceful_stop_timeout);
  requested_deadline_ms_.store(deadline.count());
  stop_requested_.store(true);
  fail_waiters(error::connection_closed);
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
  timeout = clamp_wait(timeout);
  std::unique_lock lock(send_mutex_);
  return blocked_locked().room.wait_for(lock, timeout, [this] { return close_reported_; });
}

void connection::begin_drain(std::error_code reason, std::chrono::milliseconds deadline) {
  if (!opened_) {
    finish(reason ? reason : std::error_code(error::stopped));  // never served: nothing to flush
    return;
  }
  const auto until = clock::now() + deadline;
  if (state_.load() == state::draining && until < deadlines().drain_until) {
    // A later stop with a nearer deadline makes the drain more immediate.
    deadlines().drain_until = until;
    deadlines().timer.expires_at(until);
    arm_drain_timer();
    return;
  }
  if (state_.load() != state::open) {
    return;
  }
  fail_waiters(error::connection_closed);
  state_.store(state::draining);
  deadlines().drain_reason = reason;
  if (throttled()) {
    // Reading was paused by the rate limit; the peer's EOF must be seen.
    rate_->throttled = false;
    read_more();
  }
  deadlines().drain_until = until;
  deadlines().timer.expires_at(until);
  arm_drain_timer();
  finish_drain_if_flushed();
}

void connection::arm_drain_timer() {
  deadlines().timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) {
      // A drain that began with an error keeps it as the reason.
      const auto reason = self->deadlines().drain_reason;
      self->finish(reason ? reason : error::stop_timeout);
    }
  });
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
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  }
  if (peer_eof_) {
    finish(deadlines().drain_reason);
  }
}

void connection::finish(std::error_code reason) {
  if (state_.load() == state::closed) {
    return;
  }
  fail_waiters(error::connection_closed);
  {
    std::lock_guard lock(send_mutex_);
    // What never reached the socket is dropped, and counted as such; a
    // write still out is settled when it completes.
    frames_dropped_.fetch_add(pending_frames_, std::memory_order_relaxed);
    pending_frames_ = 0;
    pending_.clear();
    queued_bytes_ = 0;
  }
  state_.store(state::closed);
  detail::timer_wheel::of(*context_).cancel(*this);
  std::error_code ignored;
  if (deadline_) {
    deadline_->timer.cancel();
  }
  if (rate_) {
    rate_->timer.cancel();
  }
  socket_.close(ignored);
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
      // Never served: it was refused, not closed.
      dispatcher_->on_refused(remote_endpoint_, close_reason_);
      dispatcher_->on_discarded(*this, close_reason_);
    }
  } catch (...) {
    // This is the last callback of this connection; there is nobody left
    // to report a failure to, and the process must go on.
  }
  if (auto startup = std::move(startup_); startup && startup->started) {
    startup->started(close_reason_ ? close_reason_ : std::error_code(error::connection_closed));
  }
  if (close_observer_) {
    close_observer_(*this, close_reason_);
  }
  {
    // Taking the lock orders the closed state before waiters re-check it, so
    // notify_all() cannot slip between their check and their wait.
    std::lock_guard lock(send_mutex_);
    close_reported_ = true;
    notify_senders_locked();
  }
}

// ---------------------------------------------------------------------------
// Timeouts

void connection::file_timeouts() {
  if (!activity_ || state_.load() == state::closed) {
    return;
  }
  auto due = clock::time_point::max();
  const bool open = state_.load() == state::open;
  if (open && enabled(options_->first_frame_timeout) && !first_frame_seen_) {
    due = std::min(due, opened_at_ + options_->first_frame_timeout);
  }
  if (open && enabled(options_->read_idle_timeout)) {
    due = std::min(due, activity_->last_read + options_->read_idle_timeout);
  }
  if (open && enabled(options_->frame_timeout)) {
    due = std::min(due, activity_->last_frame + options_->frame_timeout);
  }
  if (enabled(options_->write_stall_timeout) && !writing_.empty()) {
    due = std::min(due, activity_->last_write_progress + options_->write_stall_timeout);
  }
  if (open && enabled(options_->heartbeat_interval) && !dispatcher_->heartbeat().empty()) {
    due = std::min(due, activity_->last_send + options_->heartbeat_interval);
  }
  auto& wheel = detail::timer_wheel::of(*context_);
  if (due == clock::time_point::max()) {
    wheel.cancel(*this);
    return;
  }
  activity_->due = due;
  wheel.schedule(*this, due);
}

void connection::expired(clock::time_point now) {
  if (state_.load() == state::closed) {
    return;
  }
  const bool open = state_.load() == state::open;
  if (open && enabled(options_->first_frame_timeout) && !first_frame_seen_ &&
      now >= opened_at_ + options_->first_frame_timeout) {
    finish(error::first_frame_timeout);
    return;
  }
  if (open && enabled(options_->read_idle_timeout) &&
      now >= activity_->last_read + options_->read_idle_timeout) {
    finish(error::read_idle_timeout);
    return;
  }
  if (open && enabled(options_->frame_timeout) &&
      now >= activity_->last_frame + options_->frame_timeout) {
    finish(error::frame_timeout);
    return;
  }
  if (enabled(options_->write_stall_timeout) && !writing_.empty() &&
      now >= activity_->last_write_progress + options_->write_stall_timeout) {
    finish(error::write_stall_timeout);
    return;
  }
  // Only an idle queue needs a heartbeat: anything being written is traffic.
  if (open && enabled(options_->heartbeat_interval) && writing_.empty() &&
      now >= activity_->last_send + options_->heartbeat_interval) {
    queue_heartbeat();
    activity_->last_send = now;
  }
  file_timeouts();
}

void connection::queue_heartbeat() {
  const auto beat = dispatcher_->heartbeat();
  bool post_write = false;
  {
    std::lock_guard lock(send_mutex_);
    // Only into an idle queue: anything queued is traffic enough, and a
    // heartbeat must never be refused, counted or turn the queue unwritable.
    if (beat.empty() || !accepting_sends_ || queued_bytes_ != 0) {
      return;
    }
    auto copy = [&](std::uint8_t* out) { std::memcpy(out, beat.data(), beat.size()); };
    post_write = queue_locked(beat.size(), copy);
  }
  if (post_write) {
    schedule_write();
  }
}

}  // namespace wiregen
