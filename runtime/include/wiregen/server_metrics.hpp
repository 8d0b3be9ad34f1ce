#pragma once

#include <array>
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

/// The upper bounds, in seconds, of the handler-time histogram's buckets
/// (a last one, +Inf, holds the rest): from 10 µs, where a handler that
/// only answers sits, to 5 s, where one that blocks its loop does.
inline constexpr std::array<double, 12> handler_time_bounds{
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0};

/// Frames of one message type, both ways.
struct message_metrics {
  /// The message's full name (bench.EchoRequest); empty for received
  /// frames whose type the header does not say (an envelope's).
  std::string_view message;
  std::uint64_t frames_received = 0;
  std::uint64_t bytes_received = 0;
  /// Accepted by a session's send (queued; frames_sent counts written ones).
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
};

/// The calls of one rpc: a server's handlers answered them, or a client
/// made them.
struct call_metrics {
  std::string_view rpc;  // Store.Get
  /// How many ended each way, indexed by call_outcome (ok, failed,
  /// deferred, threw, unsent, error).
  std::array<std::uint64_t, 6> outcomes{};
  /// How many took at most each of handler_time_bounds (not cumulative:
  /// each call counts in one bucket), then longer: on a server the
  /// handler's time, on a client the call's latency.
  std::array<std::uint64_t, handler_time_bounds.size() + 1> time_buckets{};
  double seconds = 0;  // the sum of their times
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
  /// Per message type of the protocol's table, in table order, then one
  /// row (with an empty name) for frames of no known type; empty for a
  /// protocol without a table (lines, raw bytes).
  std::vector<message_metrics> messages;
  /// Per rpc of the protocol, in table order.
  std::vector<call_metrics> calls;
};

/// A client's figures since it was made, over all its connections: see
/// client::metrics().
struct client_metrics {
  /// As server_metrics::messages: per message type, then frames of no
  /// known type.
  std::vector<message_metrics> messages;
  /// Per rpc: the calls made, by outcome and latency.
  std::vector<call_metrics> calls;
};

/// Appends `metrics` in Prometheus's text exposition format (version
/// 0.0.4), each family with its HELP and TYPE, names starting with `prefix`:
/// wiregen_connections_open, wiregen_connections_accepted_total,
/// wiregen_connections_refused_total{reason}, wiregen_connections_closed_total{reason},
/// wiregen_frames_received_total..., wiregen_messages_received_total{message},
/// wiregen_calls_total{rpc,outcome}, wiregen_call_handler_seconds{rpc} (a
/// histogram); docs/operations.md lists them.
void write_prometheus(const server_metrics& metrics, std::string& out,
                      std::string_view prefix = "wiregen_");

/// The same for a client: wiregen_client_messages_received_total{message},
/// wiregen_client_calls_total{rpc,outcome}, wiregen_client_call_latency_seconds{rpc}
/// (a histogram) and the rest, names starting with `prefix`.
void write_prometheus(const client_metrics& metrics, std::string& out,
                      std::string_view prefix = "wiregen_client_");

}  // namespace wiregen
