#pragma once

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace wiregen {

/// The PROXY protocol (v1 text and v2 binary, as HAProxy sends with
/// send-proxy / send-proxy-v2): a header a TCP balancer writes before the
/// client's bytes, naming the client it accepted. Set on a listener with
/// server_options::proxy_protocol; a session then reports the client's
/// address, not the balancer's.
struct proxy_protocol_options {
  bool enabled = false;
  /// Who may send the header: addresses ("10.0.0.7", "::1") or networks
  /// ("10.0.0.0/8", "fd00::/8"), and "unix" for whoever connects to a
  /// Unix-domain listener (the socket file's permissions say who can). A
  /// connection from anyone else is closed with error::untrusted_proxy, so
  /// clients cannot forge their address. Required when enabled.
  std::vector<std::string> trusted_proxies;
};

namespace proxy_protocol {

/// v1 headers are at most 107 bytes; v2 ones are capped here (TLVs included).
inline constexpr std::size_t max_v1_size = 107;
inline constexpr std::size_t max_v2_size = 16 + 1024;

/// What a complete header says. `local` marks a header that names nobody
/// (v1 UNKNOWN, v2 LOCAL: a balancer's own health check).
struct header {
  bool local = false;
  asio::ip::tcp::endpoint source;
  asio::ip::tcp::endpoint destination;
};

/// How many more bytes the header at the front of `bytes` needs (0: it is
/// complete), or error::bad_proxy_header. Lets a reader take exactly the
/// header and not one byte of what follows (TLS records, frames).
std::size_t bytes_needed(std::span<const std::uint8_t> bytes, std::error_code& ec);

/// Parses the complete header that is exactly `bytes`.
std::error_code parse(std::span<const std::uint8_t> bytes, header& out);

/// One trusted_proxies entry: an address and a prefix length, or "unix":
/// whoever connects over a Unix-domain socket (its file's permissions
/// decide who can).
struct network {
  asio::ip::address address;
  unsigned prefix = 0;
  bool unix_peers = false;
  bool contains(const asio::ip::address& candidate) const noexcept;
};

/// Parses trusted_proxies; error::bad_address names nothing useful, so the
/// offending entry is returned in `bad_entry`.
std::error_code parse_networks(const std::vector<std::string>& entries, std::vector<network>& out,
                               std::string& bad_entry);

}  // namespace proxy_protocol

}  // namespace wiregen
