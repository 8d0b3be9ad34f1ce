// How a server comes to listen: on TCP or Unix-domain addresses it binds,
// on descriptors it is handed, on sockets systemd passed. Accepting and
// stopping are in server.cpp.
#include <sys/resource.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <charconv>
#include <cstdlib>
#include <future>
#include <string>

#include "admin_listener.hpp"
#include "listener.hpp"
#include "runtime_log.hpp"
#include "socket_names.hpp"
#include "wiregen/error.hpp"
#include "wiregen/server.hpp"

namespace wiregen {

namespace {

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

// sd_listen_fds(3): the first passed descriptor is 3.
constexpr int first_passed_descriptor = 3;

bool read_number(const char* text, long& out) {
  if (text == nullptr) {
    return false;
  }
  const std::string_view digits(text);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

}  // namespace

std::error_code server::configure() {
  if (configured_) {
    return {};
  }
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
  configured_ = true;
  return {};
}

std::error_code server::listen(std::string_view host, std::uint16_t port) {
  return listen(socket_address::tcp(std::string(host), port));
}

std::error_code server::listen(const socket_address& address, std::stop_token cancel) {
  std::vector<asio::ip::tcp::endpoint> candidates;
  if (!address.is_unix()) {
    if (pool_.owns_current_thread() || accept_loop_.owns_current_thread()) {
      return std::make_error_code(std::errc::resource_deadlock_would_occur);
    }
    if (auto ec = resolve(address, cancel, candidates)) {
      return report_listen_error(address, ec);
    }
  }
  auto ec = add_listeners(
      [&](listener_list& made) {
        auto fresh = std::make_unique<detail::listener>(*accept_loop_.first());
        if (address.is_unix()) {
          if (auto open_ec = fresh->open_unix(address, options_.unix_socket)) {
            return open_ec;
          }
          made.push_back(std::move(fresh));
          return std::error_code();
        }
        std::error_code open_ec;
        for (const auto& candidate : candidates) {
          open_ec = fresh->open_tcp(candidate, options_.reuse_port);
          if (!open_ec) {
            made.push_back(std::move(fresh));
            break;
          }
        }
        return open_ec;
      },
      cancel);
  if (ec) {
    return report_listen_error(address, ec);
  }
  if (cancel.stop_possible()) {
    std::lock_guard lock(listen_mutex_);
    // Requested already, this stops the server right here.
    cancellations_.push_back(std::make_unique<std::stop_callback<std::function<void()>>>(
        cancel, std::function<void()>([this] { stop(stop_mode::graceful); })));
  }
  return {};
}

std::error_code server::listen_on(int descriptor) {
  return add_listeners(
      [&](listener_list& made) {
        auto fresh = std::make_unique<detail::listener>(*accept_loop_.first());
        if (auto ec = fresh->adopt(descriptor)) {
          return ec;
        }
        made.push_back(std::move(fresh));
        return std::error_code();
      },
      {});
}

std::error_code server::listen_systemd() {
  long pid = 0;
  long count = 0;
  if (!read_number(std::getenv("LISTEN_PID"), pid) || pid != ::getpid() ||
      !read_number(std::getenv("LISTEN_FDS"), count) || count <= 0) {
    return error::no_inherited_sockets;
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return add_listeners(
      [&](listener_list& made) {
        for (long i = 0; i < count; ++i) {
          auto fresh = std::make_unique<detail::listener>(*accept_loop_.first());
          if (auto ec = fresh->adopt(first_passed_descriptor + static_cast<int>(i))) {
            return ec;
          }
          made.push_back(std::move(fresh));
        }
        return std::error_code();
      },
      {});
}

std::error_code server::resolve(const socket_address& address, const std::stop_token& cancel,
                                std::vector<asio::ip::tcp::endpoint>& out) {
  if (cancel.stop_requested()) {
    return asio::error::operation_aborted;
  }
  // Resolved on the accept loop, so that a cancellation can cut a slow
  // lookup short: the caller returns at once, the lookup's answer is dropped.
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(*accept_loop_.first());
  auto outcome = std::make_shared<std::promise<std::error_code>>();
  auto answer = outcome->get_future();
  auto found = std::make_shared<std::vector<asio::ip::tcp::endpoint>>();
  asio::post(*accept_loop_.first(), [resolver, outcome, found, address] {
    resolver->async_resolve(
        address.host, std::to_string(address.port), asio::ip::tcp::resolver::passive,
        [resolver, outcome, found](std::error_code ec,
                                   const asio::ip::tcp::resolver::results_type& results) {
          for (const auto& entry : results) {
            found->push_back(entry.endpoint());
          }
          outcome->set_value(ec);
        });
  });
  std::stop_callback on_cancel(cancel, [this, resolver] {
    asio::post(*accept_loop_.first(), [resolver] { resolver->cancel(); });
  });
  const auto ec = answer.get();
  if (ec) {
    return cancel.stop_requested() ? std::error_code(asio::error::operation_aborted) : ec;
  }
  out = *found;
  return {};
}

std::error_code server::add_listeners(const std::function<std::error_code(listener_list&)>& open,
                                      const std::stop_token& cancel) {
  std::unique_lock serial(listen_mutex_);
  if (auto ec = configure()) {
    return ec;
  }
  if (pool_.owns_current_thread() || accept_loop_.owns_current_thread()) {
    // It would wait for its own thread: listen from outside the server.
    return std::make_error_code(std::errc::resource_deadlock_would_occur);
  }
  std::promise<std::error_code> done;
  std::size_t first_new = 0;
  std::size_t last_new = 0;
  // Listeners belong to the accept loop; touching them there keeps them
  // single-threaded without a lock.
  asio::post(*accept_loop_.first(), [&] {
    const auto state = state_.load();
    if (state != run_state::idle && state != run_state::running) {
      done.set_value(error::stopped);
      return;
    }
    if (cancel.stop_requested()) {
      done.set_value(asio::error::operation_aborted);
      return;
    }
    listener_list made;
    if (auto ec = open(made)) {
      done.set_value(ec);  // what it made closes with it
      return;
    }
    if (options_.admin && !admin_) {
      auto admin = std::make_unique<detail::admin_listener>(*accept_loop_.first(), *this);
      if (auto ec = admin->open(*options_.admin)) {
        done.set_value(ec);
        return;
      }
      std::lock_guard names(names_mutex_);
      admin_ = std::move(admin);
    }
    auto expected = run_state::idle;
    if (!state_.compare_exchange_strong(expected, run_state::running) &&
        expected != run_state::running) {
      done.set_value(error::stopped);  // a stop() came in meanwhile
      return;
    }
    {
      std::lock_guard names(names_mutex_);
      for (const auto& fresh : made) {
        local_addresses_.push_back(fresh->name());
        if (port_.load() == 0 && !fresh->name().is_unix()) {
          port_.store(fresh->name().port);
        }
      }
    }
    first_new = listeners_.size();
    for (auto& fresh : made) {
      detail::log::listening(log_.get(), fresh->name());
      listeners_.push_back(std::move(fresh));
    }
    last_new = listeners_.size();
    done.set_value({});
  });
  const auto ec = done.get_future().get();
  if (ec) {
    return ec;
  }
  serial.unlock();  // the handler may listen again from the event
  // The handler hears "running" before the first connection it accepts.
  report_state(server_state::running);
  asio::post(*accept_loop_.first(), [this, first_new, last_new] {
    for (auto i = first_new; i < last_new && state_.load() == run_state::running; ++i) {
      accept_next(*listeners_[i]);
    }
  });
  return ec;
}

std::error_code server::report_listen_error(const socket_address& address, std::error_code ec) {
  detail::log::listen_failed(log_.get(), address, ec);
  try {
    accepts_->on_listen_error(address, ec);
  } catch (...) {
    // The caller hears of it from the return value either way.
  }
  return ec;
}

std::vector<socket_address> server::local_addresses() const {
  std::lock_guard lock(names_mutex_);
  return local_addresses_;
}

std::optional<socket_address> server::admin_address() const {
  std::lock_guard names(names_mutex_);
  if (!admin_) {
    return std::nullopt;
  }
  return admin_->name();
}

}  // namespace wiregen
