#include "wiregen/datagram_endpoint.hpp"

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <exception>
#include <string>

#include "source_rate_limit.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

datagram_endpoint::datagram_endpoint(std::shared_ptr<datagram_dispatcher> dispatcher,
                                     datagram_options options)
    : dispatcher_(std::move(dispatcher)),
      options_(options),
      context_(std::make_shared<asio::io_context>(1)),
      // One byte more than the largest datagram: a datagram that fills it
      // was larger than allowed, and the kernel cut it.
      buffer_(options.max_datagram_size + 1) {
  if (options.rate_per_source > 0) {
    sources_ = std::make_unique<detail::source_rate_limit>(
        options.rate_per_source, options.burst_per_source, options.max_tracked_sources);
  }
}

datagram_endpoint::~datagram_endpoint() {
  stop();
}

std::uint16_t datagram_endpoint::port() const {
  const auto socket = this->socket();
  if (!socket) {
    return 0;
  }
  std::lock_guard lock(socket->mutex);
  std::error_code ec;
  const auto local = socket->socket.local_endpoint(ec);
  return ec ? 0 : local.port();
}

std::shared_ptr<detail::datagram_socket> datagram_endpoint::socket() const {
  std::lock_guard lock(mutex_);
  return socket_;
}

std::error_code datagram_endpoint::resolve(std::string_view host, std::uint16_t port,
                                           asio::ip::udp::endpoint& out) {
  std::error_code ec;
  asio::ip::udp::resolver resolver(*context_);
  const auto results =
      resolver.resolve(std::string(host.empty() ? "0.0.0.0" : host), std::to_string(port),
                       asio::ip::udp::resolver::numeric_service, ec);
  if (ec) {
    return ec;
  }
  if (results.empty()) {
    return asio::error::host_not_found;
  }
  out = results.begin()->endpoint();
  return {};
}

std::error_code datagram_endpoint::open(const asio::ip::udp::endpoint& local,
                                        const asio::ip::udp::endpoint* remote) {
  std::lock_guard lock(mutex_);
  if (stopped_) {
    return error::stopped;
  }
  if (socket_) {
    return asio::error::already_open;
  }
  auto opened = std::make_shared<detail::datagram_socket>(context_, options_.max_datagram_size);
  auto& socket = opened->socket;
  std::error_code ec;
  socket.open(local.protocol(), ec);
  if (!ec && options_.receive_buffer_size > 0) {
    socket.set_option(asio::socket_base::receive_buffer_size(options_.receive_buffer_size), ec);
  }
  if (!ec && options_.send_buffer_size > 0) {
    socket.set_option(asio::socket_base::send_buffer_size(options_.send_buffer_size), ec);
  }
  if (!ec) {
    socket.bind(local, ec);
  }
  if (!ec && remote) {
    socket.connect(*remote, ec);
  }
  if (!ec) {
    // Sends from handlers and other threads must never block.
    socket.non_blocking(true, ec);
  }
  if (ec) {
    return ec;
  }
  socket_ = std::move(opened);
  receive();
  thread_ = std::thread([context = context_] { context->run(); });
  return {};
}

void datagram_endpoint::receive() {
  // Only the receive thread (or open(), before it starts) touches the
  // socket's receive side; senders lock the socket's mutex.
  socket_->socket.async_receive_from(
      asio::buffer(buffer_), sender_, [this](std::error_code ec, std::size_t size) {
        if (ec == asio::error::operation_aborted || !socket_->is_open()) {
          return;
        }
        if (ec) {
          try {
            dispatcher_->on_receive_error(ec);
          } catch (...) {
            // A handler's exception must not leave the loop.
          }
          // A connected socket learns of ICMP errors (the server's port is
          // closed, the network is down) this way, and stays usable. Any
          // other error would repeat forever: stop receiving.
          if (ec != asio::error::connection_refused && ec != asio::error::host_unreachable &&
              ec != asio::error::network_unreachable) {
            return;
          }
        } else {
          deliver(size);
        }
        receive();
      });
}

void datagram_endpoint::deliver(std::size_t size) {
  const auto peer = std::make_shared<datagram_peer>(socket_, sender_);
  std::error_code outcome;
  try {
    if (sources_ && !sources_->admit(sender_.address(), std::chrono::steady_clock::now())) {
      outcome = error::message_rate_exceeded;
    } else if (size > options_.max_datagram_size) {
      outcome = error::datagram_truncated;
    } else {
      outcome = dispatcher_->on_datagram(peer, std::span<const std::uint8_t>(buffer_.data(), size));
    }
    if (outcome) {
      dispatcher_->on_datagram_error(peer, outcome);
    }
  } catch (...) {
    // Generated dispatchers catch handler exceptions; this keeps anything
    // else away from the loop.
  }
}

void datagram_endpoint::stop() {
  std::shared_ptr<detail::datagram_socket> socket;
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      socket = socket_;  // only the first stop closes it
    }
    stopped_ = true;
    // One caller joins; a handler stopping its own endpoint cannot, and
    // leaves the thread for the destructor.
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
      thread = std::move(thread_);
    }
  }
  if (socket) {
    // Closing on the loop's own thread: the pending receive completes with
    // operation_aborted and the loop runs out of work. (Posted once only: a
    // handler posted after the loop ended would hold the socket, which holds
    // the io_context, which holds the handler.)
    asio::post(*context_, [socket] { socket->close(); });
  }
  if (thread.joinable()) {
    thread.join();
  }
}

std::error_code datagram_server::bind(std::string_view host, std::uint16_t port) {
  asio::ip::udp::endpoint local;
  if (const auto ec = resolve(host, port, local)) {
    return ec;
  }
  return open(local, nullptr);
}

std::error_code datagram_client::connect(std::string_view host, std::uint16_t port) {
  asio::ip::udp::endpoint remote;
  if (const auto ec = resolve(host, port, remote)) {
    return ec;
  }
  const asio::ip::udp::endpoint local(
      remote.address().is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), 0);
  if (const auto ec = open(local, &remote)) {
    return ec;
  }
  std::lock_guard lock(server_mutex_);
  server_ = std::make_shared<datagram_peer>(socket(), remote);
  return {};
}

std::shared_ptr<datagram_peer> datagram_client::server() const {
  std::lock_guard lock(server_mutex_);  // connect() may be replacing it
  return server_;
}

}  // namespace wiregen
