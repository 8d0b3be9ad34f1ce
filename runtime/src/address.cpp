#include "wiregen/address.hpp"

#include <sys/un.h>

#include <charconv>

#include "wiregen/error.hpp"

namespace wiregen {

namespace {

// sun_path less the terminating zero a path needs (an abstract name spends
// that byte on its leading zero instead).
constexpr std::size_t longest_unix_name = sizeof(sockaddr_un::sun_path) - 1;

}  // namespace

std::error_code parse_host_port(std::string_view text, host_port& out) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return error::bad_address;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return error::bad_address;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return error::bad_address;
  }
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return {};
}

socket_address socket_address::tcp(std::string host, std::uint16_t port) {
  socket_address address;
  address.host = std::move(host);
  address.port = port;
  return address;
}

socket_address socket_address::unix_socket(std::string_view path) {
  socket_address address;
  if (path.starts_with('@')) {
    address.type = kind::unix_abstract;
    path.remove_prefix(1);
  } else {
    address.type = kind::unix_path;
  }
  address.path = std::string(path);
  return address;
}

std::string socket_address::to_string() const {
  switch (type) {
    case kind::unix_path:
      return "unix:" + path;
    case kind::unix_abstract:
      return "unix:@" + path;
    case kind::tcp:
      break;
  }
  const bool v6_literal = host.find(':') != std::string::npos;
  return (v6_literal ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::error_code parse_socket_address(std::string_view text, socket_address& out) {
  if (text.starts_with("unix:")) {
    auto address = socket_address::unix_socket(text.substr(5));
    if (address.path.empty() || address.path.size() > longest_unix_name ||
        address.path.find('\0') != std::string::npos) {
      return error::bad_address;
    }
    out = std::move(address);
    return {};
  }
  if (text.starts_with("tcp:")) {
    text.remove_prefix(4);
  }
  host_port parsed;
  if (auto ec = parse_host_port(text, parsed)) {
    return ec;
  }
  out = socket_address::tcp(std::move(parsed.host), parsed.port);
  return {};
}

}  // namespace wiregen
