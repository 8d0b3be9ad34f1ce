#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "wiregen/server_state.hpp"

namespace wiregen {

/// A short, stable snake_case name for an error, as metrics label it and
/// logs can: wiregen's own by their enumerator ("too_many_connections"),
/// "eof", common socket errors ("connection_reset", "broken_pipe",
/// "timed_out"...), "tls" for OpenSSL's, "none" for no error (a close this
/// side asked for), "system_error" and "other" for the rest. The set is
/// small and fixed, so labels never grow with what peers do.
std::string_view error_name(std::error_code ec) noexcept;

/// How many times something happened, by reason (error_name()).
struct reason_count {
  std::string_view reason;
  std::uint64_t count = 0;
};

/// A server's figures since it was made, closed connections included: see
/// server::metrics(). Counts of frames and bytes add the open connections'
/// so far to the closed ones'.
struct server_metrics {
  server_state state = server_state::idle;
  std::size_t open_connections = 0;
  std::uint64_t accepted = 0;
  /// Turned away before they were served, by reason, in reason order.
  std::vector<reason_count> refused;
  /// Served connections that closed, by reason, in reason order.
  std::vector<reason_count> closed;
  std::uint64_t frames_received = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  /// Frames a full send queue refused (send_queue_full) or a stop dropped.
  std::uint64_t frames_dropped = 0;
  /// Bad frames passed over by on_error's skip.
  std::uint64_t frames_skipped = 0;
};

/// Appends `metrics` in Prometheus's text exposition format (version
/// 0.0.4), each family with its HELP and TYPE, names starting with `prefix`:
/// wiregen_connections_open, wiregen_connections_accepted_total,
/// wiregen_connections_refused_total{reason}, wiregen_connections_closed_total{reason},
/// wiregen_frames_received_total... (docs/operations.md lists them).
void write_prometheus(const server_metrics& metrics, std::string& out,
                      std::string_view prefix = "wiregen_");

}  // namespace wiregen
