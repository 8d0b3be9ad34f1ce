#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "wiregen/frame_meta.hpp"
#include "wiregen/protocol_info.hpp"

namespace wiregen {

/// One frame a connection received or a session sent, as a message_observer
/// sees it.
struct frame_event {
  /// The connection's id (connection::id()).
  std::uint64_t connection_id = 0;
  /// The message's row of the protocol's table; null when the frame does
  /// not say which message it holds before its payload is parsed (a
  /// received envelope, which names it inside).
  const message_info* message = nullptr;
  /// The whole frame: header, payload and trailer.
  std::size_t size = 0;
  /// Its request id and flags (0 when the header has no such field).
  frame_meta meta;
};

/// How a call ended: on a server, how its handler answered; on a client,
/// what came back (ok, failed) or why nothing did (error).
enum class call_outcome {
  /// The handler returned a reply, and it was queued.
  ok,
  /// The handler returned a failure: the status went back to the caller.
  failed,
  /// The handler said it answers later (call_result::later()).
  deferred,
  /// The handler threw; the connection closes with error::handler_failed.
  threw,
  /// The reply or status could not be queued (the connection closes).
  unsent,
  /// A client's call got no answer: call_event::error says why
  /// (deadline_exceeded, connection_closed, a failed send).
  error,
};

/// One call of an rpc, as a message_observer sees it: one a server's
/// handler answered, or one a client made.
struct call_event {
  std::uint64_t connection_id = 0;
  /// The rpc's row of the protocol's table.
  const rpc_info* rpc = nullptr;
  /// The request's request id and flags.
  frame_meta meta;
  /// Set for on_call_end only.
  call_outcome outcome = call_outcome::ok;
  /// on_call_end, a failed call: the status code sent back.
  std::int64_t status_code = 0;
  /// on_call_end on a server: how long the handler ran.
  std::chrono::nanoseconds handler_time{0};
  /// on_call_end on a client: from the request's send to the call's end.
  std::chrono::nanoseconds latency{0};
  /// on_call_end on a client, outcome error: why there was no answer.
  std::error_code error;
};

/// Sees every frame in and out of a server's (or client's) connections and
/// every call its handler answers: where tracing (OpenTelemetry spans, a
/// log line per call, sampling) attaches. Set it in server_options::observer
/// or client_options::observer; unset, nothing is measured for it.
///
/// Called synchronously on the thread where the event happens: the
/// connection's for frames received and a server's calls, the sending
/// thread for frames sent and a client's call begin (docs/operations.md).
/// Keep it quick, and thread-safe, since one observer serves every
/// connection; do not make calls on the same client from a client's
/// on_call_begin or on_frame_sent. What it throws is caught and dropped.
class message_observer {
 public:
  virtual ~message_observer() = default;

  /// A whole frame arrived, before its handler runs.
  virtual void on_frame_received(const frame_event& /*frame*/) {}
  /// A session's send accepted a frame (it is queued: frames_sent in the
  /// connection's stats counts it once written).
  virtual void on_frame_sent(const frame_event& /*frame*/) {}
  /// A server: a request of an rpc is about to go to its handler. A
  /// client: a call's request is about to be sent.
  virtual void on_call_begin(const call_event& /*call*/) {}
  /// A server: the handler returned (or threw) and what it said was sent.
  /// A client: the reply or status arrived, or the call failed.
  virtual void on_call_end(const call_event& /*call*/) {}
};

}  // namespace wiregen
