#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace wiregen {

/// The socket type of wiregen's TCP connections: bound to an io_context's
/// own executor rather than the type-erased asio::any_io_executor, which
/// makes every socket and every pending operation on it 48 bytes smaller.
/// That matters with tens of thousands of idle connections.
using tcp_socket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;

}  // namespace wiregen
