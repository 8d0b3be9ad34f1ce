#pragma once

#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>

namespace wiregen {

/// The socket of wiregen's stream connections: TCP or a Unix-domain stream
/// socket, whichever was accepted or dialed (asio's generic stream protocol
/// holds either). Bound to an io_context's own executor rather than the
/// type-erased asio::any_io_executor, which makes every socket and every
/// pending operation on it 48 bytes smaller. That matters with tens of
/// thousands of idle connections.
using stream_socket =
    asio::basic_stream_socket<asio::generic::stream_protocol, asio::io_context::executor_type>;

/// The name this type had when wiregen spoke TCP only; kept for code written then.
using tcp_socket = stream_socket;

}  // namespace wiregen
