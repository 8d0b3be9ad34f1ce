#include "wiregen/server.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <cstdint>
#include <future>
#include <vector>

#include "memory_budget.hpp"
#include "waits.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

namespace {

// Accept errors that will not go away by retrying at once (out of file
// descriptors, memory, buffers) back off from 5 ms, doubling up to 1 s,
// instead of spinning on the listening socket.
constexpr std::chrono::milliseconds first_accept_backoff{5};
constexpr std::chrono::milliseconds longest_accept_backoff{1000};

std::error_code set_reuse_port(asio::ip::tcp::acceptor& acceptor) {
  const int on = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    return {errno, std::system_category()};
  }
  return {};
}

// Descriptors kept back from connections: listening sockets, files, logs,
// and each I/O thread's epoll and wake-up descriptors.
constexpr std::size_t reserved_descriptors = 64;
constexpr std::size_t reserved_per_io_thread = 4;

std::size_t connections_the_descriptors_allow(std::size_t io_threads) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return SIZE_MAX;
  }
  const std::size_t reserve = reserved_descriptors + reserved_per_io_thread * io_threads;
  const auto soft = static_cast<std::size_t>(limit.rlim_cur);
  return soft > reserve ? soft - reserve : 1;
}

}  // namespace

server::server(std::shared_ptr<stream_dispatcher> streams, std::shared_ptr<accept_events> accepts,
               server_options options)
    : streams_(std::move(streams)),
      accepts_(std::move(accepts)),
      options_(std::move(options)),
      pool_(options_.io_threads),
      accept_loop_(1),
      acceptor_(*accept_loop_.first()),
      accept_retry_(*accept_loop_.first()),
      connections_(*accepts_, [this] { state_.store(run_state::stopped); }) {
  const auto shared_options = connection::share_options(options_.connection);
  const auto budget = options_.memory_budget == 0
                          ? nullptr
                          : std::make_shared<detail::memory_budget>(options_.memory_budget);
  for (const auto& context : pool_.contexts()) {
    homes_.push_back(
        connection::share_home({context, streams_, shared_options, &connections_, budget}));
  }
}

