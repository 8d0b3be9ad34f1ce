#pragma once

#include <system_error>

namespace wiregen {

/// Every failure wiregen reports itself; I/O errors from the OS keep their own
/// category. Values are stable: they may be logged and compared across builds.
enum class error {
  /// A frame's header announces more than the spec's max_frame_size.
  frame_too_large = 1,
  /// A frame's length field is smaller than the header it belongs to.
  length_too_small,
  /// A CONSTANT header field (magic, version) has the wrong value.
  bad_constant,
  /// The message id is not in the spec's message table.
  unknown_message_id,
  /// The message id is known, but the peer is not the side that sends it.
  unexpected_message,
  /// The payload is not a valid serialization of the message its id names.
  payload_parse_failed,
  /// A message to send is larger than max_frame_size allows.
  message_too_large,
  /// The connection is stopping or closed; nothing was queued.
  connection_closed,
  /// The send queue holds max_queued_bytes already; nothing was queued.
  send_queue_full,
  /// The peer closed the connection in the middle of a frame.
  truncated_frame,
  /// A user handler threw; the connection was closed.
  handler_failed,
  /// Connecting did not finish within the timeout.
  connect_timeout,
  /// The operation needs a connection and there is none yet.
  not_connected,
  /// A graceful stop did not finish before its deadline; it was forced.
  stop_timeout,
  /// The host:port text could not be understood.
  bad_address,
  /// Nothing arrived for read_idle_timeout.
  read_idle_timeout,
  /// Queued data did not move for write_stall_timeout: the peer is not reading.
  write_stall_timeout,
  /// No complete frame arrived within first_frame_timeout of the connection.
  first_frame_timeout,
  /// The server already serves max_connections; the new one was closed.
  too_many_connections,
  /// The handler's on_accept() turned the connection away.
  connection_rejected,
  /// A waiting send was cancelled through its stop token or cancellation slot.
  send_cancelled,
  /// The server or client was stopped; it cannot be started again.
  stopped,
  /// The PROXY header and TLS handshake did not finish within handshake_timeout.
  handshake_timeout,
  /// TLS is asked for without what it needs (a certificate and key for a
  /// server); the message names what is missing.
  tls_not_configured,
  /// A PROXY protocol header came from an address not in trusted_proxies.
  untrusted_proxy,
  /// The PROXY protocol header is malformed, or missing.
  bad_proxy_header,
  /// The source address already has max_connections_per_address connections.
  too_many_from_address,
  /// Connections arrive faster than accept_rate allows.
  accept_rate_exceeded,
  /// The peer sends messages faster than message_rate allows.
  message_rate_exceeded,
  /// A varint length prefix runs past its 5 bytes.
  malformed_length_prefix,
  /// A varint header field (other than the length) runs past its 10 bytes.
  malformed_varint,
  /// A frame's checksum trailer does not match its bytes.
  checksum_mismatch,
  /// A frame did not complete in time: within frame_timeout of the
  /// previous one, or within partial_frame_timeout of its first byte.
  frame_timeout,
  /// A received line is longer than the spec's max_length.
  line_too_long,
  /// A line to send contains the delimiter: the peer would see two lines.
  invalid_line,
  /// A datagram was larger than max_datagram_size; it was dropped.
  datagram_truncated,
  /// A datagram holds bytes after its one frame.
  trailing_bytes,
  /// This endpoint's framing cannot travel in datagrams (text lines).
  datagrams_unsupported,
  /// A call's server answered with an error status (see call_result).
  remote_error,
  /// A call's reply did not arrive before its deadline.
  deadline_exceeded,
  /// A handler's call failed and the spec has no rpc.error message to say
  /// so: the connection closes, as nothing else would tell the client.
  call_failed_without_status,
  /// Every request id the REQUEST_ID field can hold belongs to a waiting
  /// call (or to one whose deadline passed recently, whose late reply may
  /// still come); nothing was sent.
  too_many_calls,
  /// The server's memory budget (server_options::memory_budget) ran out:
  /// one of the connections holding the most was closed.
  overloaded,
  /// The server already runs max_tls_handshakes TLS handshakes; the new
  /// connection was closed.
  too_many_handshakes,
  /// server::listen_systemd() found no sockets passed to this process
  /// (LISTEN_PID and LISTEN_FDS unset, or meant for another process).
  no_inherited_sockets,
  /// A TLS client dialing a Unix-domain socket has no host name to verify
  /// the server's certificate against: set tls_client_options::server_name
  /// (or insecure_skip_verify).
  missing_server_name,
  /// Nothing was read or written for idle_timeout.
  idle_timeout,
};

/// The category of wiregen::error; its name() is "wiregen".
const std::error_category& error_category() noexcept;

/// Makes `e` usable wherever a std::error_code is expected.
std::error_code make_error_code(error e) noexcept;

}  // namespace wiregen

template <>
struct std::is_error_code_enum<wiregen::error> : std::true_type {};
