#include "wiregen/server.hpp"

#include <asio/ip/address.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <future>
#include <vector>

#include "admin_listener.hpp"
#include "listener.hpp"
#include "memory_budget.hpp"
#include "runtime_log.hpp"
#include "socket_names.hpp"
#include "waits.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

namespace {

// Accept errors that will not go away by retrying at once (out of file
// descriptors, memory, buffers) back off from 5 ms, doubling up to 1 s,
// instead of spinning on the listening socket.
constexpr std::chrono::milliseconds first_accept_backoff{5};
constexpr std::chrono::milliseconds longest_accept_backoff{1000};

// Whether an accept error is about the moment (resources, a connection that
// went away before it was taken, network errors Linux passes on from the new
// socket) rather than the listening socket itself (EBADF, EINVAL after a
// shutdown, ENOTSOCK), which no retry mends.
bool passes(std::error_code ec) {
  if (ec.category() != std::system_category() && ec.category() != asio::system_category()) {
    return true;
  }
  switch (ec.value()) {
    case EBADF:
    case EINVAL:
    case ENOTSOCK:
    case EFAULT:
      return false;
    default:
      return true;
  }
}

}  // namespace

server::server(std::shared_ptr<stream_dispatcher> streams, std::shared_ptr<accept_events> accepts,
               server_options options)
    : streams_(std::move(streams)),
      accepts_(std::move(accepts)),
      options_(std::move(options)),
      log_(detail::log_emitter::make(options_.logger)),
      pool_(options_.io_threads),
      accept_loop_(1),
      connections_(*accepts_, [this] { on_drained(); }) {
  const auto shared_options = connection::share_options(options_.connection);
  const auto budget = options_.memory_budget == 0
                          ? nullptr
                          : std::make_shared<detail::memory_budget>(options_.memory_budget);
  for (const auto& context : pool_.contexts()) {
    // One meter per I/O thread: the message path counts in lines only its
    // own thread writes.
    auto meter = options_.message_metrics || options_.observer
                     ? std::make_shared<detail::message_meter>(
                           streams_->message_table(), message_sender::client, options_.observer)
                     : nullptr;
    homes_.push_back(connection::share_home(
        {context, streams_, shared_options, &connections_, budget, {}, log_, std::move(meter)}));
  }
}

server::~server() {
  {
    // A cancellation running right now finishes before this goes on.
    std::lock_guard lock(listen_mutex_);
    cancellations_.clear();
  }
  stop(stop_mode::immediate);
  if (admin_) {
    // Closed on its loop before the loop stops, so that no request it was
    // reading is answered from a server being destroyed.
    if (accept_loop_.owns_current_thread()) {
      admin_->close();
    } else {
      std::promise<void> closed;
      asio::post(*accept_loop_.first(), [this, &closed] {
        admin_->close();
        closed.set_value();
      });
      closed.get_future().wait();
    }
  }
  accept_loop_.stop();
  pool_.stop();
}

std::error_code server::reload_tls() {
  if (!options_.tls) {
    return error::tls_not_configured;
  }
  return reload_tls(*options_.tls);
}

std::error_code server::reload_tls(const tls_server_options& options) {
  std::shared_ptr<asio::ssl::context> fresh;
  if (auto ec = make_tls_context(options, fresh)) {
    return ec;
  }
  std::lock_guard lock(tls_mutex_);
  tls_context_ = std::move(fresh);
  return {};
}

std::size_t server::connection_count() const {
  return connections_.size();
}

server_metrics server::metrics() const {
  server_metrics figures;
  figures.state = state();
  figures.accepted = accepted_.load(std::memory_order_relaxed);
  connections_.fill(figures);
  for (const auto& home : homes_) {
    if (home->meter && options_.message_metrics) {
      home->meter->add_to(figures.messages, figures.calls);
    }
  }
  return figures;
}

void server::accept_next(detail::listener& from) {
  auto context = pool_.next();
  from.acceptor.async_accept(*context, [this, &from, context](std::error_code ec, stream_socket s) {
    on_accepted(from, ec, std::move(s), context);
  });
}

