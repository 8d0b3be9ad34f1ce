#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace wiregen {

/// A host and a port as given on a command line.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

/// Parses "host:port", "[v6 address]:port" or ":port" (all interfaces).
/// Fails with error::bad_address when the text is not of that shape.
std::error_code parse_host_port(std::string_view text, host_port& out);

/// Where a server listens or a client dials: a TCP host and port, or a
/// Unix-domain stream socket, named by a file path or (Linux) by an
/// abstract name that no file backs.
struct socket_address {
  enum class kind : std::uint8_t { tcp, unix_path, unix_abstract };

  kind type = kind::tcp;
  std::string host;        // tcp: a name or an address literal
  std::uint16_t port = 0;  // tcp
  std::string path;        // unix: the file, or the abstract name without its '@'

  static socket_address tcp(std::string host, std::uint16_t port);
  /// A file path, or "@name" for an abstract name.
  static socket_address unix_socket(std::string_view path);

  bool is_unix() const noexcept { return type != kind::tcp; }
  /// The text parse_socket_address reads back: "127.0.0.1:7000",
  /// "[::1]:7000", "unix:/run/echo.sock", "unix:@echo".
  std::string to_string() const;
};

/// Parses an address as the examples and tools take it:
///  - "host:port", "[v6 address]:port", ":port" (all interfaces), each
///    optionally prefixed "tcp:";
///  - "unix:/path/to.sock" or "unix:relative/path" (a socket file);
///  - "unix:@name" (a Linux abstract name).
/// Fails with error::bad_address when the text is none of these, or a Unix
/// name is empty or longer than a socket address holds (107 bytes).
std::error_code parse_socket_address(std::string_view text, socket_address& out);

}  // namespace wiregen
