#pragma once

#include <sys/socket.h>

#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>

#include <optional>

#include "wiregen/address.hpp"

namespace wiregen::detail {

/// The IP endpoint a generic socket address holds; nullopt for a Unix-domain
/// (or any other) one.
std::optional<asio::ip::tcp::endpoint> ip_endpoint(
    const asio::generic::stream_protocol::endpoint& endpoint);

/// A kernel socket address as wiregen names it: "127.0.0.1:7000",
/// "unix:/run/echo.sock", "unix:@echo". An unnamed Unix-domain socket (a
/// client's end) has an empty path.
socket_address name_of(const sockaddr* address, socklen_t length);

/// The socket's own name, or its peer's; nullopt when the socket cannot tell.
std::optional<socket_address> local_name(int descriptor);
std::optional<socket_address> peer_name(int descriptor);

/// The generic endpoint of a Unix-domain address: a file path, or an
/// abstract name (a sun_path that starts with a zero byte).
asio::generic::stream_protocol::endpoint unix_endpoint(const socket_address& address);

}  // namespace wiregen::detail
