#include "wiregen/server.hpp"

#include <asio/ip/address.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <future>
#include <vector>

namespace wiregen {

namespace {

// Accept errors that will not go away by retrying at once (out of file
// descriptors, memory, buffers) back off from 5 ms, doubling up to 1 s,
// instead of spinning on the listening socket.
constexpr std::chrono::milliseconds first_accept_backoff{5};
constexpr std::chrono::milliseconds longest_accept_backoff{1000};

}  // namespace

server::server(std::shared_ptr<dispatcher> dispatcher, server_options options)
    : dispatcher_(std::move(dispatcher)),
      options_(options),
      pool_(options.io_threads),
      acceptor_(*pool_.first()),
      accept_retry_(*pool_.first()) {}

server::~server() {
  stop(stop_mode::immediate);
}

std::error_code server::listen(std::string_view host, std::uint16_t port) {
  std::promise<std::error_code> done;
  // The acceptor belongs to the first loop; touching it there keeps it
  // single-threaded without a lock.
  asio::post(*pool_.first(), [&] {
    std::error_code ec;
    asio::ip::tcp::resolver resolver(*pool_.first());
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
      acceptor_.bind(entry.endpoint(), ec);
      if (!ec) {
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      }
      if (!ec) {
        break;
      }
    }
    if (ec) {
      acceptor_.close();
      done.set_value(ec);
      return;
    }
    port_ = acceptor_.local_endpoint().port();
    state_.store(run_state::running);
    accept_next();
    done.set_value({});
  });
  return done.get_future().get();
}

std::size_t server::connection_count() const {
  std::lock_guard lock(connections_mutex_);
  return connections_.size();
}

void server::accept_next() {
  auto context = pool_.next();
  acceptor_.async_accept(*context, [this, context](std::error_code ec, asio::ip::tcp::socket s) {
    on_accepted(ec, std::move(s), context);
  });
}

void server::on_accepted(std::error_code ec, asio::ip::tcp::socket socket,
                         std::shared_ptr<asio::io_context> context) {
  if (state_.load() != run_state::running || ec == asio::error::operation_aborted) {
    return;
  }
  if (ec) {
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
  auto conn = std::make_shared<connection>(std::move(context), std::move(socket), dispatcher_,
                                           options_.connection);
  conn->set_close_observer([this](connection& closed) { forget(closed); });
  {
    std::lock_guard lock(connections_mutex_);
    connections_.emplace(conn->id(), conn);
  }
  conn->start();
  accept_next();
}

void server::forget(connection& conn) {
  {
    std::lock_guard lock(connections_mutex_);
    connections_.erase(conn.id());
  }
  connections_cv_.notify_all();
}

std::size_t server::stop(stop_mode mode, std::chrono::milliseconds deadline) {
  auto expected = run_state::running;
  if (state_.compare_exchange_strong(expected, run_state::draining)) {
    std::promise<void> closed;
    asio::post(*pool_.first(), [this, &closed] {
      std::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
      closed.set_value();
    });
    closed.get_future().wait();
    std::vector<std::shared_ptr<connection>> open;
    {
      std::lock_guard lock(connections_mutex_);
      for (const auto& [id, conn] : connections_) {
        open.push_back(conn);
      }
    }
    for (const auto& conn : open) {
      conn->stop(mode == stop_mode::immediate ? stop_mode::immediate : stop_mode::graceful);
    }
    if (mode == stop_mode::graceful) {
      return 0;
    }
  } else if (expected != run_state::draining) {
    if (expected == run_state::idle) {
      state_.store(run_state::stopped);
      pool_.stop();
    }
    return 0;
  }
  const std::size_t forced =
      drain(mode == stop_mode::immediate ? std::chrono::milliseconds(0) : deadline);
  pool_.stop();
  state_.store(run_state::stopped);
  return forced;
}

std::size_t server::drain(std::chrono::milliseconds deadline) {
  std::unique_lock lock(connections_mutex_);
  connections_cv_.wait_for(lock, deadline, [this] { return connections_.empty(); });
  std::vector<std::shared_ptr<connection>> late;
  for (const auto& [id, conn] : connections_) {
    late.push_back(conn);
  }
  lock.unlock();
  for (const auto& conn : late) {
    conn->stop(stop_mode::immediate);
  }
  lock.lock();
  // An immediate stop only posts the close to each connection's loop; those
  // loops are running, so this wait is short.
  connections_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return connections_.empty(); });
  return late.size();
}

}  // namespace wiregen
