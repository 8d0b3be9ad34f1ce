#pragma once

#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

#include "wiregen/address.hpp"
#include "wiregen/frame_error.hpp"
#include "wiregen/protocol_info.hpp"
#include "wiregen/server_state.hpp"

namespace wiregen {

class connection;
class datagram_peer;
class frame_loop;

/// What a dispatcher made of the bytes it was given.
struct decode_result {
  /// Bytes taken from the front of the input: complete frames, and a bad
  /// frame as far as it was there.
  std::size_t consumed = 0;
  /// Bytes the next frame needs in total (header, or header and payload once
  /// the header is known and valid); never more than the maximum frame size.
  std::size_t wanted = 0;
  /// Frames handed to the handler.
  std::size_t frames = 0;
  /// Bad frames dropped as on_error() asked (see error_action::skip).
  std::size_t skipped = 0;
  /// Set when a frame was bad and not skipped: the connection closes with it.
  std::error_code error;
  /// Decoding stopped at a complete frame the message rate does not allow
  /// yet; it stays in the input.
  bool throttled = false;
};

/// What to do about a bad frame; see dispatcher::on_error.
enum class error_action {
  /// Stop reading, flush what is queued, close with the error as the reason.
  disconnect,
  /// Drop exactly the bad frame and go on with the next one. Honoured for
  /// errors whose frame boundaries are known (see is_skippable); others
  /// always disconnect.
  skip,
};

/// Whether a frame with error `ec` can be skipped without losing the frame
/// boundaries: an unknown or unexpected id, an unparsable payload, an
/// oversized frame. A bad constant or an impossible length cannot.
bool is_skippable(std::error_code ec) noexcept;

/// What a connection tells generated code: a generated <role>_dispatcher
/// decodes its frames and calls the user's handler. Every call about a
/// connection happens on that connection's own thread, one at a time; one
/// dispatcher serves all the connections of a server concurrently.
class stream_dispatcher {
 public:
  virtual ~stream_dispatcher() = default;

  /// The connection is established; called before any on_input().
  virtual void on_open(connection& conn) = 0;

  /// Decodes and dispatches the complete frames at the front of `input`
  /// with the connection's frame loop, which keeps the decode state between
  /// calls and stops early when the connection stops reading (a handler
  /// stopped it); bad frames go to on_error, which may skip them.
  virtual decode_result on_input(connection& conn, frame_loop& loop,
                                 std::span<const std::uint8_t> input) = 0;

  /// A received frame was bad, or a handler threw (error::handler_failed,
  /// which always disconnects), with what is known about it. Returns what
  /// to do about it.
  virtual error_action on_error(connection& conn, const frame_error& error) = 0;
  /// The protocol's message table, for logs that name message types; null
  /// when the dispatcher has none (lines, raw bytes).
  virtual const protocol_info* message_table() const noexcept { return nullptr; }

  /// The send queue passed its high watermark (false) or drained to its low
  /// watermark again (true).
  virtual void on_writability(connection& conn, bool writable) = 0;

  /// The connection closed; called exactly once, after its last on_input().
  /// `reason` is empty for a stop requested by this side.
  virtual void on_close(connection& conn, std::error_code reason) = 0;

  /// A connection that never opened (its TLS handshake or PROXY header
  /// failed, it was refused, or it was stopped first) is gone; on_open and
  /// on_close never run for it. For whatever was started on it early (a
  /// client's calls).
  virtual void on_discarded(connection& /*conn*/, std::error_code /*reason*/) {}

  /// The frame sent after heartbeat_interval without sending; empty when the
  /// spec names no heartbeat or this side does not send it.
  virtual std::span<const std::uint8_t> heartbeat() const noexcept { return {}; }
};

/// What a server tells generated code about accepting. Called on the
/// server's accept thread or a connection's thread.
class accept_events {
 public:
  virtual ~accept_events() = default;

  /// A connection from `remote` was accepted (after its PROXY header, the
  /// client's address); false closes it at once with
  /// error::connection_rejected.
  virtual bool on_accept(const asio::ip::tcp::endpoint& /*remote*/) { return true; }

  /// A connection from `remote` was closed before it was served (refused
  /// at accept, by on_accept or a limit, or failing its PROXY header or TLS
  /// handshake).
  virtual void on_refused(const asio::ip::tcp::endpoint& /*remote*/, std::error_code /*reason*/) {}

  /// The listening socket failed to accept; the server backs off and retries.
  virtual void on_accept_error(std::error_code /*ec*/) {}

  /// A listen() failed to resolve, bind or listen on `address` (also its
  /// return value).
  virtual void on_listen_error(const socket_address& /*address*/, std::error_code /*ec*/) {}

  /// The server reached `state`, with the figures of that moment; see
  /// basic_server_handler::on_server_state.
  virtual void on_server_state(server_state /*state*/, const server_counts& /*counts*/) {}
};

/// What a client tells generated code about dialing.
class dial_events {
 public:
  virtual ~dial_events() = default;

  /// A dial attempt failed; the client retries if its options say so.
  virtual void on_connect_failed(std::error_code /*ec*/) {}
};

/// What a datagram socket tells generated code: one frame per datagram.
/// Called on the endpoint's receive thread.
class datagram_dispatcher {
 public:
  virtual ~datagram_dispatcher() = default;

  /// Decodes the one frame `datagram` must hold and dispatches it, with
  /// `peer` as the session. Returns what was wrong with it; the endpoint
  /// then reports it to on_datagram_error and drops it.
  virtual std::error_code on_datagram(const std::shared_ptr<datagram_peer>& peer,
                                      std::span<const std::uint8_t> datagram);

  /// A datagram from `peer` was dropped: truncated, not one good frame, or
  /// its handler threw.
  virtual void on_datagram_error(const std::shared_ptr<datagram_peer>& /*peer*/,
                                 std::error_code /*ec*/) {}

  /// The socket failed to receive (a connected client socket learns of an
  /// unreachable server this way).
  virtual void on_receive_error(std::error_code /*ec*/) {}
};

}  // namespace wiregen
