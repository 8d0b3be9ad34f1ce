#include "socket_names.hpp"

#include <sys/un.h>

#include <asio/local/stream_protocol.hpp>

#include <cstddef>
#include <cstring>
#include <string>

namespace wiregen::detail {

std::optional<asio::ip::tcp::endpoint> ip_endpoint(
    const asio::generic::stream_protocol::endpoint& endpoint) {
  const int family = endpoint.protocol().family();
  if (family != AF_INET && family != AF_INET6) {
    return std::nullopt;
  }
  asio::ip::tcp::endpoint ip;
  if (endpoint.size() > ip.capacity()) {
    return std::nullopt;
  }
  std::memcpy(ip.data(), endpoint.data(), endpoint.size());
  ip.resize(endpoint.size());
  return ip;
}

socket_address name_of(const sockaddr* address, socklen_t length) {
  if (address->sa_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(address);
    const std::size_t path_bytes =
        length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    if (path_bytes > 0 && un->sun_path[0] == '\0') {
      return socket_address::unix_socket("@" + std::string(un->sun_path + 1, path_bytes - 1));
    }
    return socket_address::unix_socket(
        std::string(un->sun_path, strnlen(un->sun_path, path_bytes)));
  }
  asio::ip::tcp::endpoint ip;
  if (static_cast<std::size_t>(length) <= ip.capacity()) {
    std::memcpy(ip.data(), address, length);
    ip.resize(length);
  }
  return socket_address::tcp(ip.address().to_string(), ip.port());
}

namespace {

template <class Query>
std::optional<socket_address> ask(int descriptor, Query query) {
  sockaddr_storage storage{};
  auto length = static_cast<socklen_t>(sizeof storage);
  if (descriptor < 0 || query(descriptor, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return std::nullopt;
  }
  return name_of(reinterpret_cast<const sockaddr*>(&storage), length);
}

}  // namespace

std::optional<socket_address> local_name(int descriptor) {
  return ask(descriptor, ::getsockname);
}

std::optional<socket_address> peer_name(int descriptor) {
  return ask(descriptor, ::getpeername);
}

asio::generic::stream_protocol::endpoint unix_endpoint(const socket_address& address) {
  // An abstract name is a sun_path that starts with a zero byte.
  const std::string path =
      address.type == socket_address::kind::unix_abstract ? '\0' + address.path : address.path;
  return asio::local::stream_protocol::endpoint(path);
}

}  // namespace wiregen::detail
