#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace wiregen::detail {

/// "ip:port", with brackets around an IPv6 address; for TCP and UDP endpoints.
template <class Endpoint>
std::string format_endpoint(const Endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

/// Ids of connections and datagram peers: one sequence, so they never clash.
inline std::uint64_t next_connection_id() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace wiregen::detail