void server::on_accepted(detail::listener& from, std::error_code ec, stream_socket socket,
                         std::shared_ptr<asio::io_context> context) {
  if (state_.load() != run_state::running || ec == asio::error::operation_aborted) {
    return;
  }
  if (ec) {
    try {
      accepts_->on_accept_error(ec);
    } catch (...) {
      // Reporting must not take the accept loop down.
    }
    if (!passes(ec)) {
      // The listening socket itself is broken: retrying would fail for ever.
      detail::log::listener_closed(log_.get(), ec);
      from.close();
      const bool none_left = std::none_of(listeners_.begin(), listeners_.end(),
                                          [](const auto& l) { return l->acceptor.is_open(); });
      if (none_left) {
        stop(stop_mode::graceful);  // on the accept loop: closes, never waits
      }
      return;
    }
    from.backoff = from.backoff.count() == 0 ? first_accept_backoff
                                             : std::min(from.backoff * 2, longest_accept_backoff);
    detail::log::accept_failed(log_.get(), ec, from.backoff);
    from.retry.expires_after(from.backoff);
    from.retry.async_wait([this, &from](std::error_code wait_ec) {
      if (!wait_ec && state_.load() == run_state::running) {
        accept_next(from);
      }
    });
    return;
  }
  from.backoff = std::chrono::milliseconds(0);
  accept_next(from);  // the next accept is under way while this one is vetted

  std::error_code endpoint_ec;
  const auto peer = socket.remote_endpoint(endpoint_ec);
  if (endpoint_ec) {
    return;  // already gone again
  }
  // A Unix-domain peer has no IP address: events see an unspecified one.
  const auto remote = detail::ip_endpoint(peer).value_or(asio::ip::tcp::endpoint());
  if (!take_accept_token()) {
    refuse(socket, remote, error::accept_rate_exceeded);
    return;
  }
  if (connection_count() >= max_connections_) {
    refuse(socket, remote, error::too_many_connections);
    return;
  }
  if (options_.socket_hook) {
    std::error_code hook_ec;
    try {
      hook_ec = options_.socket_hook(socket);
    } catch (...) {
      hook_ec = error::handler_failed;
    }
    if (hook_ec) {
      refuse(socket, remote, hook_ec);
      return;
    }
  }
  connection_setup setup;
  {
    std::lock_guard lock(tls_mutex_);
    if (tls_context_) {
      setup.tls = detail::tls_setup{tls_context_, true, {}, false};
    }
  }
  if (setup.tls) {
    setup.handshake_slot = take_handshake_slot();
    if (!setup.handshake_slot) {
      refuse(socket, remote, error::too_many_handshakes);
      return;
    }
  }
  setup.trusted_proxies = trusted_proxies_;
  // on_accept and the per-address limit come after the PROXY header, so
  // that they see the client's address rather than the balancer's.
  setup.admit = [this](const connection& candidate) { return admit(candidate); };
  const auto home = std::find_if(homes_.begin(), homes_.end(),
                                 [&](const auto& h) { return h->context == context; });
  auto conn = std::make_shared<connection>(*home, std::move(socket), std::move(setup));
  // A stop() from one of the accept-time events above must not let this one in.
  if (connections_.start(conn)) {
    accepted_.fetch_add(1, std::memory_order_relaxed);
  } else {
    conn.reset();  // its socket closes with it
    connections_.count_refused(error::stopped);
    try {
      accepts_->on_refused(remote, error::stopped);
    } catch (...) {
      // Reporting must not take the accept loop down.
    }
  }
}

void server::refuse(stream_socket& socket, const asio::ip::tcp::endpoint& remote,
                    std::error_code reason) {
  std::error_code ignored;
  socket.close(ignored);
  connections_.count_refused(reason);
  detail::log::refused(log_.get(), remote, reason);
  try {
    accepts_->on_refused(remote, reason);
  } catch (...) {
    // Reporting must not take the accept loop down.
  }
}

std::shared_ptr<void> server::take_handshake_slot() {
  const std::size_t limit = options_.max_tls_handshakes;
  if (tls_handshakes_->fetch_add(1) >= limit && limit != 0) {
    tls_handshakes_->fetch_sub(1);
    return nullptr;
  }
  // Given back when the connection's startup ends, on its own thread.
  return {tls_handshakes_.get(), [count = tls_handshakes_](void*) { count->fetch_sub(1); }};
}

bool server::take_accept_token() {
  return !accept_bucket_ || accept_bucket_->try_take(std::chrono::steady_clock::now());
}

std::error_code server::admit(const connection& conn) {
  if (!accepts_->on_accept(conn.remote_endpoint())) {  // a throw is caught by the connection
    return error::connection_rejected;
  }
  if (state_.load() != run_state::running) {
    return error::stopped;  // on_accept (or anyone) stopped the server meanwhile
  }
  return connections_.admit_address(conn, options_.max_connections_per_address);
}

void server::close_listeners() {
  for (const auto& listening : listeners_) {
    listening->close();
  }
}

