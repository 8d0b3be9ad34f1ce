#include "wiregen/error.hpp"

#include <string>

namespace wiregen {

namespace {

class wiregen_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "wiregen"; }

  std::string message(int value) const override {
    switch (static_cast<error>(value)) {
      case error::frame_too_large:
        return "frame larger than the maximum frame size";
      case error::length_too_small:
        return "frame length smaller than its header";
      case error::bad_constant:
        return "constant header field has the wrong value";
      case error::unknown_message_id:
        return "unknown message id";
      case error::unexpected_message:
        return "message not sent by this peer's side";
      case error::payload_parse_failed:
        return "payload does not parse as its message";
      case error::message_too_large:
        return "message too large to send in one frame";
      case error::connection_closed:
        return "connection closed";
      case error::send_queue_full:
        return "send queue full";
      case error::truncated_frame:
        return "peer closed the connection in the middle of a frame";
      case error::handler_failed:
        return "handler threw an exception";
      case error::connect_timeout:
        return "connect timed out";
      case error::not_connected:
        return "not connected";
      case error::stop_timeout:
        return "graceful stop timed out";
      case error::bad_address:
        return "address is not host:port";
      case error::read_idle_timeout:
        return "nothing received within the read idle timeout";
      case error::write_stall_timeout:
        return "queued data did not drain within the write stall timeout";
      case error::first_frame_timeout:
        return "no frame received within the first frame timeout";
      case error::too_many_connections:
        return "too many connections";
      case error::connection_rejected:
        return "connection rejected by on_accept";
      case error::send_cancelled:
        return "send cancelled";
      case error::stopped:
        return "stopped; cannot be started again";
      case error::handshake_timeout:
        return "handshake (PROXY header, TLS) timed out";
      case error::tls_not_configured:
        return "TLS needs a certificate chain and a private key";
      case error::untrusted_proxy:
        return "PROXY protocol header from an untrusted address";
      case error::bad_proxy_header:
        return "malformed or missing PROXY protocol header";
      case error::too_many_from_address:
        return "too many connections from this address";
      case error::accept_rate_exceeded:
        return "connections arrive faster than the accept rate allows";
      case error::message_rate_exceeded:
        return "messages arrive faster than the message rate allows";
      case error::malformed_length_prefix:
        return "varint length prefix longer than 5 bytes";
      case error::malformed_varint:
        return "varint header field longer than 10 bytes";
      case error::checksum_mismatch:
        return "frame checksum does not match its bytes";
      case error::frame_timeout:
        return "a frame did not complete within its deadline";
      case error::line_too_long:
        return "line longer than the maximum line length";
      case error::invalid_line:
        return "line to send contains the line delimiter";
      case error::datagram_truncated:
        return "datagram larger than the maximum datagram size";
      case error::trailing_bytes:
        return "bytes after the frame in a datagram";
      case error::datagrams_unsupported:
        return "this framing does not travel in datagrams";
      case error::remote_error:
        return "the server answered the call with an error status";
      case error::deadline_exceeded:
        return "the call's deadline passed before its reply";
      case error::call_failed_without_status:
        return "a call failed and the spec has no rpc.error message to report it";
      case error::too_many_calls:
        return "every request id is taken by a waiting call";
      case error::overloaded:
        return "the server's memory budget is spent: a connection holding much was closed";
      case error::too_many_handshakes:
        return "too many TLS handshakes in progress";
      case error::no_inherited_sockets:
        return "no listening sockets were passed to this process (LISTEN_FDS)";
      case error::missing_server_name:
        return "TLS over a Unix socket needs a server name to verify";
      case error::idle_timeout:
        return "nothing was read or written within the idle timeout";
    }
    return "unknown wiregen error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const wiregen_category category;
  return category;
}

std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace wiregen
