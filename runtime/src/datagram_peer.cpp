#include "wiregen/datagram_peer.hpp"

#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include "peer_identity.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

datagram_peer::datagram_peer(std::shared_ptr<detail::datagram_socket> socket,
                             asio::ip::udp::endpoint remote)
    : socket_(std::move(socket)), remote_(std::move(remote)), id_(detail::next_connection_id()) {}

std::error_code datagram_peer::send(std::span<const std::uint8_t> datagram) const {
  return socket_->send_to(datagram, remote_);
}

bool datagram_peer::is_open() const noexcept {
  return socket_->is_open();
}

std::string datagram_peer::remote_address() const {
  return detail::format_endpoint(remote_);
}

std::string datagram_peer::local_address() const {
  std::error_code ec;
  asio::ip::udp::endpoint local;
  {
    std::lock_guard lock(socket_->mutex);
    local = socket_->socket.local_endpoint(ec);
  }
  return ec ? "unknown" : detail::format_endpoint(local);
}

namespace detail {

std::error_code datagram_socket::send_to(std::span<const std::uint8_t> datagram,
                                         const asio::ip::udp::endpoint& remote) {
  if (datagram.size() > max_datagram_size) {
    return error::message_too_large;
  }
  std::lock_guard lock(mutex);
  if (closed) {
    return error::connection_closed;
  }
  std::error_code ec;
  socket.send_to(asio::buffer(datagram.data(), datagram.size()), remote, 0, ec);
  // The socket never blocks: a full kernel buffer is a full queue.
  if (ec == asio::error::would_block || ec == asio::error::no_buffer_space) {
    return error::send_queue_full;
  }
  return ec;
}

bool datagram_socket::is_open() const {
  std::lock_guard lock(mutex);
  return !closed;
}

void datagram_socket::close() {
  std::lock_guard lock(mutex);
  closed = true;
  std::error_code ignored;
  socket.close(ignored);
}

}  // namespace detail

}  // namespace wiregen
