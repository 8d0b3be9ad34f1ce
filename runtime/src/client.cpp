#include "wiregen/client.hpp"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <cmath>
#include <future>
#include <utility>
#include <vector>

#include "runtime_log.hpp"
#include "socket_names.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

namespace {

// The state of one dial attempt, shared by the resolve, connect and timer
// handlers; whichever finishes first completes it.
struct dial_attempt {
  dial_attempt(asio::io_context& context, std::chrono::milliseconds timeout,
               std::function<void(std::error_code, stream_socket)> done)
      : resolver(context), socket(context), timer(context), done(std::move(done)) {
    timer.expires_after(timeout);
  }

  void complete(std::error_code ec) {
    if (finished) {
      return;
    }
    finished = true;
    timer.cancel();
    resolver.cancel();
    if (ec) {
      std::error_code ignored;
      socket.close(ignored);
    }
    done(ec, std::move(socket));
  }

  asio::ip::tcp::resolver resolver;
  stream_socket socket;
  asio::steady_timer timer;
  std::function<void(std::error_code, stream_socket)> done;
  bool finished = false;
};

}  // namespace

// One connect() or one reconnect: its attempts, and the backoff between
// them on one timer.
struct client::dial_chain {
  explicit dial_chain(asio::io_context& context) : timer(context) {}

  asio::steady_timer timer;
  std::weak_ptr<dial_attempt> attempt;
  std::error_code cancelled;  // why the chain was cut short, if it was
};

client::client(std::shared_ptr<stream_dispatcher> streams, std::shared_ptr<dial_events> dials,
               client_options options)
    : streams_(std::move(streams)),
      dials_(std::move(dials)),
      options_(std::move(options)),
      log_(detail::log_emitter::make(options_.logger)),
      meter_(options_.message_metrics || options_.observer
                 ? std::make_shared<detail::message_meter>(
                       streams_->message_table(), message_sender::server, options_.observer)
                 : nullptr),
      pool_(1),
      random_(std::random_device{}()) {
  options_.retry.attempts = std::max(1u, options_.retry.attempts);
}

void client::count_sent(std::uint32_t message_id, std::size_t size, const frame_meta& meta) const {
  if (meter_) {
    const auto current = connection();
    meter_->sent(current ? current->id() : 0, message_id, size, meta);
  }
}

client_metrics client::metrics() const {
  client_metrics figures;
  if (meter_ && options_.message_metrics) {
    meter_->add_to(figures.messages, figures.calls);
  }
  return figures;
}

client::~client() {
  stop(stop_mode::immediate);
  pool_.stop();
}

std::error_code client::connect(std::string_view host, std::uint16_t port) {
  return connect(socket_address::tcp(std::string(host), port));
}

std::error_code client::connect(const socket_address& address, std::stop_token cancel) {
  if (stopping_.load()) {
    return error::stopped;
  }
  if (pool_.owns_current_thread()) {
    // It would wait for its own thread: connect from outside the handlers.
    return std::make_error_code(std::errc::resource_deadlock_would_occur);
  }
  if (cancel.stop_requested()) {
    return asio::error::operation_aborted;
  }
  std::shared_ptr<asio::ssl::context> tls_context;
  if (options_.tls && address.is_unix() && options_.tls->server_name.empty() &&
      !options_.tls->insecure_skip_verify) {
    return error::missing_server_name;  // else nothing would be verified but the chain
  }
  if (options_.tls) {
    if (auto ec = make_tls_context(*options_.tls, tls_context)) {
      return ec;
    }
  }
  std::promise<std::error_code> outcome;
  auto answer = outcome.get_future();
  // Shared with the cancellation, which may come while the chain runs.
  auto chain_slot = std::make_shared<std::weak_ptr<dial_chain>>();
  asio::post(*pool_.first(), [this, &outcome, address, chain_slot,
                              tls_context = std::move(tls_context)]() mutable {
    target_ = address;
    tls_context_ = std::move(tls_context);
    auto chain = start_chain();
    *chain_slot = chain;
    dial(1, options_.retry.attempts, chain, [this, &outcome](std::error_code ec, stream_socket s) {
      // The caller wakes once on_connected has run, or with what
      // refused the connection (a failed TLS handshake, say).
      auto report = [&outcome](std::error_code result) { outcome.set_value(result); };
      if (ec) {
        report(ec);
      } else if (!attach(std::move(s), report)) {
        report(error::stopped);
      }
    });
  });
  std::stop_callback on_cancel(cancel, [this, chain_slot] {
    asio::post(*pool_.first(), [chain_slot] {
      if (auto chain = chain_slot->lock()) {
        cancel_chain(*chain, asio::error::operation_aborted);
      }
    });
  });
  return answer.get();
}

