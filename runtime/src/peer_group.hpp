#pragma once

#include <asio/ip/address.hpp>

#include <algorithm>

namespace wiregen::detail {

/// What one peer controls, for limits kept per peer: an IPv4 address, or an
/// IPv6 /64 (a host is handed a whole /64 and may take any address in it,
/// so counting exact addresses would let it rotate past a limit). An
/// IPv4-mapped address counts as its IPv4 address.
inline asio::ip::address peer_group(const asio::ip::address& address) {
  if (address.is_v4()) {
    return address;
  }
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  }
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes);
}

}  // namespace wiregen::detail
