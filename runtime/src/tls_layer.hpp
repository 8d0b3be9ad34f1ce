#pragma once

#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>

#include <memory>

#include "wiregen/detail/stream.hpp"
#include "wiregen/stream_socket.hpp"
#include "wiregen/tls.hpp"

namespace wiregen::detail {

/// TLS over a socket the stream keeps owning, and what keeps it valid.
class tls_layer {
 public:
  tls_layer(tls_setup setup, stream_socket& socket);

  std::shared_ptr<asio::ssl::context> context;  // outlives the stream, which uses it
  asio::ssl::stream<stream_socket&> stream;
  bool server;
  std::unique_ptr<tls_info> info;  // set once the handshake succeeded
};

/// Fills `info` from a finished handshake.
void describe_session(SSL* ssl, tls_info& info);

}  // namespace wiregen::detail