void client::dial(unsigned attempt, unsigned attempts, std::shared_ptr<dial_chain> chain,
                  dial_done done) {
  if (stopping_.load() || chain->cancelled) {
    done(chain->cancelled ? chain->cancelled : std::error_code(error::stopped),
         stream_socket(*pool_.first()));
    return;
  }
  auto& current = *chain;
  dial_once(current, [this, attempt, attempts, chain = std::move(chain), done = std::move(done)](
                         std::error_code ec, stream_socket s) mutable {
    if (!ec) {
      detail::log::connected(log_.get(), target_);
      done(ec, std::move(s));
      return;
    }
    if (chain->cancelled) {
      done(chain->cancelled, std::move(s));
      return;
    }
    const bool last = stopping_.load() || (attempts != 0 && attempt >= attempts);
    const auto retry_after = last ? std::chrono::milliseconds(0) : backoff(attempt);
    detail::log::dial_failed(log_.get(), target_, ec, attempt, retry_after);
    try {
      dials_->on_connect_failed(ec);
    } catch (...) {
      // A failing report must not stop the redialing.
    }
    if (last) {
      done(stopping_.load() ? std::error_code(error::stopped) : ec, std::move(s));
      return;
    }
    chain->timer.expires_after(retry_after);
    auto& timer = chain->timer;
    timer.async_wait([this, attempt, attempts, chain = std::move(chain),
                      done = std::move(done)](std::error_code) mutable {
      // Woken early only by a stop or a cancellation, which dial() notices.
      dial(attempt + 1, attempts, std::move(chain), std::move(done));
    });
  });
}

void client::dial_once(dial_chain& chain, dial_done done) {
  auto attempt =
      std::make_shared<dial_attempt>(*pool_.first(), options_.connect_timeout, std::move(done));
  chain.attempt = attempt;
  attempt->timer.async_wait([attempt](std::error_code ec) {
    if (!ec) {
      attempt->complete(error::connect_timeout);
    }
  });
  if (target_.is_unix()) {
    attempt->socket.async_connect(detail::unix_endpoint(target_),
                                  [attempt](std::error_code ec) { attempt->complete(ec); });
    return;
  }
  attempt->resolver.async_resolve(
      target_.host, std::to_string(target_.port),
      [attempt](std::error_code ec, const asio::ip::tcp::resolver::results_type& results) {
        if (ec || attempt->finished) {
          attempt->complete(ec);
          return;
        }
        // Tried in the resolver's order; the socket is generic, so it
        // takes generic endpoints.
        std::vector<asio::generic::stream_protocol::endpoint> endpoints;
        for (const auto& entry : results) {
          endpoints.emplace_back(entry.endpoint());
        }
        asio::async_connect(
            attempt->socket, endpoints,
            [attempt](std::error_code connect_ec, const auto&) { attempt->complete(connect_ec); });
      });
}

std::shared_ptr<client::dial_chain> client::start_chain() {
  // A chain that ended left an expired entry.
  std::erase_if(chains_, [](const auto& weak) { return weak.expired(); });
  auto chain = std::make_shared<dial_chain>(*pool_.first());
  chains_.push_back(chain);
  return chain;
}

void client::cancel_chain(dial_chain& chain, std::error_code reason) {
  if (!chain.cancelled) {
    chain.cancelled = reason;
  }
  chain.timer.cancel();
  if (auto attempt = chain.attempt.lock()) {
    attempt->complete(reason);
  }
}

std::chrono::milliseconds client::backoff(unsigned attempt) {
  const auto& retry = options_.retry;
  const double base = static_cast<double>(retry.initial_backoff.count()) *
                      std::pow(retry.multiplier, static_cast<double>(attempt - 1));
  const double capped = std::min(base, static_cast<double>(retry.max_backoff.count()));
  // Jitter spreads the redials of many clients that lost the same server.
  std::uniform_real_distribution<double> spread(-retry.jitter, retry.jitter);
  return std::chrono::milliseconds(
      static_cast<long long>(std::max(0.0, capped * (1 + spread(random_)))));
}

