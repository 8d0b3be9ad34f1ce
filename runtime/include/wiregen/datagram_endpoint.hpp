#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "wiregen/datagram_peer.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/frame_meta.hpp"
#include "wiregen/options.hpp"

namespace wiregen {

namespace detail {
class source_rate_limit;
}  // namespace detail

/// A UDP socket whose datagrams each carry one frame of the protocol,
/// decoded by the same generated dispatcher and handler as a TCP
/// connection's: the handler's session is the datagram's sender, and its
/// sends go back to that address. Receives on a thread of its own; handlers
/// run there, one datagram at a time. A datagram that is not exactly one
/// good frame, larger than max_datagram_size, or over its source's rate
/// (rate_per_source), is dropped and reported to the handler's on_error
/// (its return value has nothing to decide).
/// on_connected and on_closed never run: UDP has no connections.
class datagram_endpoint {
 public:
  datagram_endpoint(std::shared_ptr<datagram_dispatcher> dispatcher, datagram_options options);
  datagram_endpoint(const datagram_endpoint&) = delete;
  datagram_endpoint& operator=(const datagram_endpoint&) = delete;
  /// Stops, as stop() does. Must not run on the endpoint's own thread (in
  /// one of its handlers).
  ~datagram_endpoint();

  /// The local port, once bound; 0 before.
  std::uint16_t port() const;

  /// Closes the socket and joins the receive thread; idempotent and safe
  /// from any thread (from a handler it does not wait for the thread).
  /// Sessions kept past it fail their sends with error::connection_closed.
  /// The endpoint cannot be started again.
  void stop();

 protected:
  /// Opens a socket bound to `local`, connected to `remote` when it is set
  /// (then only datagrams from it arrive), and starts receiving.
  std::error_code open(const asio::ip::udp::endpoint& local, const asio::ip::udp::endpoint* remote);
  /// Resolves host:port to one UDP endpoint.
  std::error_code resolve(std::string_view host, std::uint16_t port, asio::ip::udp::endpoint& out);

  std::shared_ptr<detail::datagram_socket> socket() const;

 private:
  void receive();
  void deliver(std::size_t size);

  std::shared_ptr<datagram_dispatcher> dispatcher_;
  datagram_options options_;
  std::shared_ptr<asio::io_context> context_;
  mutable std::mutex mutex_;
  std::shared_ptr<detail::datagram_socket> socket_;
  std::vector<std::uint8_t> buffer_;
  asio::ip::udp::endpoint sender_;
  std::unique_ptr<detail::source_rate_limit> sources_;  // receive thread; null: no limit
  std::thread thread_;
  bool stopped_ = false;
};

/// Receives datagrams on a bound port and answers their senders.
class datagram_server : public datagram_endpoint {
 public:
  using datagram_endpoint::datagram_endpoint;

  /// Binds host:port (port 0: any free port, see port()) and starts
  /// receiving. error::stopped after stop().
  std::error_code bind(std::string_view host, std::uint16_t port);
};

/// Sends datagrams to one server from an ephemeral port and receives what
/// the server sends back.
class datagram_client : public datagram_endpoint {
 public:
  using datagram_endpoint::datagram_endpoint;

  /// Resolves the server, opens a socket connected to it (so only its
  /// datagrams arrive) and starts receiving. Nothing is sent: UDP has no
  /// handshake, so this succeeds whether or not a server listens.
  std::error_code connect(std::string_view host, std::uint16_t port);

  /// The server as a datagram peer; null before connect(). Thread-safe.
  std::shared_ptr<datagram_peer> server() const;

 private:
  mutable std::mutex server_mutex_;
  std::shared_ptr<datagram_peer> server_;
};

/// A datagram client whose sends are typed for its side of the protocol.
/// Generated <pkg>::datagram_client classes are this.
template <class Session>
class typed_datagram_client : public datagram_client {
 public:
  using role = typename Session::role;
  using datagram_client::datagram_client;

  /// The server as a session; empty before connect().
  Session session() const { return Session(server()); }

  /// Sends `message` to the server at once, as one datagram.
  template <class Message>
  requires(role::template sends<Message>) std::error_code
      send(const Message& message, const frame_meta& meta = {})
  const { return session().send(message, meta); }
};

}  // namespace wiregen
