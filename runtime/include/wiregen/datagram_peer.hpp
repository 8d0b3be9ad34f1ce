#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <any>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>

namespace wiregen {

namespace detail {
struct datagram_socket;
}  // namespace detail

/// The sender of one datagram, as a handler's session sees it: replies go
/// back to its address on the socket the datagram came in on. UDP has no
/// connection, so every datagram gets a peer of its own; nothing carries
/// over from one to the next (user_data() starts empty each time).
class datagram_peer {
 public:
  datagram_peer(std::shared_ptr<detail::datagram_socket> socket, asio::ip::udp::endpoint remote);

  /// Sends `datagram` to the peer at once (UDP does not queue): an error
  /// when the socket is closed (connection_closed), the datagram is larger
  /// than max_datagram_size (message_too_large) or the kernel refuses it
  /// (send_queue_full when its buffer is full). Thread-safe.
  std::error_code send(std::span<const std::uint8_t> datagram) const;

  /// Until the socket closes.
  bool is_open() const noexcept;
  /// Process-unique, like a connection's id.
  std::uint64_t id() const noexcept { return id_; }
  const asio::ip::udp::endpoint& remote_endpoint() const noexcept { return remote_; }
  /// "ip:port".
  std::string remote_address() const;
  /// remote_address() tagged "(udp)", as a connection's is "(tcp)".
  std::string tagged_remote_address() const { return remote_address() + "(udp)"; }
  /// The local socket's "ip:port" the datagram came to; "unknown" once closed.
  std::string local_address() const;
  std::any& user_data() noexcept { return user_data_; }

 private:
  std::shared_ptr<detail::datagram_socket> socket_;
  asio::ip::udp::endpoint remote_;
  std::uint64_t id_;
  std::any user_data_;
};

namespace detail {

/// The socket every peer of one datagram endpoint replies through. It keeps
/// its io_context alive: a session kept past its endpoint still owns a
/// socket, which must not outlive the context it was made on.
struct datagram_socket {
  datagram_socket(std::shared_ptr<asio::io_context> context, std::size_t max_datagram_size)
      : context(std::move(context)), socket(*this->context), max_datagram_size(max_datagram_size) {}

  std::error_code send_to(std::span<const std::uint8_t> datagram,
                          const asio::ip::udp::endpoint& remote);
  bool is_open() const;
  void close();

  std::shared_ptr<asio::io_context> context;  // declared first: destroyed last
  mutable std::mutex mutex;                   // senders on any thread, the receive loop
  asio::ip::udp::socket socket;
  const std::size_t max_datagram_size;
  bool closed = false;
};

}  // namespace detail

}  // namespace wiregen