std::size_t server::stop(stop_mode mode, std::chrono::milliseconds deadline) {
  const bool on_own_thread = pool_.owns_current_thread() || accept_loop_.owns_current_thread();
  // As good as forever, and no overflow when added to a time.
  deadline = detail::clamp_wait(deadline);
  wait_shutdown_delay(mode, on_own_thread);
  // Held while the first stop() closes the acceptor and stops the
  // connections (quick: it never waits for a connection), so that a
  // concurrent stop() drains only after that. Not on the server's own
  // threads: the accept loop may be what the holder waits for.
  std::unique_lock phase(stop_phase_mutex_, std::defer_lock);
  if (!on_own_thread) {
    phase.lock();
  }
  auto expected = run_state::running;
  if (!state_.compare_exchange_strong(expected, run_state::draining)) {
    if (phase.owns_lock()) {
      phase.unlock();
    }
    if (expected == run_state::idle) {
      // Never listened: a listen() still on its way finds the state and fails.
      auto idle = run_state::idle;
      if (state_.compare_exchange_strong(idle, run_state::stopped)) {
        report_state(server_state::stopped, 0, false);
      }
      return 0;
    }
    if (expected == run_state::draining && mode != stop_mode::graceful && !on_own_thread) {
      stop_waits_.store(true);
      const auto forced =
          drain(mode == stop_mode::immediate ? std::chrono::milliseconds(0) : deadline);
      report_state(server_state::stopped, forced);
      return forced;
    }
    return 0;
  }
  const bool waits = mode != stop_mode::graceful && !on_own_thread;
  stop_waits_.store(waits);
  if (accept_loop_.owns_current_thread()) {
    close_listeners();
  } else {
    // Waiting here makes the port free by the time stop() returns; the
    // accept loop runs no user code but on_accept, so this is quick.
    std::promise<void> closed;
    asio::post(*accept_loop_.first(), [this, &closed] {
      close_listeners();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  const auto open = connections_.begin_stop();
  for (const auto& conn : open) {
    conn->stop(mode == stop_mode::immediate ? stop_mode::immediate : stop_mode::graceful, deadline);
  }
  if (phase.owns_lock()) {
    phase.unlock();
  }
  report_state(server_state::draining);
  if (!waits) {
    return 0;
  }
  std::size_t forced = 0;
  if (mode == stop_mode::immediate) {
    drain(std::chrono::milliseconds(0));
    forced = open.size();  // all of them were forced, by request
  } else {
    // Each connection forces itself at the deadline, with stop_timeout as
    // the reason; the short extra wait lets those closes land before sweeping.
    forced = drain(deadline + std::chrono::milliseconds(50));
  }
  report_state(server_state::stopped, forced);
  return forced;
}

void server::wait_shutdown_delay(stop_mode mode, bool on_own_thread) {
  if (mode != stop_mode::graceful_wait || on_own_thread || options_.shutdown_delay.count() <= 0 ||
      state_.load() != run_state::running || shutting_down_.exchange(true)) {
    // A stop that does not delay (another mode, none asked for, nothing to
    // delay, or a second stop()) ends a delay in progress.
    std::lock_guard lock(delay_mutex_);
    delay_cut_short_ = true;
    delay_over_.notify_all();
    return;
  }
  // Serving on while /readyz says 503, until the balancer stops sending.
  std::unique_lock lock(delay_mutex_);
  delay_over_.wait_for(lock, detail::clamp_wait(options_.shutdown_delay),
                       [this] { return delay_cut_short_; });
}

std::size_t server::drain(std::chrono::milliseconds deadline) {
  connections_.wait_empty(deadline);
  const auto late = connections_.snapshot();
  for (const auto& conn : late) {
    conn->stop(stop_mode::immediate);
  }
  // An immediate stop only posts the close to each connection's loop, so
  // this wait is short, unless a handler holds that loop: such a connection
  // closes when the handler returns, after stop() did.
  connections_.wait_empty(std::chrono::seconds(1));
  state_.store(run_state::stopped);
  return late.size() + connections_.take_timed_out();
}

void server::on_drained() {
  state_.store(run_state::stopped);
  // This runs under the connection manager's lock, where the handler may
  // not be called: the accept loop tells it, unless a stop() waiting to
  // drain tells it with its own figures.
  asio::post(*accept_loop_.first(), [this] {
    if (!stop_waits_.load()) {
      report_state(server_state::stopped, connections_.timed_out());
    }
  });
}

void server::report_state(server_state reached, std::size_t forced, bool was_running) {
  std::lock_guard lock(report_mutex_);
  while (reported_ < reached) {
    reported_ = was_running ? static_cast<server_state>(static_cast<int>(reported_) + 1) : reached;
    server_counts counts;
    counts.open_connections = connections_.size();
    counts.accepted = accepted_.load(std::memory_order_relaxed);
    if (reported_ == server_state::running) {
      std::lock_guard names(names_mutex_);
      counts.listeners = local_addresses_.size();
    }
    if (reported_ == server_state::stopped) {
      counts.forced = forced;
    }
    detail::log::server_changed(log_.get(), reported_, counts);
    try {
      accepts_->on_server_state(reported_, counts);
    } catch (...) {
      // Reporting must not take the server down.
    }
  }
}

}  // namespace wiregen