server::~server() {
  stop(stop_mode::immediate);
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

std::error_code server::listen(std::string_view host, std::uint16_t port) {
  // Configuration first: a server that cannot do what it was asked to does
  // not take the port.
  if (options_.tls) {
    if (auto ec = reload_tls(*options_.tls)) {
      return ec;
    }
  }
  if (options_.proxy_protocol.enabled) {
    auto networks = std::make_shared<std::vector<proxy_protocol::network>>();
    std::string bad_entry;
    if (options_.proxy_protocol.trusted_proxies.empty()) {
      return error::untrusted_proxy;  // nobody would be trusted to send the header
    }
    if (auto ec = proxy_protocol::parse_networks(options_.proxy_protocol.trusted_proxies, *networks,
                                                 bad_entry)) {
      return ec;
    }
    trusted_proxies_ = std::move(networks);
  }
  if (options_.accept_rate > 0) {
    accept_bucket_.emplace(options_.accept_rate, options_.accept_burst,
                           std::chrono::steady_clock::now());
  }
  max_connections_ = options_.max_connections != 0
                         ? options_.max_connections
                         : connections_the_descriptors_allow(pool_.contexts().size());
  if (pool_.owns_current_thread() || accept_loop_.owns_current_thread()) {
    // It would wait for its own thread: listen from outside the server.
    return std::make_error_code(std::errc::resource_deadlock_would_occur);
  }
  std::promise<std::error_code> done;
  // The acceptor belongs to the accept loop; touching it there keeps it
  // single-threaded without a lock.
  asio::post(*accept_loop_.first(), [&] {
    if (state_.load() != run_state::idle) {
      done.set_value(error::stopped);  // stopped (or listening) already
      return;
    }
    std::error_code ec;
    asio::ip::tcp::resolver resolver(*accept_loop_.first());
    const auto results =
        resolver.resolve(host, std::to_string(port), asio::ip::tcp::resolver::passive, ec);
    if (ec) {
      done.set_value(ec);
      return;
    }
    for (const auto& entry : results) {
      acceptor_.close(ec);
      acceptor_.open(entry.endpoint().protocol(), ec);
      if (ec) {
        continue;
      }
      acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
      if (options_.reuse_port) {
        ec = set_reuse_port(acceptor_);
        if (ec) {
          continue;
        }
      }
      acceptor_.bind(entry.endpoint(), ec);
      if (!ec) {
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      }
      if (!ec) {
        break;
      }
    }
    if (ec) {
      std::error_code ignored;
      acceptor_.close(ignored);
      done.set_value(ec);
      return;
    }
    auto expected = run_state::idle;
    if (!state_.compare_exchange_strong(expected, run_state::running)) {
      std::error_code ignored;
      acceptor_.close(ignored);
      done.set_value(error::stopped);  // a stop() came in meanwhile
      return;
    }
    port_.store(acceptor_.local_endpoint().port());
    accept_next();
    done.set_value({});
  });
  return done.get_future().get();
}

std::size_t server::connection_count() const {
  return connections_.size();
}

void server::accept_next() {
  auto context = pool_.next();
  acceptor_.async_accept(*context, [this, context](std::error_code ec, tcp_socket s) {
    on_accepted(ec, std::move(s), context);
  });
}

void server::on_accepted(std::error_code ec, tcp_socket socket,
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
    accept_backoff_ = accept_backoff_.count() == 0
                          ? first_accept_backoff
                          : std::min(accept_backoff_ * 2, longest_accept_backoff);
    accept_retry_.expires_after(accept_backoff_);
    accept_retry_.async_wait([this](std::error_code wait_ec) {
      if (!wait_ec && state_.load() == run_state::running) {
        accept_next();
      }
    });
    return;
  }
  accept_backoff_ = std::chrono::milliseconds(0);
  accept_next();  // the next accept is under way while this one is vetted

  std::error_code endpoint_ec;
  const auto remote = socket.remote_endpoint(endpoint_ec);
  if (endpoint_ec) {
    return;  // already gone again
  }
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
  if (!connections_.start(conn)) {
    conn.reset();  // its socket closes with it
    try {
      accepts_->on_refused(remote, error::stopped);
    } catch (...) {
      // Reporting must not take the accept loop down.
    }
  }
}

void server::refuse(tcp_socket& socket, const asio::ip::tcp::endpoint& remote,
                    std::error_code reason) {
  std::error_code ignored;
  socket.close(ignored);
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

void server::close_acceptor() {
  std::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
}

std::size_t server::stop(stop_mode mode, std::chrono::milliseconds deadline) {
  const bool on_own_thread = pool_.owns_current_thread() || accept_loop_.owns_current_thread();
  // As good as forever, and no overflow when added to a time.
  deadline = detail::clamp_wait(deadline);
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
      state_.compare_exchange_strong(idle, run_state::stopped);
      return 0;
    }
    if (expected == run_state::draining && mode != stop_mode::graceful && !on_own_thread) {
      return drain(mode == stop_mode::immediate ? std::chrono::milliseconds(0) : deadline);
    }
    return 0;
  }
  if (accept_loop_.owns_current_thread()) {
    close_acceptor();
  } else {
    // Waiting here makes the port free by the time stop() returns; the
    // accept loop runs no user code but on_accept, so this is quick.
    std::promise<void> closed;
    asio::post(*accept_loop_.first(), [this, &closed] {
      close_acceptor();
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
  if (mode == stop_mode::graceful || on_own_thread) {
    return 0;
  }
  if (mode == stop_mode::immediate) {
    drain(std::chrono::milliseconds(0));
    return open.size();  // all of them were forced, by request
  }
  // Each connection forces itself at the deadline, with stop_timeout as the
  // reason; the short extra wait lets those closes land before sweeping.
  return drain(deadline + std::chrono::milliseconds(50));
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

}  // namespace wiregen
