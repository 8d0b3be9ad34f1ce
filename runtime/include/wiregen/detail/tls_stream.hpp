#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>

#include <memory>
#include <string>

#include "wiregen/tcp_socket.hpp"
#include "wiregen/tls.hpp"

namespace wiregen::detail {

/// TLS over a socket the connection keeps owning.
using tls_stream = asio::ssl::stream<tcp_socket&>;

/// How a connection runs TLS: the context it was accepted or dialed under
/// (kept alive for the connection's life, whatever reloads happen), which
/// side of the handshake it is, and for a client the name to send as SNI
/// and verify the server's certificate against.
struct tls_setup {
  std::shared_ptr<asio::ssl::context> context;
  bool server = true;
  std::string server_name;
  bool verify_name = true;
};

/// Fills `info` from a finished handshake.
void describe_session(SSL* ssl, tls_info& info);

}  // namespace wiregen::detail