bool client::attach(stream_socket socket, std::function<void(std::error_code)> started) {
  connection_setup setup;
  if (tls_context_) {
    const auto& tls = *options_.tls;
    setup.tls = detail::tls_setup{tls_context_, false,
                                  tls.server_name.empty() ? target_.host : tls.server_name,
                                  !tls.insecure_skip_verify};
  }
  if (!home_) {
    home_ = connection::share_home({pool_.first(),
                                    streams_,
                                    connection::share_options(options_.connection),
                                    &observer_,
                                    nullptr,
                                    {},
                                    log_,
                                    meter_});
  }
  auto conn = std::make_shared<wiregen::connection>(home_, std::move(socket), std::move(setup));
  if (started) {
    dialed_by_connect_ = conn->id();
  }
  std::shared_ptr<wiregen::connection> previous;
  {
    // Under the lock stop() takes: either stop() comes first and this
    // connection is never used, or it comes after and stops it.
    std::lock_guard lock(mutex_);
    if (stopping_.load()) {
      return false;  // dialed while stop() ran: not wanted any more
    }
    previous = std::exchange(connection_, conn);
    if (!backlog_.empty()) {
      // The queue is empty, so the backlog fits whatever its size; it is
      // sent before anything on_connected sends.
      (void)conn->write_frames(backlog_.readable(), backlog_frames_);
      backlog_.clear();
      backlog_frames_ = 0;
    }
    conn->start(std::move(started));  // only posts: on_open runs before a later stop()
  }
  if (previous) {
    previous->stop(stop_mode::immediate);  // a second connect() replaces the first
  }
  return true;
}

void client::on_lost(wiregen::connection& lost, std::error_code reason) {
  const bool from_connect = lost.id() == dialed_by_connect_;
  // A connection connect() made and that was never served is connect()'s
  // failure to report, not one to retry for ever.
  if (!options_.auto_reconnect || stopping_.load() || (from_connect && !lost.was_opened())) {
    return;
  }
  {
    // Only the current connection is worth redialing: one replaced by a
    // newer connect() was closed on purpose.
    std::lock_guard lock(mutex_);
    if (connection_.get() != &lost) {
      return;
    }
  }
  // A connection that was refused in its handshake, or closed soon after
  // opening (a server refusing by policy, or one that sends a banner and
  // closes), must not turn into a tight redial loop: such losses back off
  // like failed dials. Frames received do not make a connection stable.
  const bool lasted =
      lost.was_opened() && std::chrono::steady_clock::now() - lost.opened_at() >= stable_after;
  if (!lost.was_opened()) {
    try {
      dials_->on_connect_failed(reason);
    } catch (...) {
      // Reporting must not stop the redialing.
    }
  }
  redial_streak_ = lasted ? 0 : redial_streak_ + 1;
  auto chain = start_chain();
  auto redial = [this, chain] {
    dial(1, 0, chain, [this](std::error_code ec, stream_socket s) {
      if (!ec) {
        attach(std::move(s), {});
      }
    });
  };
  const auto after = redial_streak_ == 0 ? std::chrono::milliseconds(0) : backoff(redial_streak_);
  detail::log::redial(log_.get(), target_, after, reason);
  if (redial_streak_ == 0) {
    redial();
    return;
  }
  chain->timer.expires_after(after);
  chain->timer.async_wait([redial](std::error_code) { redial(); });  // dial() notices a stop()
}

std::shared_ptr<connection> client::connection() const {
  std::lock_guard lock(mutex_);
  return connection_;
}

bool client::is_connected() const {
  std::lock_guard lock(mutex_);
  return connection_ && connection_->is_open();
}

std::size_t client::backlog_bytes() const {
  std::lock_guard lock(mutex_);
  return backlog_.size();
}

void client::stop(stop_mode mode, std::chrono::milliseconds deadline) {
  std::shared_ptr<wiregen::connection> conn;
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    conn = connection_;
    backlog_.clear();
    backlog_frames_ = 0;
  }
  asio::post(*pool_.first(), [this] {
    for (const auto& weak : chains_) {
      if (auto chain = weak.lock()) {
        cancel_chain(*chain, error::stopped);
      }
    }
    chains_.clear();
  });
  if (conn) {
    conn->stop(mode, deadline);
  }
}

}  // namespace wiregen
